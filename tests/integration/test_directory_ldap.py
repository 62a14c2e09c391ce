"""Directory sync from a real OpenLDAP server (slapd, started by the tests with a
generated tree): joiners get accounts, display names follow the directory,
leavers (removed or disabled) are deactivated, a dry run shows exactly what the
sync then does, the guard stops a sync against an emptied directory, and
directory accounts sign in with their directory password.

The tests of this module build on each other, in order, against one directory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.ldap import SERVICE_PASSWORD, LdapServer, person_password, slapd_missing

from tests.integration.admin_api import login
from tests.integration.conftest import LOOSE_LIMIT, running_server
from tests.integration.harness import INITIAL_ADMIN_PASSWORD, PASSWORD, RevierProcess

SYNC = "/_revier/admin/v1/directory/sync"
USERS = "/_revier/admin/v1/users"
# Enough people that the directory's size limit (500) makes the search page.
PEOPLE = [(f"officer{i:03d}", f"Officer {i}") for i in range(520)]
GROUPS = {"station-north": ["officer000", "officer001"], "station-south": ["officer002"]}

pytestmark = pytest.mark.skipif(slapd_missing() is not None, reason=str(slapd_missing()))


@pytest.fixture(scope="module")
def ldap(tmp_root: Path, engine: str) -> Iterator[LdapServer]:
    server = LdapServer(tmp_root / f"slapd-{engine}")
    server.start([*PEOPLE, ("handmade", "Hand Made")], GROUPS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, ldap: LdapServer
) -> Iterator[RevierProcess]:
    directory = {"max_deactivate_share": 0.2, "batch_size": 100, "ldap": ldap.settings()}
    with running_server(
        engine,
        request,
        tmp_root,
        "directory",
        ratelimit__login_per_address=LOOSE_LIMIT,
        ratelimit__login_per_user=LOOSE_LIMIT,
        # Wrong passwords are tried on purpose here; the lockout's own tests
        # are test_signin_lockout's.
        tenant_policy={"signin_failures_before_delay": 20},
        tenant_sections={"directory": directory},
    ) as revier:
        # Made by hand before the directory was connected: never the directory's.
        revier.create_user("handmade", PASSWORD)
        yield revier


@pytest.fixture(scope="module")
def admin_headers(server: RevierProcess) -> dict[str, str]:
    r = login(server, "admin", INITIAL_ADMIN_PASSWORD)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def cli_sync(server: RevierProcess, *flags: str, check: bool = True) -> dict[str, Any]:
    out = server.admin("directory", "sync", "--json", *flags, check=check)
    return json.loads(out[: out.rindex("}") + 1])  # type: ignore[no-any-return]


def sign_in(server: RevierProcess, user: str, password: str) -> httpx.Response:
    return login(server, user, password)


def test_a_dry_run_plans_every_joiner_and_changes_nothing(server: RevierProcess) -> None:
    plan = cli_sync(server, "--dry-run")
    assert plan["counts"] == {
        "create": 520,
        "units": 2,
        "update": 0,
        "move": 0,
        "deactivate": 0,
        "refused": 1,
    }
    created = {c["user_id"] for c in plan["create"]}
    assert created == {f"@{uid}:localhost" for uid, _ in PEOPLE}
    # The hand-made account's name is taken: reported, not taken over.
    assert plan["refused"][0]["user_id"] is None
    assert "is not this entry's" in plan["refused"][0]["reason"]
    assert sign_in(server, "officer000", person_password("officer000")).status_code == 403


def test_joiners_get_accounts_and_sign_in_with_the_directory_password(
    server: RevierProcess,
) -> None:
    out = server.admin("directory", "sync")
    assert "done: created 520, updated 0, moved 0, deactivated 0, failed 0" in out
    r = sign_in(server, "officer007", person_password("officer007"))
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == "@officer007:localhost"
    wrong = sign_in(server, "officer007", "not-the-password")
    assert wrong.status_code == 403 and wrong.json()["errcode"] == "M_FORBIDDEN"
    assert sign_in(server, "officer007", "").status_code in (400, 403)  # never an anonymous bind
    # Another person's password is no key to this account.
    assert sign_in(server, "officer007", person_password("officer008")).status_code == 403
    # User-interactive auth (deleting a device, setting up cross-signing in
    # Element) takes the directory password too.
    token = r.json()["access_token"]
    second = sign_in(server, "officer007", person_password("officer007")).json()["device_id"]
    url = f"{server.url}/_matrix/client/v3/devices/{second}"
    headers = {"Authorization": f"Bearer {token}"}
    session = httpx.request("DELETE", url, json={}, headers=headers).json()["session"]
    auth = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "@officer007:localhost"},
        "session": session,
    }
    wrong_uia = httpx.request(
        "DELETE", url, json={"auth": {**auth, "password": "nope"}}, headers=headers
    )
    assert wrong_uia.status_code in (401, 403), wrong_uia.text
    deleted = httpx.request(
        "DELETE",
        url,
        json={"auth": {**auth, "password": person_password("officer007")}},
        headers=headers,
    )
    assert deleted.status_code == 200, deleted.text
    # The hand-made account keeps its own password; its directory twin's is no use.
    assert sign_in(server, "handmade", PASSWORD).status_code == 200
    assert sign_in(server, "handmade", person_password("handmade")).status_code == 403
    # revier made up no password: the database holds no hash for the directory's accounts.
    again = cli_sync(server, "--dry-run")
    assert again["counts"] == {
        "create": 0,
        "units": 0,
        "update": 0,
        "move": 0,
        "deactivate": 0,
        "refused": 1,
    }


def test_the_dry_run_shows_exactly_what_the_sync_does(
    server: RevierProcess, ldap: LdapServer, admin_headers: dict[str, str]
) -> None:
    ldap.add_person("officer900", "Newcomer Nine")
    ldap.rename_person("officer010", "Officer Ten (married name)")
    ldap.remove_person("officer011")  # a leaver
    ldap.disable_person("officer012")  # on leave, disabled
    dry = httpx.post(server.url + SYNC, json={"dry_run": True}, headers=admin_headers)
    assert dry.status_code == 200, dry.text
    planned = dry.json()["plan"]
    assert planned["counts"] == {
        "create": 1,
        "units": 0,
        "update": 1,
        "move": 0,
        "deactivate": 2,
        "refused": 1,
    }
    assert planned["deactivate"] == [
        {"user_id": "@officer012:localhost", "reason": "disabled"},
        {"user_id": "@officer011:localhost", "reason": "gone"},
    ]
    # Nothing changed yet (the leaver can't sign in: the directory has no entry left).
    user = httpx.get(server.url + USERS + "/@officer011:localhost", headers=admin_headers)
    assert user.json()["deactivated"] is False
    done = httpx.post(server.url + SYNC, json={}, headers=admin_headers)
    assert done.status_code == 200, done.text
    assert done.json()["plan"] == planned
    assert done.json()["done"] == {
        "created": 1,
        "updated": 1,
        "moved": 0,
        "deactivated": 2,
        "failed": 0,
    }
    audit = httpx.get(
        server.url + "/_revier/admin/v1/audit?action=directory.sync", headers=admin_headers
    ).json()["entries"][-1]
    assert audit["actor"] == "directory:ldap"
    assert audit["details"]["requested_by"] == "@admin:localhost"
    assert audit["details"]["counts"]["deactivated"] == 2
    assert audit["details"]["created"] == ["@officer900:localhost"]
    assert "Newcomer" not in json.dumps(audit)  # names of accounts, nothing else of people
    profile = httpx.get(
        server.url + "/_matrix/client/v3/profile/@officer010:localhost", headers=admin_headers
    )
    assert profile.json()["displayname"] == "Officer Ten (married name)"
    assert sign_in(server, "officer900", person_password("officer900")).status_code == 200


def test_leavers_are_deactivated_and_never_reactivated_by_a_sync(
    server: RevierProcess, ldap: LdapServer
) -> None:
    gone = sign_in(server, "officer011", person_password("officer011"))
    assert gone.status_code == 403 and gone.json()["errcode"] == "M_USER_DEACTIVATED"
    # Disabled in the directory: its bind would still work, the account doesn't.
    disabled = sign_in(server, "officer012", person_password("officer012"))
    assert disabled.json()["errcode"] == "M_USER_DEACTIVATED"
    ldap.enable_person("officer012")  # back from leave
    ldap.add_person("officer011", "Officer 11")  # a new entry (a new entryUUID), same name
    plan = cli_sync(server, "--dry-run")
    refused = {r["external_id"]: r for r in plan["refused"]}
    assert len(refused) == 3 and plan["counts"]["create"] == 0
    reasons = sorted(r["reason"] for r in refused.values())
    assert "never reactivates" in next(r for r in reasons if "reactivat" in r)
    assert sum("is not this entry's" in r for r in reasons) == 2  # handmade and officer011
    assert sign_in(server, "officer012", person_password("officer012")).json()["errcode"] == (
        "M_USER_DEACTIVATED"
    )


def test_an_unreachable_directory_refuses_sign_in_and_syncs(
    server: RevierProcess, ldap: LdapServer, admin_headers: dict[str, str]
) -> None:
    ldap.stop()
    try:
        started = time.monotonic()
        r = sign_in(server, "officer030", person_password("officer030"))
        assert r.status_code == 403 and r.json()["errcode"] == "M_FORBIDDEN"
        assert time.monotonic() - started < 20  # within the configured timeouts
        # An account of revier's own still signs in: its password is revier's.
        assert sign_in(server, "handmade", PASSWORD).status_code == 200
        out = server.admin("directory", "sync", check=False)
        assert "the directory can't be read" in out and "Traceback" not in out
        r = httpx.post(server.url + SYNC, json={}, headers=admin_headers)
        assert r.status_code == 400 and r.json()["errcode"] == "M_UNKNOWN"
        assert SERVICE_PASSWORD not in (server.log_path.read_text() + out + r.text)
    finally:
        ldap.resume()
    assert sign_in(server, "officer030", person_password("officer030")).status_code == 200


def test_a_non_admin_may_not_sync(server: RevierProcess) -> None:
    token = sign_in(server, "officer020", person_password("officer020")).json()["access_token"]
    r = httpx.post(server.url + SYNC, json={}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json()["errcode"] == "M_FORBIDDEN"
    bad = httpx.post(
        server.url + SYNC, json={"dry_run": "yes"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert bad.status_code == 403


def test_the_guard_stops_a_sync_against_an_emptied_directory(
    server: RevierProcess, ldap: LdapServer, admin_headers: dict[str, str]
) -> None:
    ldap.empty_people()
    out = server.admin("directory", "sync", check=False)
    assert "nothing was changed" in out and "--allow-mass-deactivation" in out
    r = httpx.post(server.url + SYNC, json={}, headers=admin_headers)
    assert r.status_code == 403, r.text
    assert r.json()["errcode"] == "M_FORBIDDEN"
    assert r.json()["counts"]["deactivate"] == 519
    assert sign_in(server, "officer100", person_password("officer100")).status_code == 403
    # ... refused by the directory (no entry), not deactivated by revier:
    plan = cli_sync(server, "--dry-run")
    assert plan["counts"]["deactivate"] == 519
    audit = httpx.get(
        server.url + "/_revier/admin/v1/audit?action=directory.sync_refused", headers=admin_headers
    )
    assert audit.status_code == 200 and audit.json()["entries"], audit.text
    # The operator lets it through on purpose, once: only the directory's accounts go.
    out = server.admin("directory", "sync", "--allow-mass-deactivation")
    assert "deactivated 519" in out
    assert sign_in(server, "handmade", PASSWORD).status_code == 200
    admin = login(server, "admin", INITIAL_ADMIN_PASSWORD)
    assert admin.status_code == 200
