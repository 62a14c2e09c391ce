"""notifications: push rules, who each event notifies, and telling their phones.

Owns the users' push rules and the push actions recorded when an event is
stored (the unread counts of /sync), the pushers (``PusherService``; a
removed device's pushers go through ``forget_device_pushers``), the push
sender that posts to the organisation's push gateway, and duty hours
(``DutyService``): when a user's phones may be woken at all. The rooms wing
hands it each new event with the room's members and gives the sender what it
needs of rooms (``RoomFacts``); it keeps the ``m.push_rules`` copy and the
user's own duty hours in account data through ``core``.

Other wings import from this package only, never from its modules.
"""

from revier.services.notifications.duty import DUTY_ACCOUNT_DATA, DutyService, DutyView
from revier.services.notifications.push_actions import PushActions
from revier.services.notifications.push_plan import RoomFacts
from revier.services.notifications.push_rules import PUSH_RULES, PushRuleService
from revier.services.notifications.push_sender import PushSender
from revier.services.notifications.pushers import (
    PusherService,
    PusherSummary,
    forget_device_pushers,
)
from revier.storage.notifications.push_actions import PushAction, UnreadCounts
from revier.storage.notifications.pushers import Pusher

__all__ = [
    "DUTY_ACCOUNT_DATA",
    "PUSH_RULES",
    "DutyService",
    "DutyView",
    "PushAction",
    "PushActions",
    "PushRuleService",
    "PushSender",
    "Pusher",
    "PusherService",
    "PusherSummary",
    "RoomFacts",
    "UnreadCounts",
    "forget_device_pushers",
]
