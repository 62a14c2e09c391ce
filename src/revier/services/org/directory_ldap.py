"""Reading an LDAP directory (OpenLDAP, Active Directory) into a ``DirectoryView``.

Blocking (ldap3's synchronous strategy): callers run it in a thread. Searches
are paged (RFC 2696, 500 entries a page), so directories larger than the
server's size limit are read whole. The bind password is never logged or put
in an error message.
"""

from __future__ import annotations

import contextlib
import math
import ssl
from collections.abc import Iterator
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPBindError, LDAPException, LDAPInvalidCredentialsResult
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from revier.config_directory import LdapSettings
from revier.services.org.directory_view import DirectoryPerson, DirectoryUnit, DirectoryView

PAGE_SIZE = 500


class DirectoryUnavailable(Exception):
    """The directory can't be read (unreachable, refused the bind, bad base DN)."""


class BindRefused(Exception):
    """The directory refused these credentials."""


def connect(settings: LdapSettings, user: str, password: str) -> ldap3.Connection:
    """A bound connection; BindRefused for wrong credentials, DirectoryUnavailable
    when the directory can't be reached."""
    timeout = math.ceil(settings.timeout_seconds)  # ldap3 packs it into a C int
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file and str(settings.ca_file)
    )
    server = ldap3.Server(
        settings.url,
        use_ssl=settings.url.startswith("ldaps://"),
        tls=tls,
        connect_timeout=timeout,
        get_info=ldap3.NONE,
    )
    conn = ldap3.Connection(
        server,
        user=user,
        password=password,
        receive_timeout=timeout,
        read_only=True,
        raise_exceptions=True,
        auto_referrals=False,
    )
    try:
        conn.open()
        if settings.start_tls:
            conn.start_tls()
        conn.bind()
    except (LDAPBindError, LDAPInvalidCredentialsResult):
        _close(conn)
        raise BindRefused() from None
    except LDAPException as e:
        _close(conn)
        # The reason (refused, a certificate that fails the check): no secret in it.
        raise DirectoryUnavailable(f"{settings.url}: {type(e).__name__}: {str(e)[:300]}") from None
    return conn


def _close(conn: ldap3.Connection) -> None:
    """Drop a connection that failed (its socket may be gone: an unbind can fail too)."""
    with contextlib.suppress(LDAPException, OSError):
        conn.unbind()


def read_directory(settings: LdapSettings) -> DirectoryView:
    try:
        conn = connect(settings, settings.bind_dn, settings.password())
    except BindRefused:
        raise DirectoryUnavailable(
            f"{settings.url} refused the bind as {settings.bind_dn}"
        ) from None
    try:
        return _read(conn, settings)
    except LDAPException as e:
        raise DirectoryUnavailable(f"{settings.url}: {type(e).__name__}: {e}") from None
    finally:
        conn.unbind()


def find_user_dn(conn: ldap3.Connection, settings: LdapSettings, localpart: str) -> str | None:
    """The DN of the entry with this user name, if exactly one has it and it is
    not disabled (a disabled person can't sign in even before the next sync)."""
    name = f"({settings.localpart_attribute}={escape_filter_chars(localpart)})"
    enabled = f"(!{settings.disabled_filter})" if settings.disabled_filter else ""
    flt = f"(&{settings.user_filter}{enabled}{name})"
    conn.search(settings.user_base_dn, flt, attributes=[], size_limit=2)
    entries = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
    return str(entries[0]["dn"]) if len(entries) == 1 else None


def _read(conn: ldap3.Connection, settings: LdapSettings) -> DirectoryView:
    disabled: set[str] = set()
    if settings.disabled_filter:
        flt = f"(&{settings.user_filter}{settings.disabled_filter})"
        disabled = {norm_dn(dn) for dn, _ in _search(conn, settings.user_base_dn, flt, [])}
    wanted = [settings.id_attribute, settings.localpart_attribute, *settings.displayname_attributes]
    if settings.email_attribute:
        wanted.append(settings.email_attribute)
    if settings.member_of_attribute:
        wanted.append(settings.member_of_attribute)
    people: dict[str, tuple[str, dict[str, Any]]] = {}  # DN -> (external id, attributes)
    for dn, attrs in _search(conn, settings.user_base_dn, settings.user_filter, wanted):
        external_id = _first(attrs, settings.id_attribute)
        if external_id and _first(attrs, settings.localpart_attribute):
            people[norm_dn(dn)] = (external_id, attrs)
    units, unit_of_dn, members = _groups(conn, settings)
    unit_sets: dict[str, set[str]] = {dn: set() for dn in people}
    for group_dn, member_dns in members.items():
        for member in member_dns:
            if member in unit_sets:
                unit_sets[member].add(unit_of_dn[group_dn])
    if settings.member_of_attribute:
        for dn, (_, attrs) in people.items():
            for group_dn in map(norm_dn, _all(attrs, settings.member_of_attribute)):
                if group_dn in unit_of_dn:
                    unit_sets[dn].add(unit_of_dn[group_dn])
    return DirectoryView(
        "ldap",
        [
            DirectoryPerson(
                external_id=external_id,
                localpart=_first(attrs, settings.localpart_attribute) or "",
                displayname=next(
                    (v for a in settings.displayname_attributes if (v := _first(attrs, a))), None
                ),
                email=_first(attrs, settings.email_attribute) if settings.email_attribute else None,
                active=dn not in disabled,
                units=frozenset(unit_sets[dn]),
            )
            for dn, (external_id, attrs) in people.items()
        ],
        units,
        has_units=settings.group_base_dn is not None,
    )


def _groups(
    conn: ldap3.Connection, settings: LdapSettings
) -> tuple[list[DirectoryUnit], dict[str, str], dict[str, list[str]]]:
    """The units (one per group entry), each group's DN → its unit's external
    ID, and each group's member DNs. A group that is a member of another is its
    child unit."""
    if settings.group_base_dn is None:
        return [], {}, {}
    wanted = [
        settings.id_attribute,
        settings.group_name_attribute,
        *settings.group_member_attributes,
    ]
    found: dict[str, tuple[str, str]] = {}
    members: dict[str, list[str]] = {}
    for dn, attrs in _search(conn, settings.group_base_dn, settings.group_filter, wanted):
        group_dn = norm_dn(dn)
        external_id = _first(attrs, settings.id_attribute) or group_dn
        found[group_dn] = (external_id, _first(attrs, settings.group_name_attribute) or group_dn)
        members[group_dn] = [
            norm_dn(m) for a in settings.group_member_attributes for m in _all(attrs, a)
        ]
    parent: dict[str, str] = {}
    for group_dn, member_dns in members.items():
        for member in member_dns:
            if member in found and member != group_dn:
                parent.setdefault(member, found[group_dn][0])
    units = [
        DirectoryUnit(external_id, name, parent.get(group_dn))
        for group_dn, (external_id, name) in found.items()
    ]
    return units, {dn: ext for dn, (ext, _) in found.items()}, members


def _search(
    conn: ldap3.Connection, base: str, flt: str, attributes: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every entry under ``base`` matching ``flt``, a page of 500 at a time."""
    entries = conn.extend.standard.paged_search(
        base,
        flt,
        search_scope=ldap3.SUBTREE,
        attributes=attributes or [ldap3.NO_ATTRIBUTES],
        paged_size=PAGE_SIZE,
        generator=True,
    )
    for entry in entries:
        if entry.get("type") == "searchResEntry":
            yield str(entry["dn"]), _lower_keys(entry.get("attributes") or {})
    # ldap3 doesn't raise for a size limit: a directory cut short would look like
    # everyone after the limit had left.
    result = conn.result or {}
    if result.get("result", 0) != 0:
        raise DirectoryUnavailable(
            f"the search under {base} ended with {result.get('description')!r}: the directory "
            "would be read only in part. Let revier's account read every entry with paging "
            '(OpenLDAP: limits dn.exact="<bind DN>" size.prtotal=unlimited)'
        )


def _lower_keys(attrs: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in dict(attrs).items()}


def _all(attrs: dict[str, Any], name: str) -> list[str]:
    value = attrs.get(name.lower())
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [_text(v) for v in values if v not in (None, "", b"")]


def _first(attrs: dict[str, Any], name: str) -> str | None:
    values = _all(attrs, name)
    return values[0] if values else None


def _text(value: object) -> str:
    """Attribute values as text; a binary one (Active Directory's objectGUID) as hex."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    return str(value)


def norm_dn(dn: str) -> str:
    """A DN in one spelling (attribute names and values lower-cased, no spaces
    around separators), so a member attribute and an entry's DN compare equal."""
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except LDAPException:
        return dn.strip().lower()
    return ",".join(f"{attr.lower()}={value.lower()}" for attr, value, _ in parts)
