"""The audit log through the admin API: logins leave entries with their source,
no password leaks into it, filters and paging, the export, and who may read it."""

from __future__ import annotations

import getpass
import secrets
from pathlib import Path

import httpx
import orjson
import pytest

from tests.integration.admin_api import (
    AUDIT,
    Admin,
    audit,
    entries,
    login,
    new_admin,
    shared_member,
)
from tests.integration.conftest import PASSWORD
from tests.integration.harness import RevierProcess

TOKENS = "/_revier/admin/v1/registration_tokens"


async def test_logins_are_recorded_with_the_client_address(
    org_server: RevierProcess, admin: Admin
) -> None:
    localpart = f"anna-{secrets.token_hex(4)}"
    user_id = org_server.create_user(localpart, PASSWORD)
    failed = login(org_server, localpart, "wrong password", **{"X-Forwarded-For": "203.0.113.7"})
    assert failed.status_code == 403
    ok = login(org_server, localpart, PASSWORD, **{"X-Forwarded-For": "198.51.100.8"})
    assert ok.status_code == 200

    found = await entries(org_server, admin, target=user_id, action="login.")
    assert [(e["action"], e["source"], e["tenant"]) for e in found] == [
        ("login.failed", "203.0.113.7", "localhost"),
        ("login.succeeded", "198.51.100.8", "localhost"),
    ]
    assert found[1]["actor"] == user_id
    assert found[1]["details"] == {"device_id": ok.json()["device_id"], "new_device": True}
    assert isinstance(found[0]["ts"], int) and found[0]["ts"] <= found[1]["ts"]  # type: ignore[operator]


async def test_a_password_typed_as_the_user_name_leaves_no_trace(
    org_server: RevierProcess, admin: Admin
) -> None:
    secret = f"Sommer{secrets.token_hex(4)}!Dienst"
    address = f"192.0.2.{secrets.randbelow(200) + 1}"
    response = login(org_server, secret, "whatever", **{"X-Forwarded-For": address})
    assert response.status_code == 403
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        export = await http.get(f"{AUDIT}/export", headers=admin.headers)
    assert export.status_code == 200
    assert secret.lower() not in export.text.lower()
    [entry] = [e for e in _lines(export.content) if e["source"] == address]
    assert (entry["action"], entry["target"], entry["actor"]) == ("login.failed", None, None)


async def test_filters_and_paging(org_server: RevierProcess) -> None:
    admin = new_admin(org_server)  # alone, so that its entries are exactly these
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        created = []
        for uses in range(5):
            r = await http.post(TOKENS, json={"uses_allowed": uses}, headers=admin.headers)
            assert r.status_code == 200, r.text
            created.append(r.json()["token_id"])
        r = await http.delete(f"{TOKENS}/{created[0]}", headers=admin.headers)
        assert r.status_code == 200

    mine = {"actor": admin.user_id}
    family = await entries(org_server, admin, action="registration_token.", **mine)
    assert [(e["action"], e["target"]) for e in family] == [
        *(("registration_token.created", t) for t in created),
        ("registration_token.deleted", created[0]),
    ]
    assert family[2]["details"] == {"uses_allowed": 2, "expiry_time": None}
    assert all("token" not in orjson.dumps(e["details"]).decode() for e in family)
    exact = await entries(org_server, admin, action="registration_token.created", **mine)
    assert [e["id"] for e in exact] == [e["id"] for e in family[:5]]
    assert await entries(org_server, admin, action="registration_token", **mine) == []
    by_target = await entries(org_server, admin, target=created[0])
    assert [e["action"] for e in by_target] == [
        "registration_token.created",
        "registration_token.deleted",
    ]
    # since_ts is inclusive, until_ts exclusive.
    last_ts = family[-1]["ts"]
    since = await entries(org_server, admin, action="registration_token.", since_ts=last_ts, **mine)
    assert since and since[-1] == family[-1] and all(e["ts"] == last_ts for e in since)
    until = await entries(org_server, admin, action="registration_token.", until_ts=last_ts, **mine)
    assert until == [e for e in family if e["ts"] < last_ts]  # type: ignore[operator]

    pages: list[list[int]] = []
    token: str | None = None
    while True:
        params: dict[str, object] = {"action": "registration_token.", "limit": 2, **mine}
        if token is not None:
            params["from"] = token
        r = await audit(org_server, admin, **params)
        assert r.status_code == 200
        pages.append([e["id"] for e in r.json()["entries"]])
        token = r.json().get("next_token")
        if token is None:
            break
    assert pages == [[e["id"] for e in family[i : i + 2]] for i in range(0, 6, 2)] + [[]]


async def test_the_export_has_the_same_entries_and_is_itself_audited(
    org_server: RevierProcess, admin: Admin
) -> None:
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        r = await http.post(TOKENS, json={}, headers=admin.headers)
        assert r.status_code == 200
        filters = {"actor": admin.user_id, "action": "registration_token."}
        listed = await entries(org_server, admin, **filters)
        export = await http.get(
            f"{AUDIT}/export",
            params=filters,
            headers={**admin.headers, "X-Forwarded-For": "203.0.113.99"},
        )
    assert export.status_code == 200
    assert export.headers["content-type"] == "application/x-ndjson"
    disposition = export.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="audit-localhost-')
    assert disposition.endswith('.jsonl"')
    assert _lines(export.content) == listed

    exports = await entries(org_server, admin, actor=admin.user_id, action="audit.exported")
    exported = exports[-1]
    assert exported["source"] == "203.0.113.99"
    assert exported["details"] == {"filters": filters}


async def test_only_the_tenants_admins_read_its_log(
    org_server: RevierProcess, admin: Admin, other_admin: Admin
) -> None:
    # Something recorded in each tenant.
    for host in ("localhost", "other.test"):
        assert login(org_server, f"nobody-{secrets.token_hex(4)}", "x", host).status_code == 403

    member = shared_member(org_server)
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        for path in (AUDIT, f"{AUDIT}/export"):
            r = await http.get(path, headers=member.headers)
            assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
            r = await http.get(path, headers={"Host": "localhost"})
            assert r.status_code == 401
            # An admin token of one tenant is unknown at the other.
            r = await http.get(path, headers={**admin.headers, "Host": "other.test"})
            assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
        export = await http.get(f"{AUDIT}/export", headers=other_admin.headers)
    # The refused attempts exported nothing and recorded no export.
    assert await entries(org_server, admin, action="audit.exported", actor=member.user_id) == []

    theirs = _lines(export.content)
    assert theirs and {e["tenant"] for e in theirs} == {"other.test"}
    assert all(e["actor"] != admin.user_id for e in theirs)
    assert "localhost" not in export.text
    mine = await audit(org_server, admin, limit=1000)
    assert {e["tenant"] for e in mine.json()["entries"]} == {"localhost"}
    assert other_admin.user_id not in mine.text


@pytest.mark.one_engine  # the command line on PostgreSQL is covered by test_cli.py
async def test_the_command_line_lists_exports_and_pseudonymises(
    org_server: RevierProcess, admin: Admin, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        for _ in range(3):
            r = await http.post(TOKENS, json={}, headers=admin.headers)
            assert r.status_code == 200
    filters = ["--actor", admin.user_id, "--action", "registration_token.created"]
    listed = await entries(org_server, admin, actor=admin.user_id, action=filters[-1])
    assert len(listed) >= 3

    as_json = org_server.admin("audit", "list", *filters, "--json", "--limit", "2")
    assert [orjson.loads(line) for line in as_json.splitlines()[:2]] == listed[:2]
    assert "the first 2 only" in as_json  # on stderr: more entries match
    table = org_server.admin("audit", "list", *filters, "--tenant", "localhost")
    assert table.splitlines()[0].split() == [
        "time",
        "(UTC)",
        "action",
        "actor",
        "target",
        "source",
        "details",
    ]
    assert f"{len(listed)} entries" in table
    assert all(str(e["target"]) in table for e in listed)

    output = tmp_path / "audit.jsonl"
    said = org_server.admin("audit", "export", *filters, "--output", str(output))
    assert f"exported {len(listed)} entries" in said
    assert _lines(output.read_bytes()) == listed
    cli = "cli:" + getpass.getuser()
    exports = await entries(org_server, admin, action="audit.exported", actor=cli)
    assert exports[-1]["source"] == "local"
    assert exports[-1]["details"] == {
        "filters": {"actor": admin.user_id, "action": "registration_token.created"}
    }

    # Nothing on this server is 30 days old: the run finds nothing to do.
    said = org_server.admin("audit", "pseudonymise")
    assert said.strip() == "pseudonymised the source address of 0 entries"


@pytest.mark.parametrize(
    "params",
    [
        {"since_ts": "yesterday"},
        {"until_ts": "-1"},
        {"since_ts": "9" * 30},
        {"from": "not-a-token"},
        {"limit": "0"},
        {"limit": "100000"},
        {"actor": "\x00"},
    ],
)
async def test_bad_parameters_are_refused(
    org_server: RevierProcess, admin: Admin, params: dict[str, str]
) -> None:
    for path in (AUDIT, f"{AUDIT}/export"):
        if path != AUDIT and ("from" in params or "limit" in params):
            continue
        r = await audit(org_server, admin, path, **params)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM"), r.text


def _lines(content: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in content.splitlines() if line]
