"""A tenant's directory (``[tenants.directory]``): where its accounts and units come
from — an LDAP server revier reads, or an identity provider pushing SCIM — and the
guard against a broken directory. Part of the settings (``revier.config``); a
module of its own only to keep that one readable.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_LDAP_URL = re.compile(r"^ldaps?://[^\s/]+/?$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LdapSettings(_Section):
    # "ldaps://ldap.police.example" or "ldap://…:389" (then start_tls = true).
    url: str
    start_tls: bool = False
    # A CA file to check the server's certificate against; None: the system's.
    ca_file: Path | None = None
    # The account revier searches with. Its password here (or as the environment
    # variable REVIER_TENANTS__<n>__DIRECTORY__LDAP__BIND_PASSWORD), or in a file
    # only revier can read (bind_password_file), never both. Never logged.
    bind_dn: str
    bind_password: SecretStr | None = None
    bind_password_file: Path | None = None
    user_base_dn: str
    user_filter: str = "(objectClass=inetOrgPerson)"
    # Entries that match it as well are disabled: their accounts are deactivated.
    # Active Directory: "(userAccountControl:1.2.840.113556.1.4.803:=2)".
    disabled_filter: str | None = None
    # The attribute that names an entry for good (it survives renames and moves):
    # "entryUUID" (OpenLDAP), "objectGUID" (Active Directory).
    id_attribute: str = "entryUUID"
    localpart_attribute: str = "uid"
    # The first of these an entry has is its display name.
    displayname_attributes: list[str] = ["displayName", "cn"]
    email_attribute: str | None = "mail"
    # Units from group entries (their members) ...
    group_base_dn: str | None = None
    group_filter: str = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
    group_name_attribute: str = "cn"
    group_member_attributes: list[str] = ["member", "uniqueMember"]
    # Memberships also from an attribute of the user entry listing group DNs
    # (Active Directory, OpenLDAP's memberof overlay); the groups themselves
    # are still those under group_base_dn. None: not used.
    member_of_attribute: str | None = None
    # Seconds between two syncs of the serving process; 0: only on demand.
    sync_interval_seconds: int = Field(900, ge=0)
    # For each LDAP operation, the sign-in bind included.
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _ldap_url(cls, url: str) -> str:
        if not _LDAP_URL.match(url):
            raise ValueError(f"{url!r} is not an ldap:// or ldaps:// URL")
        return url

    @model_validator(mode="after")
    def _one_password(self) -> LdapSettings:
        if (self.bind_password is None) == (self.bind_password_file is None):
            raise ValueError("give exactly one of bind_password and bind_password_file")
        if self.url.startswith("ldaps://") and self.start_tls:
            raise ValueError("start_tls is for ldap:// URLs; ldaps:// is TLS already")
        return self

    def password(self) -> str:
        """The bind password, read from its file if it lives in one."""
        if self.bind_password is not None:
            return self.bind_password.get_secret_value()
        assert self.bind_password_file is not None
        try:
            text = self.bind_password_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ValueError(
                f"can't read directory.ldap.bind_password_file: {e.strerror}"
            ) from None
        if not text:
            raise ValueError("directory.ldap.bind_password_file is empty")
        return text


class ScimSettings(_Section):
    # SHA-256 (hex) of each bearer token the identity provider may use; more are
    # issued with `revier admin directory scim-token`. The tokens themselves are
    # never stored.
    token_sha256: list[str] = []

    @field_validator("token_sha256")
    @classmethod
    def _hex(cls, hashes: list[str]) -> list[str]:
        for h in hashes:
            if not re.fullmatch(r"[0-9a-f]{64}", h):
                raise ValueError("token_sha256 holds SHA-256 digests in lower-case hex")
        return hashes

    def accepts(self, token: str) -> bool:
        return hashlib.sha256(token.encode()).hexdigest() in self.token_sha256


class DirectorySettings(_Section):
    # A sync that would deactivate more than this share of the tenant's directory
    # accounts at once is refused (a broken directory must not empty the
    # organisation); `--allow-mass-deactivation` lets one through.
    max_deactivate_share: float = Field(0.05, ge=0, le=1)
    # Accounts created or changed in one transaction.
    batch_size: int = Field(200, ge=1, le=5000)
    ldap: LdapSettings | None = None
    scim: ScimSettings | None = None
