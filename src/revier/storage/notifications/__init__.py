"""The notifications wing's storage. Push rules and push actions (who an event notifies).

Only ``revier.services.notifications`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.notifications.push_actions import PushActionRepository
from revier.storage.notifications.push_rules import PushRuleRepository
from revier.storage.store import Repositories


class NotificationRepos(Repositories):
    @cached_property
    def push_rules(self) -> PushRuleRepository:
        return PushRuleRepository(self.conn)

    @cached_property
    def push_actions(self) -> PushActionRepository:
        return PushActionRepository(self.conn)
