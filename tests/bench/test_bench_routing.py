"""The bench's load balancer for the workers shape: users stick to a worker, round robin;
the reference's endpoints go where its worker docs say."""

from __future__ import annotations

from bench.routing import SYNAPSE_WORKER_PATHS, Router

MAIN, W1, W2 = "http://main", "http://w1", "http://w2"


def test_users_stick_to_their_worker_round_robin() -> None:
    router = Router(main=W1, workers=[W1, W2])
    for k in range(4):
        router.remember(f"@u{k}:localhost", f"token{k}")
    router.remember("@u0:localhost", "second-device-of-u0")
    sync = "/_matrix/client/v3/sync"
    assert [router.base_for(sync, f"token{k}") for k in range(4)] == [W1, W2, W1, W2]
    # Every request of a user, from any of its devices, goes to that user's worker.
    assert router.base_for("/_matrix/client/v3/rooms/!r/messages", "token1") == W2
    assert router.base_for(sync, "second-device-of-u0") == W1
    assert router.spread() == {W1: 2, W2: 2}
    # Logins (no token yet) go round robin.
    login = "/_matrix/client/v3/login"
    assert {router.base_for(login, None) for _ in range(2)} == {W1, W2}


def test_reference_routes_what_a_generic_worker_serves_by_user_and_the_rest_to_main() -> None:
    router = Router(main=MAIN, workers=[W1, W2], worker_paths=SYNAPSE_WORKER_PATHS)
    router.remember("@a:localhost", "ta")
    router.remember("@b:localhost", "tb")
    to_worker = [
        "/_matrix/client/v3/sync",
        "/_matrix/client/v3/rooms/!r:localhost/send/m.room.message/txn1",
        "/_matrix/client/v3/join/!r:localhost",
        "/_matrix/client/v3/createRoom",
        "/_matrix/client/v3/keys/query",
        "/_matrix/client/v3/keys/claim",
    ]
    for path in to_worker:
        assert router.base_for(path, "tb") == W2, path
    to_main = [
        "/_synapse/admin/v1/register",
        "/_matrix/client/v3/rooms/!r:localhost/messages",
        "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync",
        "/_matrix/client/v3/keys/upload",
        "/_matrix/client/v3/pushers/set",
        "/_matrix/client/v3/rooms/!r:localhost/receipt/m.read/$e",
        "/_matrix/client/v3/logout",
    ]
    for path in to_main:
        assert router.base_for(path, "ta") == MAIN, path
