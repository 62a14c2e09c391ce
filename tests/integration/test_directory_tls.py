"""The directory over TLS (a real slapd with a self-signed certificate): StartTLS
on ldap:// and ldaps://, the certificate checked against ``ca_file``; a
certificate revier can't verify is refused, never silently accepted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.ldap import LdapServer, person_password, slapd_missing

from revier.config_directory import LdapSettings
from revier.services.org.directory_ldap import DirectoryUnavailable, read_directory
from revier.services.org.directory_passwords import _bind_as

pytestmark = [
    pytest.mark.one_engine,  # no revier database involved
    pytest.mark.skipif(slapd_missing() is not None, reason=str(slapd_missing())),
]


@pytest.fixture(scope="module")
def ldap(tmp_root: Path) -> Iterator[LdapServer]:
    server = LdapServer(tmp_root / "slapd-tls", tls=True)
    server.start([("tina", "Tina Thiel")], {"crew": ["tina"]})
    try:
        yield server
    finally:
        server.stop()


def settings(ldap: LdapServer, **overrides: object) -> LdapSettings:
    return LdapSettings(**ldap.settings(**{"ca_file": str(ldap.ca_file), **overrides}))  # type: ignore[arg-type]


@pytest.mark.parametrize("how", ["start_tls", "ldaps"])
def test_reads_and_binds_over_tls(ldap: LdapServer, how: str) -> None:
    conf = (
        settings(ldap, start_tls=True) if how == "start_tls" else settings(ldap, url=ldap.tls_url)
    )
    view = read_directory(conf)
    assert [p.localpart for p in view.people] == ["tina"]
    assert _bind_as(conf, "tina", person_password("tina")) is True
    assert _bind_as(conf, "tina", "wrong") is False


def test_an_unverifiable_certificate_is_refused(ldap: LdapServer, tmp_path: Path) -> None:
    other_ca = Path("/etc/ssl/certs/ca-certificates.crt")  # the system's: not our self-signed one
    for conf in (
        settings(ldap, start_tls=True, ca_file=str(other_ca)),
        settings(ldap, url=ldap.tls_url, ca_file=str(other_ca)),
    ):
        with pytest.raises(DirectoryUnavailable):
            read_directory(conf)
