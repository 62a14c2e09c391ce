"""User-interactive auth: a session approves one request of one user, no other."""

from __future__ import annotations

import httpx

from tests.integration.steps import V3, Session, log_in, people

PASSWORD_STAGE = "m.login.password"


def password_auth(s: Session, password: str, session: str, user: str | None = None) -> dict:  # type: ignore[type-arg]
    return {
        "type": PASSWORD_STAGE,
        "identifier": {"type": "m.id.user", "user": user or s.user_id},
        "password": password,
        "session": session,
    }


async def test_authenticating_as_another_user_is_forbidden(
    http: httpx.AsyncClient, make_user
) -> None:
    anna_account, bernd_account = make_user("anna"), make_user("bernd")
    anna = await log_in(http, anna_account)
    spare = await log_in(http, anna_account)
    await log_in(http, bernd_account)
    url = f"{V3}/delete_devices"
    first = await http.post(url, headers=anna.headers, json={"devices": [spare.device_id]})
    assert first.status_code == 401
    session = first.json()["session"]
    # Bernd's correct password, given for Anna's request: refused outright, not retried.
    auth = password_auth(anna, bernd_account.password, session, user=bernd_account.user_id)
    r = await http.post(
        url, headers=anna.headers, json={"devices": [spare.device_id], "auth": auth}
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    devices = (await http.get(f"{V3}/devices", headers=anna.headers)).json()["devices"]
    assert spare.device_id in [d["device_id"] for d in devices]


async def test_a_session_cannot_be_carried_to_another_request_or_user(
    http: httpx.AsyncClient, make_user
) -> None:
    account = make_user("anna")
    anna = await log_in(http, account)
    one, two = await log_in(http, account), await log_in(http, account)
    url = f"{V3}/delete_devices"
    first = await http.post(url, headers=anna.headers, json={"devices": [one.device_id]})
    session = first.json()["session"]
    auth = password_auth(anna, account.password, session)
    # Same endpoint, other devices: the session was opened for deleting `one` only.
    r = await http.post(url, headers=anna.headers, json={"devices": [two.device_id], "auth": auth})
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    # Another endpoint with the same session: refused as well.
    r = await http.post(
        f"{V3}/account/password",
        headers=anna.headers,
        json={"new_password": "a brand new password 42", "auth": auth},
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    # Someone else presenting Anna's session.
    (bernd,) = await people(http, make_user, "bernd")
    r = await http.post(url, headers=bernd.headers, json={"devices": [], "auth": auth})
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    # The request it was opened for still goes through.
    r = await http.post(url, headers=anna.headers, json={"devices": [one.device_id], "auth": auth})
    assert r.status_code == 200, r.text
    devices = (await http.get(f"{V3}/devices", headers=anna.headers)).json()["devices"]
    assert {d["device_id"] for d in devices} == {anna.device_id, two.device_id}
