"""The OAuth 2.0 API over raw HTTP, as a client and as an attacker drive it:
discovery, registration and its redirect URI rules, the authorization code
flow with PKCE, refresh rotation and replay, revocation, the device grant,
the tenant policy ``login``, and every refusal the issue lists."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import jsonschema
import orjson
import pytest

from tests.integration.conftest import LOOSE_LIMIT, server_fixture
from tests.integration.harness import INITIAL_ADMIN_PASSWORD, RevierProcess
from tests.integration.oauth import (
    AUTHORIZE,
    DEVICE,
    DEVICE_GRANT,
    METADATA,
    REDIRECT,
    REGISTER,
    RESET,
    REVOKE,
    TOKEN,
    VERIFY,
    Flow,
    callback_params,
    client_metadata,
    code_for,
    consent,
    csrf_of,
    exchange,
    hidden_fields,
    refresh,
    register,
    sign_in,
    whoami,
)
from tests.integration.spec import client_server_bundle
from tests.matrix_spec import spec_missing_reason

# localhost signs in through OAuth or with a password; other.test too (a second
# organisation); strict.test only through OAuth; legacy.test only with a password.
server = server_fixture(
    "oauth",
    tenant_policy={"login": "oauth", "max_devices_per_user": 3},
    extra_tenants=(
        ("other.test", {"login": "oauth"}),
        ("strict.test", {"login": "oauth_only"}),
        "legacy.test",
    ),
    ratelimit__login_per_address=LOOSE_LIMIT,
    ratelimit__registration_per_address=LOOSE_LIMIT,
)


@pytest.fixture
async def http(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.local_url, timeout=30) as client:
        yield client


@pytest.fixture
async def browser(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie jar on revier's pages (what a browser keeps between them)."""
    async with httpx.AsyncClient(base_url=server.local_url, timeout=30) as client:
        yield client


def host(name: str) -> dict[str, str]:
    return {"Host": name}


async def test_metadata_per_tenant(http: httpx.AsyncClient, server: RevierProcess) -> None:
    r = await http.get(METADATA)
    assert r.status_code == 200
    meta = r.json()
    base = server.local_url
    assert meta["issuer"] == base + "/"
    assert meta["authorization_endpoint"] == base + AUTHORIZE
    assert meta["token_endpoint"] == base + TOKEN
    assert meta["registration_endpoint"] == base + REGISTER
    assert meta["revocation_endpoint"] == base + REVOKE
    assert meta["device_authorization_endpoint"] == base + DEVICE
    assert meta["account_management_uri"] == base + "/_revier/account"
    assert {"code"} <= set(meta["response_types_supported"])
    assert {"authorization_code", "refresh_token", DEVICE_GRANT} <= set(
        meta["grant_types_supported"]
    )
    assert {"query", "fragment"} <= set(meta["response_modes_supported"])
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "org.matrix.device_delete" in meta["account_management_actions_supported"]
    # Element Web asks the unstable path first: the same answer.
    unstable = await http.get("/_matrix/client/unstable/org.matrix.msc2965/auth_metadata")
    assert unstable.json() == meta
    # Another organisation on the same server has its own issuer.
    other = (await http.get(METADATA, headers=host("other.test"))).json()
    assert other["issuer"] == "http://other.test/" != meta["issuer"]
    # A tenant that signs in with passwords only says so the spec's way, and
    # registers no client.
    r = await http.get(METADATA, headers=host("legacy.test"))
    assert (r.status_code, r.json()["errcode"]) == (404, "M_UNRECOGNIZED")
    r = await http.post(REGISTER, json=client_metadata(), headers=host("legacy.test"))
    assert (r.status_code, r.json()["errcode"]) == (404, "M_UNRECOGNIZED")
    r = await http.post(DEVICE, data={"client_id": "x"}, headers=host("legacy.test"))
    assert r.status_code == 404


async def test_metadata_matches_the_spec_schema(http: httpx.AsyncClient) -> None:
    """What schemathesis checks on the shared server (where the answer is the 404
    of a password-only tenant), here for the 200 of a tenant that offers OAuth."""
    if (no_spec := spec_missing_reason()) is not None:
        pytest.skip(no_spec)
    bundle = orjson.loads(client_server_bundle().read_bytes())
    operation = bundle["paths"]["/_matrix/client/v1/auth_metadata"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate((await http.get(METADATA)).json(), schema)


async def test_registration_answers_what_it_registered(http: httpx.AsyncClient) -> None:
    asked = client_metadata(
        grant_types=[
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ],
        **{"client_name#de": "Streifen-App"},
    )
    r = await http.post(REGISTER, json=asked)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["client_id"] and body["client_name"] == "Streife App"
    assert body["grant_types"] == ["authorization_code", "refresh_token"]  # unknown one dropped
    assert body["token_endpoint_auth_method"] == "none"
    assert "client_name#de" not in body
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        # web clients: https on the client's host only
        (
            {"application_type": "web", "redirect_uris": ["http://app.streife.test/cb"]},
            "invalid_redirect_uri",
        ),
        (
            {"application_type": "web", "redirect_uris": ["https://evil.test/cb"]},
            "invalid_redirect_uri",
        ),
        (
            {"application_type": "web", "redirect_uris": ["https://app.streife.test/cb#x"]},
            "invalid_redirect_uri",
        ),
        (
            {"application_type": "web", "redirect_uris": ["https://u:p@app.streife.test/cb"]},
            "invalid_redirect_uri",
        ),
        (
            {"application_type": "web", "redirect_uris": ["http://localhost/"]},
            "invalid_redirect_uri",
        ),
        # native clients: the spec's invalid examples
        ({"redirect_uris": ["example:/callback"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["test.streife.app://callback"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://localhost/callback"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://localhost:1234/callback"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://evil.test/callback"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": "http://127.0.0.1/"}, "invalid_client_metadata"),
        # the client itself
        ({"client_uri": "http://app.streife.test/"}, "invalid_client_metadata"),
        ({"client_uri": None}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "invalid_client_metadata"),
        ({"application_type": "desktop"}, "invalid_client_metadata"),
        ({"logo_uri": "https://evil.test/logo.png"}, "invalid_client_metadata"),
        ({"client_name": "x" * 300}, "invalid_client_metadata"),
    ],
)
async def test_registration_refuses(
    http: httpx.AsyncClient, overrides: dict[str, object], error: str
) -> None:
    body = {k: v for k, v in client_metadata(**overrides).items() if v is not None}
    r = await http.post(REGISTER, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == error


async def test_registration_refuses_what_is_not_json(http: httpx.AsyncClient) -> None:
    for content in (b"not json", b"[]", b"{" + b" " * 20_000 + b"}"):
        r = await http.post(REGISTER, content=content)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_client_metadata")


async def test_sign_in_refresh_revoke(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("officer")
    flow = Flow(await register(http))
    # Not signed in yet: the browser is sent to the sign-in page and back.
    r = await browser.get(flow.url())
    assert r.status_code == 303 and r.headers["location"].startswith("/_revier/signin?next=")
    await sign_in(browser, user)
    code = await code_for(browser, flow)
    r = await exchange(http, flow, code)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == flow.scope
    assert tokens["expires_in"] == 300 and r.headers["cache-control"] == "no-store"
    me = (await whoami(http, tokens["access_token"])).json()
    assert (me["user_id"], me["device_id"]) == (user.user_id, flow.device_id)

    r = await refresh(http, flow.client_id, tokens["refresh_token"])
    assert r.status_code == 200, r.text
    renewed = r.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert (await whoami(http, renewed["access_token"])).status_code == 200
    # The old access token ended with the refresh.
    assert (await whoami(http, tokens["access_token"])).status_code == 401

    r = await http.post(
        REVOKE, data={"token": renewed["access_token"], "client_id": flow.client_id}
    )
    assert r.status_code == 200
    gone = await whoami(http, renewed["access_token"])
    assert (gone.status_code, gone.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    r = await refresh(http, flow.client_id, renewed["refresh_token"])
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    # Revoking again, or a token never issued: 200, nothing to do (RFC 7009).
    for token in (renewed["access_token"], "made-up"):
        assert (await http.post(REVOKE, data={"token": token})).status_code == 200


async def test_fragment_mode_and_an_existing_device(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("officer")
    await sign_in(browser, user)
    flow = Flow(await register(http), response_mode="fragment")
    location = await consent(browser, flow.url())
    assert urlsplit(location).query == ""
    first = (await exchange(http, flow, callback_params(location, fragment=True)["code"])).json()
    # Signing in again as the same device replaces its tokens (spec).
    again = Flow(flow.client_id, device_id=flow.device_id)
    page = await browser.get(again.url())
    assert "existing device" in page.text or "your device" in page.text
    second = (await exchange(http, again, await code_for(browser, again))).json()
    assert (await whoami(http, first["access_token"])).status_code == 401
    me = (await whoami(http, second["access_token"])).json()
    assert me["device_id"] == flow.device_id


async def test_declined_consent_tells_the_client_nothing_else(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, make_user("officer"))
    flow = Flow(await register(http))
    params = callback_params(await consent(browser, flow.url(), decision="deny"))
    assert params == {
        "error": "access_denied",
        "error_description": "The user declined",
        "state": flow.state,
    }


async def test_pkce_is_required_and_checked(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, make_user("officer"))
    flow = Flow(await register(http))
    # Missing, or "plain": refused back to the client, before any consent.
    for overrides in (
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"code_challenge": "short"},
    ):
        r = await browser.get(flow.url(**overrides))
        assert r.status_code == 303
        params = callback_params(r.headers["location"])
        assert (params["error"], params["state"]) == ("invalid_request", flow.state)
        assert "code" not in params
    code = await code_for(browser, flow)
    other_verifier = Flow(flow.client_id).verifier
    for verifier in (None, other_verifier, "x"):
        r = await exchange(http, flow, code, code_verifier=verifier)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant"), verifier
    # The right verifier still works: a wrong guess did not burn the code.
    assert (await exchange(http, flow, code)).status_code == 200


async def test_a_reused_code_revokes_what_it_gave(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, make_user("officer"))
    flow = Flow(await register(http))
    code = await code_for(browser, flow)
    first = await exchange(http, flow, code)
    assert first.status_code == 200
    again = await exchange(http, flow, code)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert (await whoami(http, first.json()["access_token"])).status_code == 401
    r = await refresh(http, flow.client_id, first.json()["refresh_token"])
    assert r.status_code == 400


async def test_the_code_is_bound_to_client_and_redirect_uri(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, make_user("officer"))
    flow = Flow(await register(http))
    code = await code_for(browser, flow)
    thief = await register(http)
    for overrides in (
        {"client_id": thief},
        {"redirect_uri": "http://127.0.0.1:9/other"},
        {"grant_type": "password"},
    ):
        r = await exchange(http, flow, code, **overrides)
        assert r.status_code == 400 and r.json()["error"] in (
            "invalid_grant",
            "unsupported_grant_type",
        ), overrides
    assert (await exchange(http, flow, code)).status_code == 200


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.test/callback",
        "http://127.0.0.1.evil.test/callback",
        "http://127.0.0.1/callback/../../evil",
        "http://evil.test@127.0.0.1/callback",
        "test.streife.app:/other",
        "",
    ],
)
async def test_no_open_redirect(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user, redirect_uri: str
) -> None:  # type: ignore[no-untyped-def]
    """An unregistered redirect URI is an error shown on the page, whatever else
    is wrong with the request: the browser is sent nowhere."""
    await sign_in(browser, make_user("officer"))
    flow = Flow(await register(http), redirect_uri=redirect_uri)
    for overrides in ({}, {"response_type": "token"}, {"code_challenge": None}):
        r = await browser.get(flow.url(**overrides))
        assert r.status_code == 400 and "location" not in r.headers, r.text
        assert "did not register" in r.text


async def test_unknown_client_and_consent_forms_from_elsewhere(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, make_user("officer"))
    flow = Flow("no-such-client")
    r = await browser.get(flow.url(), headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert r.status_code == 400 and "location" not in r.headers
    assert "nicht registriert" in r.text
    flow = Flow(await register(http))
    page = await browser.get(flow.url())
    fields = {**hidden_fields(page.text), "decision": "allow"}
    # CSRF: without the form's token, or sent from another site.
    forged = {k: v for k, v in fields.items() if k != "csrf"}
    assert (await browser.post(AUTHORIZE, data=forged)).status_code == 403
    r = await browser.post(AUTHORIZE, data=fields, headers={"Origin": "https://evil.test"})
    assert r.status_code == 403
    # The consent page may post only to itself and to the app's redirect target.
    csp = page.headers["content-security-policy"]
    assert "form-action 'self' http://127.0.0.1:41234;" in csp


async def test_a_client_of_one_tenant_at_another(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, make_user("officer"))
    flow = Flow(await register(http))
    code = await code_for(browser, flow)
    # other.test's endpoints don't know localhost's client, code or tokens.
    r = await browser.get(flow.url(), headers=host("other.test"))
    assert r.status_code == 400 and "location" not in r.headers
    r = await http.post(
        TOKEN,
        headers=host("other.test"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow.redirect_uri,
            "client_id": flow.client_id,
            "code_verifier": flow.verifier,
        },
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_client")
    tokens = (await exchange(http, flow, code)).json()
    r = await http.get(
        "/_matrix/client/v3/account/whoami",
        headers={**host("other.test"), "Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert r.status_code == 401
    # Revoking at the other tenant revokes nothing here.
    await http.post(REVOKE, headers=host("other.test"), data={"token": tokens["access_token"]})
    assert (await whoami(http, tokens["access_token"])).status_code == 200


async def test_refresh_replay_revokes_the_session(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("officer")
    await sign_in(browser, user)
    flow = Flow(await register(http))
    first = (await exchange(http, flow, await code_for(browser, flow))).json()
    # A lost answer: the same refresh token again, before the new pair is used, works.
    lost = (await refresh(http, flow.client_id, first["refresh_token"])).json()
    second = (await refresh(http, flow.client_id, first["refresh_token"])).json()
    assert (await whoami(http, lost["access_token"])).status_code == 401
    assert (await whoami(http, second["access_token"])).status_code == 200
    # The new pair is in use: the old refresh token is spent. Someone replays it:
    r = await refresh(http, flow.client_id, first["refresh_token"])
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    # ... and the whole session is gone, the legitimate client's tokens too.
    gone = await whoami(http, second["access_token"])
    assert (gone.status_code, gone.json()["soft_logout"]) == (401, False)
    r = await refresh(http, flow.client_id, second["refresh_token"])
    assert r.status_code == 400
    # The help desk sees it, once.
    r = await http.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "admin", "password": INITIAL_ADMIN_PASSWORD},
    )
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await http.get(
        "/_revier/admin/v1/audit",
        params={"action": "oauth.session_revoked", "target": f"{user.user_id}/{flow.device_id}"},
        headers=admin,
    )
    entries = r.json()["entries"]
    assert [e["details"]["reason"] for e in entries] == ["refresh_replayed"]


async def test_refresh_needs_its_own_client(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, make_user("officer"))
    flow = Flow(await register(http))
    tokens = (await exchange(http, flow, await code_for(browser, flow))).json()
    r = await refresh(http, await register(http), tokens["refresh_token"])
    assert r.json()["error"] == "invalid_client"
    # The legacy POST /refresh takes no OAuth refresh token (and the session lives on).
    r = await http.post(
        "/_matrix/client/v3/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert r.status_code == 401
    assert (await refresh(http, flow.client_id, tokens["refresh_token"])).status_code == 200


async def test_token_endpoint_refuses_malformed_requests(http: httpx.AsyncClient) -> None:
    client_id = await register(http)
    cases = [
        ({"content": b"{}", "headers": {"Content-Type": "application/json"}}, "invalid_request"),
        ({"data": {}}, "invalid_request"),
        ({"data": {"grant_type": "password", "client_id": client_id}}, "unsupported_grant_type"),
        ({"data": {"grant_type": "authorization_code", "client_id": "nope"}}, "invalid_client"),
        (
            {
                "data": {
                    "grant_type": "authorization_code",
                    "client_id": client_id,
                    "code": "x" * 500,
                }
            },
            "invalid_grant",
        ),
        (
            {
                "content": "grant_type=a&grant_type=b",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            "invalid_request",
        ),
        (
            {
                "data": {
                    "grant_type": "refresh_token",
                    "client_id": client_id,
                    "refresh_token": "rvrt_x.y",
                }
            },
            "invalid_grant",
        ),
        (
            {"data": {"grant_type": DEVICE_GRANT, "client_id": client_id, "device_code": "nope"}},
            "invalid_grant",
        ),
        ({"data": {"x": "y" * 10_000}}, "invalid_request"),
    ]
    for kwargs, error in cases:
        r = await http.post(TOKEN, **kwargs)  # type: ignore[arg-type]
        assert (r.status_code, r.json()["error"]) == (400, error), (kwargs, r.text)
    r = await http.post(REVOKE, data={})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


async def test_device_grant(http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("officer")
    flow = Flow(await register(http))
    r = await http.post(DEVICE, data={"client_id": flow.client_id, "scope": flow.scope})
    assert r.status_code == 200, r.text
    grant = r.json()
    assert grant["interval"] == 5 and grant["expires_in"] == 600
    assert grant["verification_uri"].endswith(VERIFY)
    poll = {
        "grant_type": DEVICE_GRANT,
        "device_code": grant["device_code"],
        "client_id": flow.client_id,
    }
    r = await http.post(TOKEN, data=poll)
    assert r.json()["error"] == "authorization_pending"
    r = await http.post(TOKEN, data=poll)
    assert r.json()["error"] == "slow_down"  # faster than the interval

    # The person opens the verification page: signed in first, then the code.
    r = await browser.get(grant["verification_uri_complete"])
    assert r.status_code == 303 and r.headers["location"].startswith("/_revier/signin")
    await sign_in(browser, user)
    page = await browser.get(VERIFY)
    wrong = await browser.post(VERIFY, data={"csrf": csrf_of(page.text), "user_code": "BBBB-BBBB"})
    assert wrong.status_code == 404
    typed = grant["user_code"].lower().replace("-", "")  # as people type it
    confirm = await browser.post(VERIFY, data={"csrf": csrf_of(page.text), "user_code": typed})
    assert confirm.status_code == 200 and "Streife App" in confirm.text
    fields = hidden_fields(confirm.text)
    done = await browser.post(VERIFY, data={**fields, "decision": "allow"})
    assert done.status_code == 200 and 'class="done"' in done.text

    r = await http.post(TOKEN, data=poll)
    assert r.status_code == 200, r.text
    me = (await whoami(http, r.json()["access_token"])).json()
    assert (me["user_id"], me["device_id"]) == (user.user_id, flow.device_id)
    # The device code is spent; the user code leads nowhere now.
    assert (await http.post(TOKEN, data=poll)).json()["error"] == "invalid_grant"
    again = await browser.post(VERIFY, data={**fields, "decision": "allow"})
    assert again.status_code == 404


async def test_device_grant_declined_and_refused(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    flow = Flow(await register(http))
    bad_scopes = [
        "urn:matrix:client:api:*",
        f"urn:matrix:client:device:{flow.device_id}",
        "",
        "urn:matrix:client:api:* urn:matrix:client:device:short",
    ]
    for scope in bad_scopes:
        r = await http.post(DEVICE, data={"client_id": flow.client_id, "scope": scope})
        assert (r.status_code, r.json()["error"]) == (400, "invalid_scope"), scope
    no_device_grant = await register(http, grant_types=["authorization_code", "refresh_token"])
    r = await http.post(DEVICE, data={"client_id": no_device_grant, "scope": flow.scope})
    assert r.json()["error"] == "unauthorized_client"
    grant = (
        await http.post(DEVICE, data={"client_id": flow.client_id, "scope": flow.scope})
    ).json()
    await sign_in(browser, make_user("officer"))
    page = await browser.get(VERIFY)
    fields = {"csrf": csrf_of(page.text), "user_code": grant["user_code"]}
    assert (await browser.post(VERIFY, data={**fields, "decision": "deny"})).status_code == 200
    poll = {
        "grant_type": DEVICE_GRANT,
        "device_code": grant["device_code"],
        "client_id": flow.client_id,
    }
    assert (await http.post(TOKEN, data=poll)).json()["error"] == "access_denied"


async def test_the_unstable_scope_names_element_x_sends(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, make_user("officer"))
    flow = Flow(await register(http))
    scope = (
        "openid urn:matrix:org.matrix.msc2967.client:api:* "
        f"urn:matrix:org.matrix.msc2967.client:device:{flow.device_id}"
    )
    params = callback_params(await consent(browser, flow.url(scope=scope)))
    tokens = (await exchange(http, flow, params["code"])).json()
    # What was granted, in the names asked with ("openid" is not granted).
    assert tokens["scope"] == scope.removeprefix("openid ")
    assert (await whoami(http, tokens["access_token"])).json()["device_id"] == flow.device_id


async def test_the_device_limit_is_named_on_the_consent_page(
    server: RevierProcess, http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("limited")
    server.admin("device", "limit", user.user_id, "1")
    await sign_in(browser, user)
    client_id = await register(http)
    first = Flow(client_id)
    assert (await exchange(http, first, await code_for(browser, first))).status_code == 200
    second = Flow(client_id)
    page = await browser.get(second.url())
    assert page.status_code == 200 and 'id="devices"' in page.text
    assert first.device_id in page.text and 'id="allow"' not in page.text
    # A consent posted anyway (an old page) is refused the same way.
    fields = hidden_fields(
        (await browser.get(Flow(client_id, device_id=first.device_id).url())).text
    )
    fields["scope"] = second.scope
    r = await browser.post(AUTHORIZE, data={**fields, "decision": "allow"})
    assert r.status_code == 403 and 'id="devices"' in r.text


async def test_policy_oauth_only_refuses_passwords(
    http: httpx.AsyncClient, server: RevierProcess
) -> None:
    strict = host("strict.test")
    flows = (await http.get("/_matrix/client/v3/login", headers=strict)).json()["flows"]
    # Nor a login token: it is behind the password alone.
    assert flows == []
    server.create_user("alarm", "correct horse battery staple")  # localhost's
    r = await http.post(
        "/_matrix/client/v3/login",
        headers=strict,
        json={
            "type": "m.login.password",
            "user": "admin",
            "password": "initial-password-for-tests",
        },
    )
    assert (r.status_code, r.json()["errcode"]) == (400, "M_UNKNOWN")
    assert (await http.get(METADATA, headers=strict)).status_code == 200
    # Where passwords are allowed they still work.
    flows = (await http.get("/_matrix/client/v3/login")).json()["flows"]
    assert "m.login.password" in [f["type"] for f in flows]


async def test_no_token_or_code_in_the_log(
    server: RevierProcess, http: httpx.AsyncClient, browser: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(browser, make_user("officer"))
    flow = Flow(await register(http))
    code = await code_for(browser, flow)
    tokens = (await exchange(http, flow, code)).json()
    renewed = (await refresh(http, flow.client_id, tokens["refresh_token"])).json()
    await http.post(REVOKE, data={"token": renewed["refresh_token"]})
    log = server.log_path.read_text()
    for secret in (
        code,
        flow.verifier,
        tokens["access_token"],
        tokens["refresh_token"],
        renewed["access_token"],
    ):
        assert secret not in log
    assert REDIRECT  # the only URL that ever carries a secret is the client's redirect


async def test_cross_signing_reset_is_approved_on_the_page(
    http: httpx.AsyncClient, browser: httpx.AsyncClient, server: RevierProcess, make_user
) -> None:  # type: ignore[no-untyped-def]
    """The m.oauth stage (spec "OAuth authentication"): an app signed in through
    OAuth has no password to give; the person approves on revier's page."""
    user = make_user("officer")
    await sign_in(browser, user)
    flow = Flow(await register(http))
    tokens = (await exchange(http, flow, await code_for(browser, flow))).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    url = "/_matrix/client/v3/keys/device_signing/upload"

    def master_key() -> dict[str, object]:
        public = secrets.token_bytes(32).hex()[:43]
        return {"user_id": user.user_id, "usage": ["master"], "keys": {f"ed25519:{public}": public}}

    assert (
        await http.post(url, headers=auth, json={"master_key": master_key()})
    ).status_code == 200
    replacement = {"master_key": master_key()}
    r = await http.post(url, headers=auth, json=replacement)
    assert r.status_code == 401, r.text
    uia = r.json()
    assert [f["stages"] for f in uia["flows"]] == [["m.login.password"], ["m.oauth"]]
    approve_url = uia["params"]["m.oauth"]["url"]
    assert (
        approve_url
        == f"{server.local_url}/_revier/oauth2/cross_signing_reset?session={uia['session']}"
    )
    retry = {**replacement, "auth": {"session": uia["session"]}}
    assert (await http.post(url, headers=auth, json=retry)).status_code == 401  # not yet approved

    # Someone else, signed in, can't approve it.
    async with httpx.AsyncClient(base_url=server.local_url, timeout=30) as stranger:
        await sign_in(stranger, make_user("stranger"))
        page = await stranger.get(approve_url)
        r = await stranger.post(RESET, data={**hidden_fields(page.text)})
        assert r.status_code == 404
    page = await browser.get(approve_url)
    assert page.status_code == 200
    forged = {k: v for k, v in hidden_fields(page.text).items() if k != "csrf"}
    assert (await browser.post(RESET, data=forged)).status_code == 403
    r = await browser.post(RESET, data=hidden_fields(page.text))
    assert r.status_code == 200 and 'class="done"' in r.text

    assert (await http.post(url, headers=auth, json=retry)).status_code == 200
    # One approval, one upload.
    again = {"master_key": master_key(), "auth": {"session": uia["session"]}}
    assert (await http.post(url, headers=auth, json=again)).status_code == 401
