"""Keys, to-device messages and key backups over plain HTTP: races, attackers, restarts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import nacl.signing
from unpaddedbase64 import encode_base64

from revier.events.canonical_json import encode_canonical_json
from tests.integration.conftest import PASSWORD, Account, server_fixture
from tests.integration.harness import RevierProcess

V3 = "/_matrix/client/v3"


@dataclass
class Session:
    user_id: str
    device_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def log_in(http: httpx.AsyncClient, account: Account) -> Session:
    r = await http.post(
        f"{V3}/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": account.user_id},
            "password": account.password,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    return Session(body["user_id"], body["device_id"], body["access_token"])


def sign(obj: dict[str, Any], user_id: str, key_id: str, key: nacl.signing.SigningKey) -> None:
    unsigned = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    signature = encode_base64(key.sign(encode_canonical_json(unsigned)).signature)
    obj.setdefault("signatures", {}).setdefault(user_id, {})[key_id] = signature


def public(key: nacl.signing.SigningKey) -> str:
    return encode_base64(bytes(key.verify_key))


def device_keys(user_id: str, device_id: str, key: nacl.signing.SigningKey) -> dict[str, Any]:
    keys: dict[str, Any] = {
        "user_id": user_id,
        "device_id": device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"ed25519:{device_id}": public(key),
            f"curve25519:{device_id}": encode_base64(bytes(32)),
        },
    }
    sign(keys, user_id, f"ed25519:{device_id}", key)
    return keys


async def upload(http: httpx.AsyncClient, s: Session, **body: Any) -> httpx.Response:
    return await http.post(f"{V3}/keys/upload", headers=s.headers, json=body)


async def test_one_time_keys_are_claimed_at_most_once_under_concurrency(
    http: httpx.AsyncClient, make_user
) -> None:
    owner = await log_in(http, make_user("keys"))
    otks = {f"signed_curve25519:K{i:02d}": {"key": f"otk{i}"} for i in range(20)}
    fallback = {"signed_curve25519:FB": {"key": "fallback", "fallback": True}}
    r = await upload(http, owner, one_time_keys=otks, fallback_keys=fallback)
    assert r.json()["one_time_key_counts"]["signed_curve25519"] == 20
    claimers = [await log_in(http, make_user("claim")) for _ in range(5)]
    body = {"one_time_keys": {owner.user_id: {owner.device_id: "signed_curve25519"}}}

    async def claim(i: int) -> str:
        s = claimers[i % len(claimers)]
        r = await http.post(f"{V3}/keys/claim", headers=s.headers, json=body)
        assert r.status_code == 200, r.text
        (key_id,) = r.json()["one_time_keys"][owner.user_id][owner.device_id]
        return str(key_id)

    got = await asyncio.gather(*(claim(i) for i in range(50)))
    one_time = [k for k in got if k != "signed_curve25519:FB"]
    assert sorted(one_time) == sorted(otks)  # each exactly once
    assert got.count("signed_curve25519:FB") == 30
    r = await upload(http, owner)
    assert r.json()["one_time_key_counts"]["signed_curve25519"] == 0
    r = await http.get(f"{V3}/sync", headers=owner.headers)
    assert r.json()["device_unused_fallback_key_types"] == []


async def test_device_keys_only_for_my_own_device_and_never_replaced(
    http: httpx.AsyncClient, make_user
) -> None:
    account = make_user("me")
    me = await log_in(http, account)
    other_device = await log_in(http, account)
    victim = await log_in(http, make_user("victim"))
    key = nacl.signing.SigningKey.generate()
    for user_id, device_id in [
        (victim.user_id, victim.device_id),
        (me.user_id, other_device.device_id),
    ]:
        r = await upload(http, me, device_keys=device_keys(user_id, device_id, key))
        assert r.status_code == 400, r.text
    mine = device_keys(me.user_id, me.device_id, key)
    assert (await upload(http, me, device_keys=mine)).status_code == 200
    assert (await upload(http, me, device_keys=mine)).status_code == 200  # a retry is fine
    thief = device_keys(me.user_id, me.device_id, nacl.signing.SigningKey.generate())
    r = await upload(http, me, device_keys=thief)
    assert r.status_code == 400 and r.json()["errcode"] == "M_INVALID_PARAM"
    forged = device_keys(me.user_id, me.device_id, key)
    forged["keys"][f"curve25519:{me.device_id}"] = encode_base64(bytes([1] * 32))
    assert (await upload(http, me, device_keys=forged)).status_code == 400  # bad signature
    r = await http.post(
        f"{V3}/keys/query", headers=victim.headers, json={"device_keys": {me.user_id: []}}
    )
    devices = r.json()["device_keys"][me.user_id]
    assert devices[me.device_id]["keys"] == mine["keys"]
    assert devices[me.device_id]["unsigned"]["device_display_name"]
    # A one-time key ID can't be re-published with other content.
    assert (await upload(http, me, one_time_keys={"signed_curve25519:A": "x"})).status_code == 200
    r = await upload(http, me, one_time_keys={"signed_curve25519:A": "y"})
    assert r.status_code == 400


async def test_cross_signing(http: httpx.AsyncClient, make_user) -> None:
    account = make_user("xs")
    me = await log_in(http, account)
    peer = await log_in(http, make_user("peer"))
    dev_key = nacl.signing.SigningKey.generate()
    assert (
        await upload(http, me, device_keys=device_keys(me.user_id, me.device_id, dev_key))
    ).status_code == 200
    master, ssk, usk = (nacl.signing.SigningKey.generate() for _ in range(3))

    def xkey(usage: str, key: nacl.signing.SigningKey) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "user_id": me.user_id,
            "usage": [usage],
            "keys": {f"ed25519:{public(key)}": public(key)},
        }
        if usage != "master":
            sign(obj, me.user_id, f"ed25519:{public(master)}", master)
        return obj

    keys = {
        "master_key": xkey("master", master),
        "self_signing_key": xkey("self_signing", ssk),
        "user_signing_key": xkey("user_signing", usk),
    }
    bad = {**keys, "self_signing_key": {**keys["self_signing_key"], "signatures": {}}}
    url = f"{V3}/keys/device_signing/upload"
    r = await http.post(url, headers=me.headers, json=bad)
    assert r.status_code == 400 and r.json()["errcode"] == "M_INVALID_SIGNATURE"
    assert (await http.post(url, headers=me.headers, json=keys)).status_code == 200  # first: no UIA
    assert (await http.post(url, headers=me.headers, json=keys)).status_code == 200  # same again
    other = {"master_key": xkey("master", nacl.signing.SigningKey.generate())}
    r = await http.post(url, headers=me.headers, json=other)
    assert r.status_code == 401 and "session" in r.json()  # replacing needs the password
    auth = {"type": "m.login.password", "user": me.user_id, "password": PASSWORD}
    r = await http.post(
        url, headers=me.headers, json={**keys, "auth": {**auth, "session": r.json()["session"]}}
    )
    assert r.status_code == 200, r.text

    # My self-signing key signs my device; a forged signature is a failure.
    signed = device_keys(me.user_id, me.device_id, dev_key)
    sign(signed, me.user_id, f"ed25519:{public(ssk)}", ssk)
    forged = device_keys(me.user_id, me.device_id, dev_key)
    sign(forged, me.user_id, f"ed25519:{public(ssk)}", usk)
    r = await http.post(
        f"{V3}/keys/signatures/upload",
        headers=me.headers,
        json={me.user_id: {me.device_id: signed, "NOSUCHDEVICE": forged}},
    )
    assert r.status_code == 200
    assert set(r.json()["failures"][me.user_id]) == {"NOSUCHDEVICE"}
    query = {"device_keys": {me.user_id: []}}
    seen = (await http.post(f"{V3}/keys/query", headers=peer.headers, json=query)).json()
    device_sigs = seen["device_keys"][me.user_id][me.device_id]["signatures"][me.user_id]
    assert f"ed25519:{public(ssk)}" in device_sigs
    assert seen["master_keys"][me.user_id]["keys"] == keys["master_key"]["keys"]
    assert me.user_id in seen["self_signing_keys"]
    assert me.user_id not in seen["user_signing_keys"]  # only for its owner
    own = (await http.post(f"{V3}/keys/query", headers=me.headers, json=query)).json()
    assert me.user_id in own["user_signing_keys"]


async def test_key_backup_is_private_and_keeps_the_better_key(
    http: httpx.AsyncClient, make_user
) -> None:
    me = await log_in(http, make_user("backup"))
    thief = await log_in(http, make_user("thief"))
    algorithm = "m.megolm_backup.v1.curve25519-aes-sha2"
    r = await http.post(
        f"{V3}/room_keys/version",
        headers=me.headers,
        json={"algorithm": algorithm, "auth_data": {"public_key": "abc"}},
    )
    version = r.json()["version"]

    def key(index: int, verified: bool, forwarded: int = 0) -> dict[str, Any]:
        return {
            "first_message_index": index,
            "forwarded_count": forwarded,
            "is_verified": verified,
            "session_data": {"ciphertext": f"c{index}{verified}{forwarded}"},
        }

    url = f"{V3}/room_keys/keys/!room:localhost/sess1"
    r = await http.put(url, headers=me.headers, params={"version": version}, json=key(5, False))
    assert r.json() == {"etag": "1", "count": 1}
    for worse in (key(6, False), key(5, False, 1)):
        r = await http.put(url, headers=me.headers, params={"version": version}, json=worse)
        assert r.json()["etag"] == "1"  # kept the existing one
    await http.put(url, headers=me.headers, params={"version": version}, json=key(9, True))
    r = await http.get(url, headers=me.headers, params={"version": version})
    assert r.json() == key(9, True)  # verified wins over a lower index

    # Not the current version: refused, naming the current one.
    r = await http.put(url, headers=me.headers, params={"version": "999"}, json=key(1, True))
    assert r.status_code == 403
    assert r.json() == {
        **r.json(),
        "errcode": "M_WRONG_ROOM_KEYS_VERSION",
        "current_version": version,
    }

    # Someone else sees no backup and can't write into mine.
    assert (await http.get(f"{V3}/room_keys/version", headers=thief.headers)).status_code == 404
    r = await http.get(f"{V3}/room_keys/version/{version}", headers=thief.headers)
    assert r.status_code == 404
    r = await http.get(f"{V3}/room_keys/keys", headers=thief.headers, params={"version": version})
    assert r.status_code == 404
    r = await http.put(url, headers=thief.headers, params={"version": version}, json=key(0, True))
    assert r.status_code == 404
    r = await http.get(f"{V3}/room_keys/keys", headers=me.headers, params={"version": version})
    assert r.json()["rooms"]["!room:localhost"]["sessions"]["sess1"] == key(9, True)
    r = await http.get(f"{V3}/room_keys/version", headers=me.headers)
    assert r.json()["count"] == 1 and r.json()["version"] == version
    r = await http.delete(f"{V3}/room_keys/version/{version}", headers=thief.headers)
    assert r.status_code == 404
    assert (await http.delete(f"{V3}/room_keys/version/{version}", headers=me.headers)).is_success
    assert (await http.get(f"{V3}/room_keys/version", headers=me.headers)).status_code == 404


restartable = server_fixture("e2e", scope="function", tenant_policy={"room_encryption": "default"})


async def test_to_device_is_private_ordered_exactly_once_and_survives_a_restart(
    restartable: RevierProcess,
) -> None:
    accounts = []
    for name in ("alice", "bob", "mallory"):
        restartable.create_user(name, PASSWORD)
        accounts.append(Account(f"@{name}:localhost", name, PASSWORD))
    async with httpx.AsyncClient(base_url=restartable.url, timeout=30) as http:
        alice, bob, mallory = [await log_in(http, a) for a in accounts]
        since = {}
        for s in (bob, mallory):
            since[s.device_id] = (await http.get(f"{V3}/sync", headers=s.headers)).json()[
                "next_batch"
            ]
        for i in range(130):
            messages = {bob.user_id: {bob.device_id: {"n": i}}, "@x:elsewhere.example": {"*": {}}}
            r = await http.put(
                f"{V3}/sendToDevice/m.test/txn{i}",
                headers=alice.headers,
                json={"messages": messages},
            )
            assert r.status_code == 200, r.text
        # A retried transaction sends nothing twice.
        r = await http.put(
            f"{V3}/sendToDevice/m.test/txn0",
            headers=alice.headers,
            json={"messages": {bob.user_id: {bob.device_id: {"n": "again"}}}},
        )
        assert r.status_code == 200
        r = await http.get(
            f"{V3}/sync", headers=mallory.headers, params={"since": since[mallory.device_id]}
        )
        assert r.json()["to_device"]["events"] == []
        # The encryption-by-default policy, while this server is up.
        r = await http.post(f"{V3}/createRoom", headers=alice.headers, json={})
        room_id = r.json()["room_id"]
        r = await http.get(f"{V3}/rooms/{room_id}/state/m.room.encryption", headers=alice.headers)
        assert r.json()["algorithm"] == "m.megolm.v1.aes-sha2"

    restartable.stop()
    restartable.start()
    async with httpx.AsyncClient(base_url=restartable.url, timeout=30) as http:
        token = since[bob.device_id]
        got: list[Any] = []
        for _ in range(4):
            r = await http.get(f"{V3}/sync", headers=bob.headers, params={"since": token})
            events = r.json()["to_device"]["events"]
            assert len(events) <= 100
            got += [e["content"]["n"] for e in events if e["type"] == "m.test"]
            assert all(e["sender"] == alice.user_id for e in events)
            token = r.json()["next_batch"]
        assert got == list(range(130))  # in order, each once, across the cap
        # Acknowledged by the later tokens: deleted for good, even for the old token.
        r = await http.get(
            f"{V3}/sync", headers=bob.headers, params={"since": since[bob.device_id]}
        )
        assert r.json()["to_device"]["events"] == []


async def test_device_list_change_wakes_a_waiting_sync(http: httpx.AsyncClient, make_user) -> None:
    alice_account = make_user("alice")
    alice = await log_in(http, alice_account)
    bob = await log_in(http, make_user("bob"))
    r = await http.post(f"{V3}/createRoom", headers=alice.headers, json={"invite": [bob.user_id]})
    room_id = r.json()["room_id"]
    assert (await http.post(f"{V3}/join/{room_id}", headers=bob.headers)).is_success
    token = (await http.get(f"{V3}/sync", headers=bob.headers)).json()["next_batch"]

    async def waiting_sync() -> dict[str, Any]:
        r = await http.get(
            f"{V3}/sync", headers=bob.headers, params={"since": token, "timeout": 20000}
        )
        return dict(r.json())

    task = asyncio.create_task(waiting_sync())
    started = time.monotonic()
    alice2 = await log_in(http, alice_account)
    key = nacl.signing.SigningKey.generate()
    await upload(http, alice2, device_keys=device_keys(alice.user_id, alice2.device_id, key))
    body = await task
    assert time.monotonic() - started < 10
    assert alice.user_id in body["device_lists"]["changed"]
    r = await http.get(
        f"{V3}/keys/changes", headers=bob.headers, params={"from": token, "to": body["next_batch"]}
    )
    assert alice.user_id in r.json()["changed"]

    # Alice leaves the only room they share: Bob stops tracking her.
    token = body["next_batch"]
    await http.post(f"{V3}/rooms/{room_id}/leave", headers=alice.headers)
    r = await http.get(f"{V3}/sync", headers=bob.headers, params={"since": token, "timeout": 10000})
    assert alice.user_id in r.json()["device_lists"]["left"]


async def test_own_new_renamed_and_deleted_devices_are_in_own_device_lists(
    http: httpx.AsyncClient, make_user
) -> None:
    """A user's other devices keep their list of the user's own devices current, even
    for a device that has no keys (yet)."""
    account = make_user("owner")
    phone = await log_in(http, account)
    token = (await http.get(f"{V3}/sync", headers=phone.headers)).json()["next_batch"]

    async def changed_since(since: str) -> tuple[bool, str]:
        r = await http.get(
            f"{V3}/sync", headers=phone.headers, params={"since": since, "timeout": 10_000}
        )
        body = r.json()
        return account.user_id in body.get("device_lists", {}).get("changed", []), body[
            "next_batch"
        ]

    laptop = await log_in(http, account)
    seen, token = await changed_since(token)
    assert seen, "a new device"
    r = await http.put(
        f"{V3}/devices/{laptop.device_id}", headers=phone.headers, json={"display_name": "Laptop"}
    )
    assert r.is_success, r.text
    seen, token = await changed_since(token)
    assert seen, "a renamed device"
    auth = {"type": "m.login.password", "user": account.user_id, "password": PASSWORD}
    r = await http.request(
        "DELETE", f"{V3}/devices/{laptop.device_id}", headers=phone.headers, json={"auth": auth}
    )
    assert r.is_success, r.text
    seen, token = await changed_since(token)
    assert seen, "a deleted device"
