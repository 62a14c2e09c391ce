"""Registration tokens and media through the admin API (and the same actions on
the command line): what they do, that they are audited, and who may do them."""

from __future__ import annotations

import getpass
import secrets

import httpx
import pytest

from tests.integration.admin_api import Admin, entries, login, shared_member
from tests.integration.conftest import PASSWORD
from tests.integration.harness import RevierProcess

TOKENS = "/_revier/admin/v1/registration_tokens"
CLI_ACTOR = "cli:" + getpass.getuser()


@pytest.fixture
async def http(org_server: RevierProcess):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as client:
        yield client


async def test_registration_token_lifecycle(
    org_server: RevierProcess, admin: Admin, http: httpx.AsyncClient
) -> None:
    chosen = f"welcome-{secrets.token_hex(4)}"
    r = await http.post(
        TOKENS,
        json={"token": chosen, "uses_allowed": 3, "max_devices": 2, "displayname_pattern": "N.N."},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    created = r.json()
    token_id = created["token_id"]
    assert created["token"] == chosen
    assert (created["uses_allowed"], created["completed"], created["valid"]) == (3, 0, True)

    listed = (await http.get(TOKENS, headers=admin.headers)).json()["registration_tokens"]
    [mine] = [t for t in listed if t["token_id"] == token_id]
    assert "token" not in mine  # shown once, at creation
    shown = (await http.get(f"{TOKENS}/{token_id}", headers=admin.headers)).json()
    assert shown == mine
    # A token is no handle in a URL: only its token_id is.
    r = await http.get(f"{TOKENS}/{chosen}", headers=admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")

    expiry = 4_000_000_000_000
    r = await http.put(f"{TOKENS}/{token_id}", json={"expiry_time": expiry}, headers=admin.headers)
    assert (r.json()["uses_allowed"], r.json()["expiry_time"]) == (3, expiry)
    r = await http.put(f"{TOKENS}/{token_id}", json={"uses_allowed": None}, headers=admin.headers)
    assert (r.json()["uses_allowed"], r.json()["expiry_time"]) == (None, expiry)
    r = await http.delete(f"{TOKENS}/{token_id}", headers=admin.headers)
    assert r.status_code == 200
    r = await http.get(f"{TOKENS}/{token_id}", headers=admin.headers)
    assert r.status_code == 404

    found = await entries(org_server, admin, target=token_id)
    assert [(e["action"], e["actor"], e["details"]) for e in found] == [
        ("registration_token.created", admin.user_id, {"uses_allowed": 3, "expiry_time": None}),
        ("registration_token.updated", admin.user_id, {"uses_allowed": 3, "expiry_time": expiry}),
        (
            "registration_token.updated",
            admin.user_id,
            {"uses_allowed": None, "expiry_time": expiry},
        ),
        ("registration_token.deleted", admin.user_id, {}),
    ]
    assert chosen not in str(found)


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"uses_allowed": -1}, "M_INVALID_PARAM"),
        ({"uses_allowed": 2**40}, "M_INVALID_PARAM"),
        ({"uses_allowed": "3"}, "M_BAD_JSON"),
        ({"uses_allowed": True}, "M_BAD_JSON"),
        ({"expiry_time": 1}, "M_INVALID_PARAM"),  # in the past
        ({"expiry_time": 2**63}, "M_INVALID_PARAM"),
        ({"token": "has spaces"}, "M_INVALID_PARAM"),
        ({"max_devices": 0}, "M_INVALID_PARAM"),
        ({"displayname_pattern": "a\x00b"}, "M_INVALID_PARAM"),
    ],
)
async def test_bad_token_requests_are_refused(
    admin: Admin, http: httpx.AsyncClient, body: dict[str, object], errcode: str
) -> None:
    r = await http.post(TOKENS, json=body, headers=admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (400, errcode)


async def test_tokens_belong_to_their_tenant_and_its_admins(
    org_server: RevierProcess, admin: Admin, other_admin: Admin, http: httpx.AsyncClient
) -> None:
    token_id = (await http.post(TOKENS, json={}, headers=admin.headers)).json()["token_id"]
    for method, body in (("GET", None), ("PUT", {"uses_allowed": 1}), ("DELETE", None)):
        r = await http.request(
            method, f"{TOKENS}/{token_id}", json=body, headers=other_admin.headers
        )
        assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    listed = (await http.get(TOKENS, headers=other_admin.headers)).json()["registration_tokens"]
    assert token_id not in {t["token_id"] for t in listed}

    user = shared_member(org_server).headers
    for method, path in (("GET", TOKENS), ("POST", TOKENS), ("DELETE", f"{TOKENS}/{token_id}")):
        r = await http.request(method, path, json={}, headers=user)
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
        r = await http.request(method, path, json={}, headers={"Host": "localhost"})
        assert r.status_code == 401
    shown = await http.get(f"{TOKENS}/{token_id}", headers=admin.headers)
    assert (shown.json()["uses_allowed"], shown.status_code) == (None, 200)  # untouched


async def test_media_of_a_user_listed_quarantined_and_deleted(
    org_server: RevierProcess, admin: Admin, other_admin: Admin, http: httpx.AsyncClient
) -> None:
    localpart = f"uploader-{secrets.token_hex(4)}"
    user_id = org_server.create_user(localpart, PASSWORD)
    user = {"Host": "localhost", "Authorization": "Bearer " + _token(org_server, localpart)}
    uris = []
    for size in (10, 2000):
        r = await http.post(
            "/_matrix/media/v3/upload",
            content=secrets.token_bytes(size),
            headers={**user, "Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 200, r.text
        uris.append(r.json()["content_uri"])
    media = f"/_revier/admin/v1/users/{user_id}/media"

    listed = (await http.get(media, headers=admin.headers)).json()
    assert [(m["content_uri"], m["size"]) for m in listed["media"]] == list(
        zip(uris, (10, 2000), strict=True)
    )
    assert listed["total_bytes"] == 2010 and "next_token" not in listed
    page = (await http.get(media, params={"limit": 1}, headers=admin.headers)).json()
    assert [m["content_uri"] for m in page["media"]] == uris[:1]
    rest = await http.get(media, params={"from": page["next_token"]}, headers=admin.headers)
    assert [m["content_uri"] for m in rest.json()["media"]] == uris[1:]

    # The other tenant's admin finds neither the user nor the upload.
    r = await http.get(media, headers=other_admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    r = await http.delete(media, headers=other_admin.headers)
    assert r.status_code == 404
    quarantine = f"/_revier/admin/v1/media/{uris[0].removeprefix('mxc://')}/quarantine"
    r = await http.post(quarantine, headers=other_admin.headers)
    assert r.status_code == 404
    # Neither does the uploader.
    assert (await http.post(quarantine, headers=user)).status_code == 403

    download = f"/_matrix/client/v1/media/download/{uris[0].removeprefix('mxc://')}"
    assert (await http.get(download, headers=user)).status_code == 200
    r = await http.post(quarantine, headers=admin.headers)
    assert r.status_code == 200
    assert (await http.get(download, headers=user)).status_code == 404
    listed = (await http.get(media, headers=admin.headers)).json()
    assert [m["quarantined"] for m in listed["media"]] == [True, False]

    r = await http.delete(media, headers=admin.headers)
    assert r.json() == {"deleted": 2}
    assert (await http.get(media, headers=admin.headers)).json()["media"] == []
    download = f"/_matrix/client/v1/media/download/{uris[1].removeprefix('mxc://')}"
    assert (await http.get(download, headers=user)).status_code == 404

    found = await entries(org_server, admin, actor=admin.user_id, action="media.")
    assert [(e["action"], e["target"], e["details"]) for e in found] == [
        ("media.quarantined", uris[0], {}),
        ("media.deleted", user_id, {"count": 2, "bytes": 2010}),
    ]


@pytest.mark.one_engine  # the command line on PostgreSQL is covered by test_cli.py
async def test_the_command_line_is_audited_too(
    org_server: RevierProcess, admin: Admin, http: httpx.AsyncClient
) -> None:
    out = org_server.admin("registration-token", "create", "--uses", "2")
    token_id = out.split("token_id:")[1].split()[0]
    org_server.admin("registration-token", "delete", token_id)
    r = await http.post(
        "/_matrix/media/v3/upload",
        content=b"x" * 5,
        headers={**admin.headers, "Content-Type": "text/plain"},
    )
    uri = r.json()["content_uri"]
    org_server.admin("media", "quarantine", uri)
    org_server.admin("media", "quarantine", uri, "--release")
    org_server.admin("media", "delete-user-media", admin.user_id)

    found = await entries(org_server, admin, target=token_id)
    found += await entries(org_server, admin, target=uri)
    found += await entries(org_server, admin, target=admin.user_id, action="media.")
    assert [(e["action"], e["actor"], e["source"]) for e in found] == [
        ("registration_token.created", CLI_ACTOR, "local"),
        ("registration_token.deleted", CLI_ACTOR, "local"),
        ("media.quarantined", CLI_ACTOR, "local"),
        ("media.released", CLI_ACTOR, "local"),
        ("media.deleted", CLI_ACTOR, "local"),
    ]


def _token(server: RevierProcess, localpart: str) -> str:
    response = login(server, localpart, PASSWORD)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])
