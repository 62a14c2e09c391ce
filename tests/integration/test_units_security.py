"""Attacks on the units admin API: callers who aren't admins, another tenant's
admin, malformed and oversized input, rooms the service account can't act in
— each refused with the spec's error JSON, never a 5xx."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.integration.admin_api import Admin, login, shared_member
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.units import UNITS, UnitsApi, fixtures, own_room

http, api, login_nio = fixtures()


def refused(response: httpx.Response, status: int, errcode: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["errcode"] == errcode, response.text


async def test_only_the_tenants_admins(
    org_server: RevierProcess, api: UnitsApi, http: httpx.AsyncClient
) -> None:
    unit = await api.unit("Personalstelle")
    member = UnitsApi(http, shared_member(org_server))
    for method, path, body in [
        ("GET", UNITS, None),
        ("POST", UNITS, {"name": "Eigenmächtig"}),
        ("GET", f"{UNITS}/{unit['unit_id']}", None),
        ("PATCH", f"{UNITS}/{unit['unit_id']}", {"name": "x"}),
        ("DELETE", f"{UNITS}/{unit['unit_id']}", None),
        ("POST", f"{UNITS}/{unit['unit_id']}/members", {"user_id": member.who.user_id}),
        ("GET", f"{UNITS}/{unit['unit_id']}/members", None),
    ]:
        refused(await member.call(method, path, body), 403, "M_FORBIDDEN")
    nobody = await http.get(UNITS, headers={"Host": "localhost"})
    refused(nobody, 401, "M_MISSING_TOKEN")

    # A token that was valid once.
    localpart = "unit-revoked"
    org_server.create_user(localpart, PASSWORD, "--admin")
    token = login(org_server, localpart, PASSWORD).json()["access_token"]
    gone = Admin(f"@{localpart}:localhost", "localhost", token)
    assert (await http.post("/_matrix/client/v3/logout", headers=gone.headers)).status_code == 200
    refused(await UnitsApi(http, gone).call("GET", UNITS), 401, "M_UNKNOWN_TOKEN")


async def test_another_tenants_units_are_not_found(
    api: UnitsApi, http: httpx.AsyncClient, other_admin: Admin
) -> None:
    ours = await api.unit("Staatsschutz")
    theirs = UnitsApi(http, other_admin)
    unit_path = f"{UNITS}/{ours['unit_id']}"
    for method, path, body in [
        ("GET", unit_path, None),
        ("PATCH", unit_path, {"name": "übernommen"}),
        ("DELETE", unit_path, None),
        ("POST", f"{unit_path}/rooms", {"rule": "auto_join", "name": "fremd"}),
        ("POST", f"{unit_path}/members", {"user_id": other_admin.user_id}),
        ("GET", f"{unit_path}/members", None),
        ("POST", UNITS, {"name": "Unterwandert", "parent_id": ours["unit_id"]}),
    ]:
        refused(await theirs.call(method, path, body), 404, "M_NOT_FOUND")
    listed = await theirs.ok("GET", UNITS)
    assert ours["unit_id"] not in str(listed)
    assert (await api.ok("GET", unit_path))["name"] == "Staatsschutz"

    # Their users and rooms are not found from here either.
    their_unit = await theirs.unit("Fremde Einheit")
    their_room = await theirs.attach(their_unit["unit_id"], "auto_join", name="Fremder Raum")
    refused(
        await api.call("POST", f"{unit_path}/members", {"user_id": other_admin.user_id}),
        404,
        "M_NOT_FOUND",
    )
    refused(
        await api.call("POST", f"{unit_path}/rooms", {"rule": "invite", "room_id": their_room}),
        404,
        "M_NOT_FOUND",
    )


BAD: list[tuple[str, str, Any, int, str]] = [
    ("POST", "", {}, 400, "M_MISSING_PARAM"),
    ("POST", "", {"name": 5}, 400, "M_BAD_JSON"),
    ("POST", "", {"name": "  "}, 400, "M_INVALID_PARAM"),
    ("POST", "", {"name": "x" * 256}, 400, "M_INVALID_PARAM"),
    ("POST", "", {"name": "a\u0000b"}, 400, "M_INVALID_PARAM"),
    ("POST", "", {"name": "x", "parent_id": "nope"}, 404, "M_NOT_FOUND"),
    ("POST", "", {"name": "x", "parent_id": 7}, 400, "M_BAD_JSON"),
    ("POST", "", [], 400, "M_BAD_JSON"),
    ("PATCH", "/{unit}", {}, 400, "M_INVALID_PARAM"),
    ("PATCH", "/{unit}", {"parent_id": "nope"}, 404, "M_NOT_FOUND"),
    ("PATCH", "/{unit}", {"parent_id": "{unit}"}, 400, "M_INVALID_PARAM"),
    ("GET", "/" + "u" * 300, None, 400, "M_INVALID_PARAM"),
    ("GET", "/nope", None, 404, "M_NOT_FOUND"),
    ("POST", "/{unit}/rooms", {"rule": "bogus", "name": "x"}, 400, "M_INVALID_PARAM"),
    ("POST", "/{unit}/rooms", {"rule": "invite"}, 400, "M_INVALID_PARAM"),
    (
        "POST",
        "/{unit}/rooms",
        {"rule": "invite", "name": "x", "room_id": "!a:localhost"},
        400,
        "M_INVALID_PARAM",
    ),
    ("POST", "/{unit}/rooms", {"rule": "invite", "room_id": "not-a-room"}, 400, "M_INVALID_PARAM"),
    ("POST", "/{unit}/rooms", {"rule": "invite", "room_id": "!nope:localhost"}, 404, "M_NOT_FOUND"),
    ("POST", "/{unit}/rooms", {"rule": "invite", "room_id": "{space}"}, 400, "M_INVALID_PARAM"),
    ("DELETE", "/{unit}/rooms/!nope:localhost", None, 404, "M_NOT_FOUND"),
    (
        "POST",
        "/{unit}/members",
        {"user_id": "@x:localhost", "role": "boss"},
        400,
        "M_INVALID_PARAM",
    ),
    ("POST", "/{unit}/members", {"user_id": "@nobody:localhost"}, 404, "M_NOT_FOUND"),
    ("POST", "/{unit}/members", {"user_id": "not an id"}, 404, "M_NOT_FOUND"),
    ("POST", "/{unit}/members", {"members": ["@x:localhost"]}, 400, "M_BAD_JSON"),
    (
        "POST",
        "/{unit}/members",
        {"members": [{"user_id": f"@u{i}:localhost"} for i in range(5001)]},
        400,
        "M_INVALID_PARAM",
    ),
    ("DELETE", "/{unit}/members/@nobody:localhost", None, 404, "M_NOT_FOUND"),
    ("GET", "/{unit}/members?limit=0", None, 400, "M_INVALID_PARAM"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "errcode"), BAD)
async def test_bad_input_gets_the_spec_error(
    api: UnitsApi, method: str, path: str, body: Any, status: int, errcode: str
) -> None:
    unit = await api.unit("Prüfstelle")
    fill = {"{unit}": unit["unit_id"], "{space}": unit["space_room_id"]}
    for key, value in fill.items():
        path = path.replace(key, value)
        if isinstance(body, dict):
            body = {k: v.replace(key, value) if isinstance(v, str) else v for k, v in body.items()}
    response = await api.call(method, UNITS + path, body)
    refused(response, status, errcode)


async def test_not_json(api: UnitsApi, http: httpx.AsyncClient) -> None:
    response = await http.post(UNITS, content=b"{name", headers=api.who.headers)
    refused(response, 400, "M_NOT_JSON")


async def test_a_room_the_service_account_cant_act_in(
    api: UnitsApi, http: httpx.AsyncClient, login_nio: Any
) -> None:
    owner = await login_nio()
    unit = await api.unit("Fahndung")
    created = await owner.room_create(name="Privat")
    refused(
        await api.call(
            "POST",
            f"{UNITS}/{unit['unit_id']}/rooms",
            {"rule": "auto_join", "room_id": created.room_id},
        ),
        403,
        "M_FORBIDDEN",
    )
    # Invited without power: still refused, for every rule.
    weak = await owner.room_create(name="Ohne Macht", invite=["@_units:localhost"])
    for rule in ("auto_join", "invite", "announce"):
        refused(
            await api.call(
                "POST", f"{UNITS}/{unit['unit_id']}/rooms", {"rule": rule, "room_id": weak.room_id}
            ),
            403,
            "M_FORBIDDEN",
        )
    strong = await own_room(owner, "Mit Macht")
    assert await api.attach(unit["unit_id"], "announce", room_id=strong) == strong
    # The service account exists from start-up on, so nobody can register its name.
    account = await api.ok("GET", "/_revier/admin/v1/users/" + quote("@_units:localhost"))
    assert account["admin"] is False
