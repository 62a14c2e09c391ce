"""notifications: push rules and who each event notifies.

Owns the users' push rules and the push actions recorded when an event is
stored (the unread counts of /sync); pushers and the push sender come next.
The rooms wing hands it each new event with the room's members; it keeps
the ``m.push_rules`` copy in account data through ``core``.

Other wings import from this package only, never from its modules.
"""

from revier.services.notifications.push_actions import PushActions
from revier.services.notifications.push_rules import PUSH_RULES, PushRuleService
from revier.storage.notifications.push_actions import UnreadCounts

__all__ = ["PUSH_RULES", "PushActions", "PushRuleService", "UnreadCounts"]
