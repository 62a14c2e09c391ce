"""Which process a request goes to when a server runs as several: the bench's load balancer.

A real installation puts a reverse proxy in front of the processes; the bench
client picks the process itself, the way such a proxy would, so that no proxy's
cost is measured:

- every user sticks to one worker, given round robin in the order the users are
  first seen (a load balancer with sticky sessions, keyed on the access token's user);
- requests without an access token (login) go round robin;
- revier: every process serves every endpoint, so all of a user's requests go to
  that user's worker;
- Synapse: only the endpoints its docs (docs/workers.md, "synapse.app.generic_worker")
  list for a generic worker go to the user's worker — /sync, room sends, joins,
  createRoom, login, keys query/claim, and the rest of that list; everything else
  goes to the main process: its admin API (registration), /messages (its docs want
  one process per room for pagination), sliding sync (not in that list), key and
  device uploads (the device_lists stream's writer, the main process by default),
  pushers, receipts, account data.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

_V = r"(api/v1|r0|v3|unstable)"
_V3 = r"(r0|v3|unstable)"
# From Synapse's docs/workers.md: the generic worker's client endpoints (sync,
# client API, encryption reads, login and registration, event sending).
SYNAPSE_WORKER_PATHS = re.compile(
    "|".join(
        [
            r"^/_matrix/client/(r0|v3)/sync$",
            r"^/_matrix/client/(api/v1|r0|v3)/events$",
            r"^/_matrix/client/(api/v1|r0|v3)/initialSync$",
            r"^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$",
            rf"^/_matrix/client/{_V}/createRoom$",
            rf"^/_matrix/client/{_V}/publicRooms$",
            rf"^/_matrix/client/{_V}/rooms/.*/(joined_members|members|state)$",
            rf"^/_matrix/client/{_V}/rooms/.*/context/.*$",
            rf"^/_matrix/client/{_V}/rooms/.*/event/",
            rf"^/_matrix/client/{_V}/joined_rooms$",
            rf"^/_matrix/client/{_V3}/account/whoami$",
            r"^/_matrix/client/versions$",
            rf"^/_matrix/client/{_V3}/capabilities$",
            rf"^/_matrix/client/{_V3}/user/.*/filter(/|$)",
            rf"^/_matrix/client/{_V3}/keys/(query|changes|claim)$",
            rf"^/_matrix/client/{_V}/login$",
            rf"^/_matrix/client/{_V3}/register$",
            rf"^/_matrix/client/{_V}/rooms/.*/redact",
            rf"^/_matrix/client/{_V}/rooms/.*/send",
            rf"^/_matrix/client/{_V}/rooms/.*/state/",
            rf"^/_matrix/client/{_V}/rooms/.*/(join|invite|leave|ban|unban|kick)$",
            rf"^/_matrix/client/{_V}/join/",
            rf"^/_matrix/client/{_V}/profile/",
        ]
    )
)


@dataclass
class Router:
    """``main``: where the rest goes; ``workers``: the processes users stick to;
    ``worker_paths``: the paths a worker serves (None: all of them)."""

    main: str
    workers: list[str]
    worker_paths: re.Pattern[str] | None = None
    _user_of_token: dict[str, str] = field(default_factory=dict)
    _slot_of_user: dict[str, int] = field(default_factory=dict)
    _anonymous: itertools.count[int] = field(default_factory=itertools.count)

    def remember(self, user_id: str, access_token: str) -> None:
        """A login's token: from now on it is that user's (and that user's worker's)."""
        self._user_of_token[access_token] = user_id
        self._slot_of_user.setdefault(user_id, len(self._slot_of_user) % len(self.workers))

    def worker_of(self, access_token: str) -> str:
        user = self._user_of_token.get(access_token)
        if user is None:  # a token the bench never saw made: stick to it all the same
            return self.workers[hash(access_token) % len(self.workers)]
        return self.workers[self._slot_of_user[user]]

    def base_for(self, path: str, access_token: str | None) -> str:
        if self.worker_paths is not None and not self.worker_paths.match(path):
            return self.main
        if access_token is None:
            return self.workers[next(self._anonymous) % len(self.workers)]
        return self.worker_of(access_token)

    def spread(self) -> dict[str, int]:
        """Users per worker: the bench says how it spread them."""
        counts = dict.fromkeys(self.workers, 0)
        for slot in self._slot_of_user.values():
            counts[self.workers[slot]] += 1
        return counts
