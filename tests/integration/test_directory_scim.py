"""SCIM 2.0 at /_revier/scim/v2: an identity provider creates, patches, moves and
deactivates users and groups (units) with the SCIM schemas; a wrong token and
another tenant's token are 401; bad input is 400 in SCIM's error format."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from scim2_models import Context, Error, Group, ListResponse, User

from tests.integration.admin_api import login
from tests.integration.conftest import LOOSE_LIMIT, running_server
from tests.integration.harness import INITIAL_ADMIN_PASSWORD, PASSWORD, RevierProcess

SCIM = "/_revier/scim/v2"
TOKEN = "scim-token-of-localhost-for-tests"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture(scope="module")
def server(engine: str, request: pytest.FixtureRequest, tmp_root: Path) -> Iterator[RevierProcess]:
    scim = {"token_sha256": [hashlib.sha256(TOKEN.encode()).hexdigest()]}
    with running_server(
        engine,
        request,
        tmp_root,
        "scim",
        extra_tenants=("other.test",),
        ratelimit__login_per_address=LOOSE_LIMIT,
        tenant_sections={"directory": {"scim": scim}},
    ) as revier:
        yield revier


@pytest.fixture(scope="module")
def other_token(server: RevierProcess) -> str:
    """A token issued for the other tenant (``revier admin directory scim-token``)."""
    out = server.admin("directory", "scim-token", "--tenant", "other.test")
    return out.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def scim(server: RevierProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url + SCIM,
        headers={"Authorization": f"Bearer {TOKEN}", "Host": "localhost"},
    ) as client:
        yield client


@pytest.fixture(scope="module")
def admin(server: RevierProcess) -> dict[str, str]:
    r = login(server, "admin", INITIAL_ADMIN_PASSWORD)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}", "Host": "localhost"}


def scim_error(r: httpx.Response, status: int, scim_type: str | None = None) -> Error:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/scim+json")
    assert r.json()["schemas"] == [ERROR_SCHEMA]
    error = Error.model_validate(r.json())
    assert error.status == status
    if scim_type is not None:
        assert error.scim_type == scim_type, r.text
    return error


def as_user(r: httpx.Response, status: int = 200) -> User[Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/scim+json")
    return User.model_validate(r.json(), scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def as_group(r: httpx.Response, status: int = 200) -> Group:
    assert r.status_code == status, r.text
    return Group.model_validate(r.json(), scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def new_user(scim: httpx.Client, user_name: str, display: str) -> User[Any]:
    body = {"schemas": [USER_SCHEMA], "userName": user_name, "displayName": display}
    return as_user(scim.post("/Users", json=body), 201)


def patch(scim: httpx.Client, path: str, *operations: dict[str, Any]) -> httpx.Response:
    return scim.patch(path, json={"schemas": [PATCH_SCHEMA], "Operations": list(operations)})


def test_a_wrong_or_missing_token_is_401(server: RevierProcess) -> None:
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": "Basic x"}):
        r = httpx.get(server.url + SCIM + "/Users", headers={"Host": "localhost", **headers})
        scim_error(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_another_tenants_token_is_401(server: RevierProcess, other_token: str) -> None:
    theirs = {"Authorization": f"Bearer {other_token}"}
    r = httpx.get(server.url + SCIM + "/Users", headers={"Host": "localhost", **theirs})
    scim_error(r, 401)
    # ... and ours is nothing on theirs, while theirs works there.
    ours = {"Authorization": f"Bearer {TOKEN}", "Host": "other.test"}
    scim_error(httpx.get(server.url + SCIM + "/Users", headers=ours), 401)
    r = httpx.get(server.url + SCIM + "/Users", headers={"Host": "other.test", **theirs})
    assert r.status_code == 200 and r.json()["totalResults"] == 0


def test_discovery_endpoints(scim: httpx.Client) -> None:
    config = scim.get("/ServiceProviderConfig")
    assert config.status_code == 200, config.text
    assert config.json()["patch"]["supported"] is True
    assert config.json()["bulk"]["supported"] is False
    types = scim.get("/ResourceTypes").json()
    assert {t["endpoint"] for t in types["Resources"]} == {"/Users", "/Groups"}
    schemas = scim.get("/Schemas").json()
    assert {s["id"] for s in schemas["Resources"]} == {USER_SCHEMA, GROUP_SCHEMA}
    assert scim.get(f"/Schemas/{USER_SCHEMA}").json()["name"] == "User"
    scim_error(scim.get("/Schemas/urn:nope"), 404)


def test_create_get_and_find_a_user(
    server: RevierProcess, scim: httpx.Client, admin: dict[str, str]
) -> None:
    user = new_user(scim, "dora.diehl", "Dora Diehl")
    assert user.id and user.user_name == "dora.diehl" and user.active is True
    assert user.meta is not None and user.meta.location is not None
    assert user.meta.location.endswith(f"/Users/{user.id}")
    assert as_user(scim.get(f"/Users/{user.id}")).display_name == "Dora Diehl"
    found = scim.get("/Users", params={"filter": 'userName eq "dora.diehl"'})
    assert found.status_code == 200, found.text
    page = ListResponse[User[Any]].model_validate(found.json())
    assert page.total_results == 1 and page.resources and page.resources[0].id == user.id
    none = scim.get("/Users", params={"filter": 'userName eq "nobody"'}).json()
    assert none["totalResults"] == 0
    # The account exists, with the name, and no password revier made up.
    r = httpx.get(server.url + "/_revier/admin/v1/users/@dora.diehl:localhost", headers=admin)
    assert r.status_code == 200 and r.json()["displayname"] == "Dora Diehl"
    assert login(server, "dora.diehl", "").status_code in (400, 403)
    # Taken names: a SCIM user's, and one made by hand.
    scim_error(
        scim.post("/Users", json={"schemas": [USER_SCHEMA], "userName": "dora.diehl"}),
        409,
        "uniqueness",
    )
    server.create_user("handmade", PASSWORD)
    scim_error(
        scim.post("/Users", json={"schemas": [USER_SCHEMA], "userName": "handmade"}),
        409,
        "uniqueness",
    )


def test_patch_and_replace_a_user(
    server: RevierProcess, scim: httpx.Client, admin: dict[str, str]
) -> None:
    user = new_user(scim, "emil.engel", "Emil Engel")
    changed = as_user(
        patch(
            scim,
            f"/Users/{user.id}",
            {"op": "replace", "path": "displayName", "value": "Emil Engel-Ernst"},
        )
    )
    assert changed.display_name == "Emil Engel-Ernst"
    profile = httpx.get(
        server.url + "/_matrix/client/v3/profile/@emil.engel:localhost", headers=admin
    )
    assert profile.json()["displayname"] == "Emil Engel-Ernst"
    body = {"schemas": [USER_SCHEMA], "userName": "emil.engel", "displayName": "E. Engel"}
    assert as_user(scim.put(f"/Users/{user.id}", json=body)).display_name == "E. Engel"
    # userName is the Matrix ID: it can't change.
    body["userName"] = "emil.other"
    scim_error(scim.put(f"/Users/{user.id}", json=body), 400, "mutability")


def test_groups_are_units_and_moving_a_member(
    server: RevierProcess, scim: httpx.Client, admin: dict[str, str]
) -> None:
    fritz = new_user(scim, "fritz.fuchs", "Fritz Fuchs")
    north = as_group(
        scim.post(
            "/Groups",
            json={
                "schemas": [GROUP_SCHEMA],
                "displayName": "Revier Nord",
                "members": [{"value": fritz.id}],
            },
        ),
        201,
    )
    south = as_group(
        scim.post(
            "/Groups",
            json={
                "schemas": [GROUP_SCHEMA],
                "displayName": "Revier Süd",
            },
        ),
        201,
    )
    assert north.members and north.members[0].value == fritz.id
    units = httpx.get(server.url + "/_revier/admin/v1/units", headers=admin).json()["units"]
    by_name = {u["name"]: u for u in units}
    assert by_name["Revier Nord"]["external_id"] == north.id
    members = httpx.get(
        f"{server.url}/_revier/admin/v1/units/{by_name['Revier Nord']['unit_id']}/members",
        headers=admin,
    )
    assert "@fritz.fuchs:localhost" in members.text
    assert [g.value for g in as_user(scim.get(f"/Users/{fritz.id}")).groups or []] == [north.id]
    # The move: out of north, into south.
    left = as_group(
        patch(
            scim, f"/Groups/{north.id}", {"op": "remove", "path": f'members[value eq "{fritz.id}"]'}
        )
    )
    assert not left.members
    joined = as_group(
        patch(
            scim,
            f"/Groups/{south.id}",
            {"op": "add", "path": "members", "value": [{"value": fritz.id}]},
        )
    )
    assert joined.members and joined.members[0].value == fritz.id
    assert [g.value for g in as_user(scim.get(f"/Users/{fritz.id}")).groups or []] == [south.id]
    found = scim.get("/Groups", params={"filter": 'displayName eq "Revier Süd"'}).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == south.id
    # A member that is no SCIM user is refused.
    scim_error(
        patch(
            scim,
            f"/Groups/{south.id}",
            {"op": "add", "path": "members", "value": [{"value": "nosuchuser"}]},
        ),
        400,
        "invalidValue",
    )
    assert scim.delete(f"/Groups/{north.id}").status_code == 204
    scim_error(scim.get(f"/Groups/{north.id}"), 404)


def test_deactivate_with_patch_and_delete(
    server: RevierProcess, scim: httpx.Client, admin: dict[str, str]
) -> None:
    gerd = new_user(scim, "gerd.gans", "Gerd Gans")
    off = as_user(patch(scim, f"/Users/{gerd.id}", {"op": "replace", "value": {"active": False}}))
    assert off.active is False
    account = httpx.get(server.url + "/_revier/admin/v1/users/@gerd.gans:localhost", headers=admin)
    assert account.json()["deactivated"] is True
    # A sync never reactivates: the identity provider is told so.
    scim_error(
        patch(scim, f"/Users/{gerd.id}", {"op": "replace", "path": "active", "value": True}),
        400,
        "mutability",
    )
    hanna = new_user(scim, "hanna.hahn", "Hanna Hahn")
    assert scim.delete(f"/Users/{hanna.id}").status_code == 204
    scim_error(scim.get(f"/Users/{hanna.id}"), 404)
    account = httpx.get(server.url + "/_revier/admin/v1/users/@hanna.hahn:localhost", headers=admin)
    assert account.json()["deactivated"] is True
    scim_error(scim.delete(f"/Users/{hanna.id}"), 404)


def test_bad_input_is_400_in_scims_error_format(scim: httpx.Client) -> None:
    bad_json = scim.post(
        "/Users", content=b"{not json", headers={"Content-Type": "application/scim+json"}
    )
    scim_error(bad_json, 400, "invalidSyntax")
    scim_error(scim.post("/Users", json=["a list"]), 400, "invalidSyntax")
    scim_error(scim.post("/Users", json={"schemas": [USER_SCHEMA]}), 400)
    scim_error(
        scim.post("/Users", json={"schemas": [USER_SCHEMA], "userName": "has space"}),
        400,
        "invalidValue",
    )
    scim_error(scim.post("/Users", json={"schemas": [USER_SCHEMA], "userName": 42}), 400)
    scim_error(scim.get("/Users", params={"filter": 'emails co "x"'}), 400, "invalidFilter")
    scim_error(scim.get("/Users", params={"startIndex": "one"}), 400, "invalidValue")
    ivan = new_user(scim, "ivan.igel", "Ivan Igel")
    scim_error(
        patch(scim, f"/Users/{ivan.id}", {"op": "frob", "path": "active", "value": False}), 400
    )
    scim_error(
        patch(scim, f"/Users/{ivan.id}", {"op": "replace", "path": "nosuch", "value": 1}), 400
    )
    scim_error(scim.get("/Users/0123456789abcdef0123456789abcdef"), 404)
    scim_error(scim.post("/Groups", json={"schemas": [GROUP_SCHEMA]}), 400)
    huge = {"schemas": [USER_SCHEMA], "userName": "x", "displayName": "y" * (2 * 1024 * 1024)}
    scim_error(scim.post("/Users", json=huge), 413)


def test_a_tenant_without_ldap_says_so(server: RevierProcess, admin: dict[str, str]) -> None:
    out = server.admin("directory", "sync", check=False)
    assert "the directory can't be read" in out and "no directory.ldap" in out
    r = httpx.post(server.url + "/_revier/admin/v1/directory/sync", json={}, headers=admin)
    assert r.status_code == 400 and r.json()["errcode"] == "M_UNKNOWN", r.text
