"""A real OpenLDAP server for the directory tests and the organisation benchmark:
slapd from Debian's packages, started in a temporary directory on a loopback
port with an mdb database and a generated tree of people and groups
(``ou=people``, ``ou=groups`` under ``dc=police,dc=example``). Changed through
ldap3, as an admin of the directory would."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import ldap3

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=police,dc=example"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "directory-admin-secret"
# The account revier searches with: an ordinary entry, so the server's size
# limit (500 entries) holds for it and the paged search has to page.
SERVICE_DN = f"cn=revier,{SUFFIX}"
SERVICE_PASSWORD = "revier-service-secret"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def slapd_missing() -> str | None:
    """Why no slapd can be started here, or None."""
    if not Path(SLAPD).exists() or shutil.which("slapadd", path="/usr/sbin:/usr/bin") is None:
        return "slapd is missing (Debian: slapd, ldap-utils; scripts/test installs them)"
    return None


def person_password(uid: str) -> str:
    return f"pw-{uid}-directory"


@dataclass
class LdapServer:
    root: Path
    port: int = 0
    tls: bool = False  # a self-signed certificate: StartTLS on url, and ldaps on tls_url
    tls_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    _conn: ldap3.Connection | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def ca_file(self) -> Path:
        return self.root / "cert.pem"

    def _certificate(self) -> str:
        """A self-signed certificate for 127.0.0.1 (its own CA); slapd.conf lines."""
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(self.root / "key.pem"), "-out", str(self.ca_file)],
            check=True, capture_output=True,
        )  # fmt: skip
        return f"TLSCertificateFile {self.ca_file}\nTLSCertificateKeyFile {self.root / 'key.pem'}\n"

    def start(self, people: list[tuple[str, str]], groups: dict[str, list[str]]) -> None:
        """``people``: (uid, display name); ``groups``: cn → member uids (or
        "group:<cn>" for a nested group: a child unit)."""
        (self.root / "db").mkdir(parents=True)
        conf = self.root / "slapd.conf"
        conf.write_text(
            "".join(f"include /etc/ldap/schema/{s}.schema\n" for s in SCHEMAS)
            + f"pidfile {self.root}/slapd.pid\n"
            + (self._certificate() if self.tls else "")
            + "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
            + "sizelimit 500\n"
            + f'database mdb\nsuffix "{SUFFIX}"\nrootdn "{ADMIN_DN}"\n'
            + f"rootpw {ADMIN_PASSWORD}\ndirectory {self.root}/db\nmaxsize 104857600\n"
            # Pages of up to 500 for revier's account, as many as it takes.
            + f'limits dn.exact="{SERVICE_DN}" size.soft=500 size.hard=500 size.prtotal=unlimited\n'
            + "index uid,cn,objectClass eq\n"
            + "access to attrs=userPassword by anonymous auth by self write by * none\n"
            + "access to * by * read\n"
        )
        ldif = self.root / "tree.ldif"
        ldif.write_text(_tree(people, groups))
        subprocess.run(
            ["slapadd", "-f", str(conf), "-l", str(ldif)], check=True, capture_output=True
        )
        self.port = _free_port()
        self.tls_port = _free_port() if self.tls else 0
        self.resume()

    def resume(self) -> None:
        """Start slapd (again, after ``stop``) on the same port and database."""
        conf = self.root / "slapd.conf"
        with (self.root / "slapd.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [SLAPD, "-f", str(conf), "-h", self._listen(), "-d", "0"],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"slapd did not start: {(self.root / 'slapd.log').read_text()[-2000:]}")

    def _listen(self) -> str:
        return f"{self.url}/ {self.tls_url}/" if self.tls else f"{self.url}/"

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.unbind()
            self._conn = None
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    @property
    def conn(self) -> ldap3.Connection:
        if self._conn is None:
            self._conn = ldap3.Connection(
                ldap3.Server(self.url),
                ADMIN_DN,
                ADMIN_PASSWORD,
                auto_bind=True,
                raise_exceptions=True,
            )
        return self._conn

    def add_person(self, uid: str, name: str, groups: list[str] = ()) -> None:  # type: ignore[assignment]
        self.conn.add(f"uid={uid},{PEOPLE}", ["inetOrgPerson"], _person_attrs(uid, name))
        for cn in groups:
            self.add_member(cn, uid)

    def remove_person(self, uid: str) -> None:
        self.conn.delete(f"uid={uid},{PEOPLE}")

    def disable_person(self, uid: str) -> None:
        self.conn.modify(
            f"uid={uid},{PEOPLE}", {"employeeType": [(ldap3.MODIFY_REPLACE, ["disabled"])]}
        )

    def enable_person(self, uid: str) -> None:
        self.conn.modify(f"uid={uid},{PEOPLE}", {"employeeType": [(ldap3.MODIFY_DELETE, [])]})

    def rename_person(self, uid: str, name: str) -> None:
        self.conn.modify(f"uid={uid},{PEOPLE}", {"displayName": [(ldap3.MODIFY_REPLACE, [name])]})

    def add_member(self, cn: str, uid: str) -> None:
        self.conn.modify(
            f"cn={cn},{GROUPS}", {"member": [(ldap3.MODIFY_ADD, [f"uid={uid},{PEOPLE}"])]}
        )

    def remove_member(self, cn: str, uid: str) -> None:
        self.conn.modify(
            f"cn={cn},{GROUPS}", {"member": [(ldap3.MODIFY_DELETE, [f"uid={uid},{PEOPLE}"])]}
        )

    def move_members(
        self, from_cn: str, to_cn: str, uids: list[str], *, emptying: bool = False
    ) -> None:
        """Many people from one group to another, one modify per group
        (``emptying``: all of them; the service account stands in, as
        groupOfNames needs a member)."""
        dns = [f"uid={u},{PEOPLE}" for u in uids]
        changes = [(ldap3.MODIFY_ADD, [SERVICE_DN])] if emptying else []
        self.conn.modify(
            f"cn={from_cn},{GROUPS}", {"member": [*changes, (ldap3.MODIFY_DELETE, dns)]}
        )
        self.conn.modify(f"cn={to_cn},{GROUPS}", {"member": [(ldap3.MODIFY_ADD, dns)]})

    def empty_people(self) -> list[str]:
        """Take every person out of the tree (a broken export); their uids."""
        self.conn.search(PEOPLE, "(objectClass=inetOrgPerson)", attributes=["uid"])
        uids = [str(e.uid) for e in self.conn.entries]
        for uid in uids:
            self.remove_person(uid)
        return uids

    def settings(self, **overrides: object) -> dict[str, object]:
        """The ``[tenants.directory] ldap`` table for revier's configuration."""
        return {
            "url": self.url,
            "bind_dn": SERVICE_DN,
            "bind_password": SERVICE_PASSWORD,
            "user_base_dn": PEOPLE,
            "disabled_filter": "(employeeType=disabled)",
            "group_base_dn": GROUPS,
            "sync_interval_seconds": 0,
            "timeout_seconds": 5.0,
            **overrides,
        }


def _person_attrs(uid: str, name: str) -> dict[str, object]:
    return {
        "uid": uid,
        "cn": name,
        "sn": name.split()[-1],
        "displayName": name,
        "mail": f"{uid}@police.example",
        "userPassword": person_password(uid),
    }


def _entry(dn: str, attrs: dict[str, object]) -> str:
    lines = [f"dn: {dn}"]
    for key, value in attrs.items():
        for v in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {v}")
    return "\n".join(lines) + "\n\n"


def _tree(people: list[tuple[str, str]], groups: dict[str, list[str]]) -> str:
    out = _entry(
        SUFFIX, {"objectClass": ["dcObject", "organization"], "dc": "police", "o": "Police"}
    )
    out += _entry(
        SERVICE_DN,
        {
            "objectClass": ["organizationalRole", "simpleSecurityObject"],
            "cn": "revier",
            "userPassword": SERVICE_PASSWORD,
        },
    )
    out += _entry(PEOPLE, {"objectClass": "organizationalUnit", "ou": "people"})
    out += _entry(GROUPS, {"objectClass": "organizationalUnit", "ou": "groups"})
    for uid, name in people:
        out += _entry(
            f"uid={uid},{PEOPLE}", {"objectClass": "inetOrgPerson", **_person_attrs(uid, name)}
        )
    for cn, uids in groups.items():
        # groupOfNames needs a member: the service account stands in for an empty group.
        members = [_member_dn(u) for u in uids] or [SERVICE_DN]
        out += _entry(
            f"cn={cn},{GROUPS}", {"objectClass": "groupOfNames", "cn": cn, "member": members}
        )
    return out


def _member_dn(member: str) -> str:
    """A person's uid, or "group:<cn>" for a group nested in this one."""
    if member.startswith("group:"):
        return f"cn={member.removeprefix('group:')},{GROUPS}"
    return f"uid={member},{PEOPLE}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
