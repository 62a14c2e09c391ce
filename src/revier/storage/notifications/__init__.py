"""The notifications wing's storage: push rules, push actions (who an event notifies),
pushers, duty hours and the pushes held back off duty.

Only ``revier.services.notifications`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.notifications.duty import DutyRepository
from revier.storage.notifications.push_actions import PushActionRepository
from revier.storage.notifications.push_rules import PushRuleRepository
from revier.storage.notifications.pushers import PusherRepository
from revier.storage.store import Repositories


class NotificationRepos(Repositories):
    @cached_property
    def push_rules(self) -> PushRuleRepository:
        return PushRuleRepository(self.conn)

    @cached_property
    def push_actions(self) -> PushActionRepository:
        return PushActionRepository(self.conn, is_sqlite=self.is_sqlite)

    @cached_property
    def pushers(self) -> PusherRepository:
        return PusherRepository(self.conn)

    @cached_property
    def duty(self) -> DutyRepository:
        return DutyRepository(self.conn)
