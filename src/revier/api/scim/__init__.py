"""SCIM 2.0 (RFC 7643, RFC 7644) at ``/_revier/scim/v2``: an identity provider
pushes the organisation's users and groups; see ``services/org/scim_users.py``."""

from revier.api.scim import discovery, groups, users

routes = [*users.routes, *groups.routes, *discovery.routes]

__all__ = ["routes"]
