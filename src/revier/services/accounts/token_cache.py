"""Validated access tokens, remembered briefly so most requests skip the token query."""

from __future__ import annotations

from revier.services.core import Clock
from revier.storage.accounts.access_tokens import TokenAccount


class TokenCache:
    """Recently validated access tokens, so most requests skip the token query.

    An entry lives at most ``ttl_s`` seconds, and is dropped as soon as this
    worker hears of any change to its user (logout, device deletion, wipe,
    password reset, deactivation all notify the user, across workers through
    Redis). The TTL bounds what no notification reaches: changes made by the
    admin command line in another process.

    A token read from the database just before a wipe committed must not be
    cached after the wipe's notification dropped it (it would live on for a
    TTL): ``put`` takes the ``mark()`` from before the read and refuses an
    entry whose user changed since.
    """

    def __init__(self, clock: Clock, ttl_s: float = 10.0, max_entries: int = 100_000) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: dict[bytes, tuple[float, TokenAccount]] = {}
        self._by_user: dict[str, set[bytes]] = {}
        # Changes counted, and the count at each user's last change (forgotten
        # below ``_floor`` to bound memory; a read older than that is not cached).
        self._changes = 0
        self._changed_at: dict[str, int] = {}
        self._floor = 0

    def get(self, token_hash: bytes) -> TokenAccount | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if entry[0] < self._clock.monotonic():
            self._drop(token_hash)
            return None
        return entry[1]

    def peek(self, token_hash: bytes) -> TokenAccount | None:
        """The entry whatever its age. Entries are dropped by every change naming
        their user, so one still here says the token was valid when read and
        nothing this worker heard of has touched its user since: what a
        long-poll that outlived the TTL needs to know (``session_alive``)."""
        entry = self._entries.get(token_hash)
        return None if entry is None else entry[1]

    def mark(self) -> int:
        """Taken before reading a token from the database; passed to ``put``."""
        return self._changes

    def put(self, token_hash: bytes, account: TokenAccount, *, read_at: int) -> None:
        if read_at < self._floor or self._changed_at.get(account.user_id, -1) > read_at:
            return  # the user changed while the token was read: maybe it is gone
        if len(self._entries) >= self._max:
            self._entries.clear()
            self._by_user.clear()
        self._entries[token_hash] = (self._clock.monotonic() + self._ttl_s, account)
        self._by_user.setdefault(account.user_id, set()).add(token_hash)

    def on_change(self, keys: frozenset[str] | None) -> None:
        """Notifier listener: forget the tokens of every user a change names."""
        self._changes += 1
        if keys is None or len(self._changed_at) >= self._max:
            self._floor = self._changes
            self._changed_at.clear()
        if keys is None:
            self._entries.clear()
            self._by_user.clear()
            return
        for key in keys:
            if key.startswith("u:"):
                self._changed_at[key[2:]] = self._changes
                for token_hash in self._by_user.pop(key[2:], ()):
                    self._entries.pop(token_hash, None)

    def drop(self, token_hash: bytes) -> None:
        """Forget one token: the next request reads it again."""
        self._drop(token_hash)

    def _drop(self, token_hash: bytes) -> None:
        entry = self._entries.pop(token_hash, None)
        if entry is not None:
            hashes = self._by_user.get(entry[1].user_id)
            if hashes is not None:
                hashes.discard(token_hash)
