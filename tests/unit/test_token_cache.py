"""The access-token cache: a change of the user drops their tokens, and a token
read before such a change is not cached after it (it may have been wiped)."""

from __future__ import annotations

from tests.fake_clock import FakeClock

from revier.services.accounts.token_cache import TokenCache
from revier.storage.accounts.access_tokens import TokenAccount

ANNA = TokenAccount("@anna:p.example", "PHONE", "p.example", is_admin=False, deactivated=False)
BEN = TokenAccount("@ben:p.example", "LAPTOP", "p.example", is_admin=False, deactivated=False)


def test_a_change_of_the_user_drops_only_their_tokens() -> None:
    cache = TokenCache(FakeClock())
    cache.put(b"a", ANNA, read_at=cache.mark())
    cache.put(b"b", BEN, read_at=cache.mark())
    cache.on_change(frozenset({f"u:{ANNA.user_id}", "r:!room:p.example"}))
    assert cache.get(b"a") is None
    assert cache.get(b"b") == BEN


def test_entries_expire() -> None:
    clock = FakeClock()
    cache = TokenCache(clock, ttl_s=10)
    cache.put(b"a", ANNA, read_at=cache.mark())
    clock.now = 10.5
    assert cache.get(b"a") is None


def test_a_token_read_before_a_wipe_is_not_cached_after_it() -> None:
    cache = TokenCache(FakeClock())
    read_at = cache.mark()  # a request reads the token from the database...
    cache.on_change(frozenset({f"u:{ANNA.user_id}"}))  # ...a wipe commits and notifies...
    cache.put(b"a", ANNA, read_at=read_at)  # ...then the stale row would be cached
    assert cache.get(b"a") is None
    # Another user's change in between doesn't matter.
    read_at = cache.mark()
    cache.on_change(frozenset({f"u:{BEN.user_id}"}))
    cache.put(b"a", ANNA, read_at=read_at)
    assert cache.get(b"a") == ANNA


def test_forgetting_everything_refuses_older_reads() -> None:
    cache = TokenCache(FakeClock())
    read_at = cache.mark()
    cache.on_change(None)  # e.g. the Redis connection was lost
    cache.put(b"a", ANNA, read_at=read_at)
    assert cache.get(b"a") is None
    cache.put(b"a", ANNA, read_at=cache.mark())
    assert cache.get(b"a") == ANNA


def test_peek_outlives_the_ttl_but_not_a_change_of_the_user() -> None:
    # A long-poll woken minutes after its request was authenticated asks whether
    # its token still works: no read while nothing has touched the user.
    clock = FakeClock()
    cache = TokenCache(clock, ttl_s=10)
    cache.put(b"a", ANNA, read_at=cache.mark())
    clock.now = 300
    assert cache.peek(b"a") == ANNA
    cache.on_change(frozenset({f"u:{ANNA.user_id}"}))  # a wipe, a logout, a lock
    assert cache.peek(b"a") is None
