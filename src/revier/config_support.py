"""A tenant's support contact (``[tenants.support]``), served as the spec's
``/.well-known/matrix/support``: whom the organisation's people and clients
reach when something is wrong with the server. Part of the settings
(``revier.config``); a module of its own only to keep that one readable.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

# The spec's roles, or a namespaced identifier of one's own (``org.example.role``).
_ROLE = re.compile(r"^m\.role\.(admin|security)$|^[a-z0-9-]+(\.[a-z0-9_-]+){2,}$")
_USER_ID = re.compile(r"^@[^:\s]+:[A-Za-z0-9.\-\[\]:]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SupportContact(_Strict):
    """One way to reach the people who run the server (spec: ``Contact``)."""

    # "m.role.admin" (anything), "m.role.security" (sensitive reports), or one's own.
    role: str
    matrix_id: str | None = None
    email_address: str | None = None

    @field_validator("role")
    @classmethod
    def _known_role(cls, role: str) -> str:
        if not _ROLE.match(role):
            raise ValueError(f"{role!r}: use m.role.admin, m.role.security or a namespaced role")
        return role

    @field_validator("matrix_id")
    @classmethod
    def _user_id(cls, value: str | None) -> str | None:
        if value is not None and not _USER_ID.match(value):
            raise ValueError(f"{value!r} is not a Matrix user ID (@name:server)")
        return value

    @field_validator("email_address")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> SupportContact:
        if self.matrix_id is None and self.email_address is None:
            raise ValueError("a support contact needs a matrix_id or an email_address")
        return self


class SupportSettings(_Strict):
    contacts: list[SupportContact] = []
    # A page of the organisation's own help for this server (https://…).
    support_page: str | None = None

    @field_validator("support_page")
    @classmethod
    def _web_page(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not a web address (https://…)")
        return value

    @model_validator(mode="after")
    def _something(self) -> SupportSettings:
        if not self.contacts and self.support_page is None:
            raise ValueError("[tenants.support] needs contacts or a support_page")
        return self

    def well_known(self) -> dict[str, object]:
        """The body of ``GET /.well-known/matrix/support``."""
        body: dict[str, object] = {}
        if self.contacts:
            body["contacts"] = [c.model_dump(exclude_none=True) for c in self.contacts]
        if self.support_page is not None:
            body["support_page"] = self.support_page
        return body
