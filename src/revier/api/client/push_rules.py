"""Push rules (spec: Push Notifications, "Push Rules: API").

``ruleId`` is matched as a path so that a sender rule, whose id is a user ID,
may contain "/"; the ``…/enabled`` and ``…/actions`` routes come first so
they are not read as part of a rule id. Any other rule id with a "/" names an
attribute the spec doesn't have.

Every other path under ``/pushrules`` is answered here too, not by the router:
a scope other than ``global``, an unknown kind, a missing trailing slash or
rule id are the client's mistake (400 ``M_INVALID_PARAM``, as clients and
SyTest expect), not a missing endpoint or method, and never a redirect.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier.api.http import authenticate, read_json_object, services
from revier.api.responses import json_response
from revier.errors import InvalidParam, Unrecognized
from revier.push import validate_enabled, validate_kind

V3 = "/_matrix/client/v3"
RULE = f"{V3}/pushrules/global/{{kind}}/{{ruleId:path}}"


async def get_push_rules(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/"""
    requester = await authenticate(request)
    return json_response({"global": await services(request).push_rules.ruleset(requester)})


async def get_push_rules_global(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/"""
    requester = await authenticate(request)
    return json_response(await services(request).push_rules.ruleset(requester))


async def get_push_rules_of_kind(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/ (not in the spec's OpenAPI, but
    the trailing slash means "all of them" as it does one level up; clients use it)"""
    requester = await authenticate(request)
    kind = validate_kind(request.path_params["kind"])
    ruleset = await services(request).push_rules.ruleset(requester)
    return json_response(ruleset.get(kind, []))


async def get_push_rule(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    requester = await authenticate(request)
    kind, rule_id = _rule(request)
    return json_response(await services(request).push_rules.get_rule(requester, kind, rule_id))


async def set_push_rule(request: Request) -> Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    requester = await authenticate(request)
    body = await read_json_object(request)
    p = request.path_params
    await services(request).push_rules.set_rule(
        requester,
        p["kind"],
        p["ruleId"],
        body,
        before=request.query_params.get("before"),
        after=request.query_params.get("after"),
    )
    return json_response({})


async def delete_push_rule(request: Request) -> Response:
    """DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    requester = await authenticate(request)
    kind, rule_id = _rule(request)
    await services(request).push_rules.delete_rule(requester, kind, rule_id)
    return json_response({})


async def is_push_rule_enabled(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
    requester = await authenticate(request)
    kind, rule_id = _rule(request)
    rule = await services(request).push_rules.get_rule(requester, kind, rule_id)
    return json_response({"enabled": bool(rule.get("enabled", True))})


async def set_push_rule_enabled(request: Request) -> Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
    requester = await authenticate(request)
    kind, rule_id = _rule(request)
    enabled = validate_enabled(await read_json_object(request))
    await services(request).push_rules.set_enabled(requester, kind, rule_id, enabled)
    return json_response({})


async def get_push_rule_actions(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
    requester = await authenticate(request)
    kind, rule_id = _rule(request)
    rule = await services(request).push_rules.get_rule(requester, kind, rule_id)
    return json_response({"actions": rule.get("actions", [])})


async def set_push_rule_actions(request: Request) -> Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
    requester = await authenticate(request)
    kind, rule_id = _rule(request)
    body = await read_json_object(request)
    await services(request).push_rules.set_actions(requester, kind, rule_id, body.get("actions"))
    return json_response({})


async def malformed_push_rule_path(request: Request) -> Response:
    """Any other method and path under /_matrix/client/v3/pushrules: say what is wrong."""
    await authenticate(request)
    rest = request.path_params["rest"]
    if not rest:
        raise Unrecognized("Unrecognized request: the push rules are at /pushrules/")
    parts = rest.removeprefix("/").split("/")
    if not parts[0]:
        raise InvalidParam("A push rule path needs a scope: /pushrules/global/…")
    if parts[0] != "global":
        raise InvalidParam(f"Unknown push rule scope {parts[0]!r}: only 'global' exists")
    if len(parts) == 1:
        raise InvalidParam("Missing trailing slash: /pushrules/global/ lists the rules")
    validate_kind(parts[1])
    if len(parts) == 2:
        raise InvalidParam(f"Missing trailing slash: /pushrules/global/{parts[1]}/ lists them")
    raise InvalidParam("A push rule id is needed here")


def _rule(request: Request) -> tuple[str, str]:
    """(kind, ruleId) of a rule's path; a "/" in a rule id other than a sender's
    (a user ID) is an attribute other than enabled and actions."""
    kind = validate_kind(request.path_params["kind"])
    rule_id: str = request.path_params["ruleId"]
    if not rule_id:
        raise InvalidParam("A push rule id is needed here")
    if "/" in rule_id and kind != "sender":
        raise InvalidParam("Unknown push rule attribute: only 'enabled' and 'actions' exist")
    return kind, rule_id


routes = [
    Route(f"{V3}/pushrules/", get_push_rules, methods=["GET"]),
    Route(f"{V3}/pushrules/global/", get_push_rules_global, methods=["GET"]),
    Route(f"{V3}/pushrules/global/{{kind}}/", get_push_rules_of_kind, methods=["GET"]),
    Route(f"{RULE}/enabled", is_push_rule_enabled, methods=["GET"]),
    Route(f"{RULE}/enabled", set_push_rule_enabled, methods=["PUT"]),
    Route(f"{RULE}/actions", get_push_rule_actions, methods=["GET"]),
    Route(f"{RULE}/actions", set_push_rule_actions, methods=["PUT"]),
    Route(RULE, get_push_rule, methods=["GET"]),
    Route(RULE, set_push_rule, methods=["PUT"]),
    Route(RULE, delete_push_rule, methods=["DELETE"]),
    Route(
        f"{V3}/pushrules{{rest:path}}",
        malformed_push_rule_path,
        methods=["GET", "PUT", "POST", "DELETE"],
    ),
]
