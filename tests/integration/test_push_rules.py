"""Push rules: the API, the m.push_rules account data in /sync, and unread counts."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from nio import (
    AsyncClient,
    DeletePushRuleResponse,
    EnablePushRuleResponse,
    PushRulesEvent,
    SetPushRuleActionsResponse,
    SetPushRuleResponse,
    SyncResponse,
)
from nio.api import PushRuleKind
from nio.events.account_data import PushNotify, PushSetTweak

from tests.integration.matrix import auth, shared_room, sync_until

RULES = "/_matrix/client/v3/pushrules"


def push_rules_in(response: SyncResponse) -> PushRulesEvent | None:
    for event in response.account_data_events:
        if isinstance(event, PushRulesEvent):
            return event
    return None


async def test_defaults_are_served_and_sent_on_the_first_sync(
    alice: AsyncClient, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{RULES}/", headers=auth(alice))
    assert response.status_code == 200
    ruleset = response.json()["global"]
    assert set(ruleset) == {"override", "content", "room", "sender", "underride"}
    assert ruleset["override"][0]["rule_id"] == ".m.rule.master"
    assert (await http.get(f"{RULES}/global/", headers=auth(alice))).json() == ruleset

    first = await alice.sync(timeout=0)
    assert isinstance(first, SyncResponse)
    event = push_rules_in(first)
    assert event is not None, first.account_data_events
    assert [r.id for r in event.global_rules.override] == [
        r["rule_id"] for r in ruleset["override"]
    ]


async def test_add_order_disable_change_and_delete_a_rule(
    alice: AsyncClient, http: httpx.AsyncClient
) -> None:
    await alice.sync(timeout=0)
    content = PushRuleKind.content
    added = await alice.set_pushrule(
        "global", content, "cake", actions=[PushNotify()], pattern="cake*"
    )
    assert isinstance(added, SetPushRuleResponse), added
    before = await alice.set_pushrule(
        "global", content, "pie", before="cake", actions=[PushNotify()], pattern="pie"
    )
    assert isinstance(before, SetPushRuleResponse), before
    ruleset = (await http.get(f"{RULES}/global/", headers=auth(alice))).json()
    assert [r["rule_id"] for r in ruleset["content"]] == ["pie", "cake"]
    assert ruleset["content"][1] == {
        "rule_id": "cake",
        "default": False,
        "enabled": True,
        "actions": ["notify"],
        "pattern": "cake*",
    }

    disabled = await alice.enable_pushrule("global", content, "cake", False)
    assert isinstance(disabled, EnablePushRuleResponse), disabled
    enabled = await http.get(f"{RULES}/global/content/cake/enabled", headers=auth(alice))
    assert enabled.json() == {"enabled": False}
    tweak = PushSetTweak("highlight", True)
    changed = await alice.set_pushrule_actions("global", content, "cake", [PushNotify(), tweak])
    assert isinstance(changed, SetPushRuleActionsResponse), changed
    actions = await http.get(f"{RULES}/global/content/cake/actions", headers=auth(alice))
    assert actions.json() == {"actions": ["notify", {"set_tweak": "highlight", "value": True}]}

    def rules_with_cake(response: SyncResponse) -> Any:
        event = push_rules_in(response)
        rules = {r.id: r for r in event.global_rules.content} if event else {}
        return rules if "cake" in rules and not rules["cake"].enabled else None

    synced = await sync_until(alice, rules_with_cake)
    assert list(synced) == ["pie", "cake"]

    deleted = await alice.delete_pushrule("global", content, "pie")
    assert isinstance(deleted, DeletePushRuleResponse), deleted
    gone = await http.get(f"{RULES}/global/content/pie", headers=auth(alice))
    assert (gone.status_code, gone.json()["errcode"]) == (404, "M_NOT_FOUND")
    again = await http.delete(f"{RULES}/global/content/pie", headers=auth(alice))
    assert again.status_code == 404
    await sync_until(
        alice,
        lambda r: (e := push_rules_in(r)) and [x.id for x in e.global_rules.content] == ["cake"],
    )


async def test_server_default_rules_can_be_switched_but_not_deleted(
    alice: AsyncClient, http: httpx.AsyncClient
) -> None:
    rule = f"{RULES}/global/override/.m.rule.suppress_notices"
    off = await http.put(f"{rule}/enabled", json={"enabled": False}, headers=auth(alice))
    assert off.status_code == 200, off.text
    got = (await http.get(rule, headers=auth(alice))).json()
    assert (got["default"], got["enabled"]) == (True, False)
    delete = await http.delete(rule, headers=auth(alice))
    assert (delete.status_code, delete.json()["errcode"]) == (403, "M_FORBIDDEN")
    replace = await http.put(rule, json={"actions": [], "conditions": []}, headers=auth(alice))
    assert replace.status_code == 400
    # A server-default rule exists under its own kind only.
    wrong_kind = await http.get(
        f"{RULES}/global/content/.m.rule.suppress_notices", headers=auth(alice)
    )
    assert wrong_kind.status_code == 404


# (method, path under /pushrules/, body, expected status)
BAD_REQUESTS: list[tuple[str, str, Any, int]] = [
    ("GET", "global/nonsense/x", None, 400),
    ("PUT", "global/nonsense/x", {"actions": []}, 400),
    ("PUT", "global/content/.mine", {"actions": [], "pattern": "x"}, 400),
    ("PUT", "global/content/a/b", {"actions": [], "pattern": "x"}, 400),
    ("PUT", "global/content/x", {"actions": ["explode"], "pattern": "x"}, 400),
    ("PUT", "global/content/x", {"actions": "notify", "pattern": "x"}, 400),
    ("PUT", "global/content/x", {"actions": ["notify"]}, 400),
    ("PUT", "global/override/x", {"actions": ["notify"]}, 400),
    ("PUT", "global/room/not-a-room", {"actions": ["notify"]}, 400),
    ("PUT", "global/content/x?before=nope", {"actions": [], "pattern": "x"}, 400),
    ("PUT", "global/content/x?after=.m.rule.master", {"actions": [], "pattern": "x"}, 400),
    ("PUT", "global/content/missing/enabled", {"enabled": True}, 404),
    ("PUT", "global/content/missing/actions", {"actions": []}, 404),
    ("GET", "global/content/missing/actions", None, 404),
    ("PUT", "global/override/.m.rule.master/enabled", {"enabled": "yes"}, 400),
    ("PUT", "global/override/.m.rule.master/actions", {"actions": [7]}, 400),
    ("PUT", "global/override/.m.rule.nope/actions", {"actions": []}, 404),
]


async def test_bad_requests_are_refused(alice: AsyncClient, http: httpx.AsyncClient) -> None:
    # One user for the whole table: creating one per case would dominate the run time.
    for method, path, body, status in BAD_REQUESTS:
        response = await http.request(method, f"{RULES}/{path}", json=body, headers=auth(alice))
        assert response.status_code == status, (method, path, response.text)
        assert response.json()["errcode"].startswith("M_")


# SyTest's 61push/80torture: (method, path after /pushrules, body, status, errcode).
# A wrong scope, kind, attribute or missing slash is the client's mistake (400),
# never a redirect, a 404 of the router or a 405.
MALFORMED_PATHS: list[tuple[str, str, Any, int, str]] = [
    ("GET", "", None, 404, "M_UNRECOGNIZED"),
    ("PUT", "/", {}, 400, "M_INVALID_PARAM"),
    ("PUT", "/not_a_scope/room/!r:localhost", {}, 400, "M_INVALID_PARAM"),
    ("PUT", "/global", {}, 400, "M_INVALID_PARAM"),
    ("PUT", "/global/room", {}, 400, "M_INVALID_PARAM"),
    ("PUT", "/global/room/", {}, 400, "M_INVALID_PARAM"),
    ("PUT", "/global/not_a_template/foo", {}, 400, "M_INVALID_PARAM"),
    ("PUT", "/global/override/.m.rule.master/not_an_attr", {"enabled": True}, 400, None),
    ("DELETE", "/global/override/my/attr", None, 400, "M_INVALID_PARAM"),
    ("GET", "/global", None, 400, "M_INVALID_PARAM"),
    ("GET", "/global/room", None, 400, "M_INVALID_PARAM"),
    ("GET", "/not_a_scope/", None, 400, "M_INVALID_PARAM"),
    ("GET", "/global/not_a_template/", None, 400, "M_INVALID_PARAM"),
    ("GET", "/global/override/.m.rule.master/not_an_attr", None, 400, "M_INVALID_PARAM"),
    ("GET", "/global/override/not_a_rule_id", None, 404, "M_NOT_FOUND"),
]


async def test_malformed_paths_get_the_errors_sytest_expects(
    alice: AsyncClient, http: httpx.AsyncClient
) -> None:
    for method, path, body, status, errcode in MALFORMED_PATHS:
        response = await http.request(method, f"{RULES}{path}", json=body, headers=auth(alice))
        assert response.status_code == status, (method, path, response.text)
        assert errcode is None or response.json()["errcode"] == errcode, (path, response.text)
    # Without a token the answer is still the token error, whatever the path.
    response = await http.get(f"{RULES}/global")
    assert (response.status_code, response.json()["errcode"]) == (401, "M_MISSING_TOKEN")


async def test_the_rules_of_one_kind_and_legacy_actions_read_back(
    alice: AsyncClient, http: httpx.AsyncClient
) -> None:
    override = (await http.get(f"{RULES}/global/override/", headers=auth(alice))).json()
    assert isinstance(override, list) and override[0]["rule_id"] == ".m.rule.master"
    rule = f"{RULES}/global/room/!quiet:localhost"
    put = await http.put(rule, json={"actions": ["dont_notify"]}, headers=auth(alice))
    assert put.status_code == 200, put.text
    room_rules = (await http.get(f"{RULES}/global/room/", headers=auth(alice))).json()
    assert [(r["rule_id"], r["actions"]) for r in room_rules] == [
        ("!quiet:localhost", ["dont_notify"])
    ]
    # A default rule's actions set to the legacy action read back as written too.
    master = f"{RULES}/global/override/.m.rule.master/actions"
    put = await http.put(master, json={"actions": ["dont_notify"]}, headers=auth(alice))
    assert put.status_code == 200
    assert (await http.get(master, headers=auth(alice))).json() == {"actions": ["dont_notify"]}


async def test_a_legacy_dont_notify_rule_counts_nothing(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    """["dont_notify"] acts as [] (spec: Historical Actions), though it reads back."""
    room_id = await shared_room(alice, bob)
    rule = f"{RULES}/global/room/{room_id}"
    put = await http.put(rule, json={"actions": ["dont_notify"]}, headers=auth(bob))
    assert put.status_code == 200
    await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "leise"})

    def counts(response: SyncResponse) -> Any:
        room = response.rooms.join.get(room_id)
        if room is None or not any(
            getattr(e, "body", None) == "leise" for e in room.timeline.events
        ):
            return None
        return (
            room.unread_notifications.notification_count,
            room.unread_notifications.highlight_count,
        )

    assert await sync_until(bob, counts) == (0, 0)


async def test_a_keyword_rule_highlights_and_a_receipt_resets_the_counts(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    added = await bob.set_pushrule(
        "global",
        PushRuleKind.content,
        "lage",
        pattern="lagebericht",
        actions=[PushNotify(), PushSetTweak("highlight", True)],
    )
    assert isinstance(added, SetPushRuleResponse), added

    async def send(body: str) -> str:
        # Plain m.room.message on purpose: only unencrypted content can match a keyword.
        response = await http.put(
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{secrets.token_hex(8)}",
            json={"msgtype": "m.text", "body": body},
            headers=auth(alice),
        )
        assert response.status_code == 200, response.text
        return str(response.json()["event_id"])

    def counts(response: SyncResponse) -> tuple[int, int] | None:
        room = response.rooms.join.get(room_id)
        if room is None:
            return None
        unread = room.unread_notifications
        return (unread.notification_count, unread.highlight_count)

    await send("guten Morgen")
    last = await send("Der Lagebericht kommt um 14:00")
    await sync_until(bob, lambda r: counts(r) == (2, 1))

    # The rule switched off: a keyword message notifies like any other, no highlight.
    await bob.enable_pushrule("global", PushRuleKind.content, "lage", False)
    last = await send("noch ein Lagebericht")
    await sync_until(bob, lambda r: counts(r) == (3, 1))

    await bob.room_read_markers(room_id, last, last)
    await sync_until(bob, lambda r: counts(r) == (0, 0))


async def test_rules_are_private_to_their_user(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    await alice.set_pushrule("global", PushRuleKind.content, "secret", actions=[], pattern="secret")
    theirs = await http.get(f"{RULES}/global/content/secret", headers=auth(bob))
    assert theirs.status_code == 404
    no_token = await http.get(f"{RULES}/")
    assert no_token.status_code == 401


async def test_members_with_default_and_own_rules_get_exact_counts(
    alice: AsyncClient, bob: AsyncClient, eve: AsyncClient, http: httpx.AsyncClient
) -> None:
    """Eve keeps the server defaults (decided once per message for all such members),
    Bob has a rule of his own; each changes their rules between messages."""
    room_id = await shared_room(alice, bob)
    assert (
        await http.post(
            f"/_matrix/client/v3/rooms/{room_id}/invite",
            json={"user_id": eve.user_id},
            headers=auth(alice),
        )
    ).status_code == 200
    assert (
        await http.post(f"/_matrix/client/v3/join/{room_id}", json={}, headers=auth(eve))
    ).status_code == 200
    added = await bob.set_pushrule(
        "global", PushRuleKind.content, "quiet", pattern="quiet", actions=[]
    )
    assert isinstance(added, SetPushRuleResponse), added

    async def send(body: str, **content: Any) -> None:
        response = await http.put(
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{secrets.token_hex(8)}",
            json={"msgtype": "m.text", "body": body, **content},
            headers=auth(alice),
        )
        assert response.status_code == 200, response.text

    async def counts_after(client: AsyncClient, body: str) -> tuple[int, int]:
        def found(response: SyncResponse) -> tuple[int, int] | None:
            room = response.rooms.join.get(room_id)
            if room is None or not any(
                getattr(e, "body", None) == body for e in room.timeline.events
            ):
                return None
            unread = room.unread_notifications
            return (unread.notification_count, unread.highlight_count)

        result: tuple[int, int] = await sync_until(client, found)
        return result

    steps: list[tuple[str, dict[str, Any], tuple[int, int], tuple[int, int]]] = [
        ("hello", {}, (1, 0), (1, 0)),
        ("quiet please", {}, (1, 0), (2, 0)),  # Bob's own rule silences it
        ("eve?", {"m.mentions": {"user_ids": [eve.user_id]}}, (2, 0), (3, 1)),
        ("everyone", {"m.mentions": {"room": True}}, (3, 1), (4, 2)),
    ]
    for body, content, for_bob, for_eve in steps:
        await send(body, **content)
        assert await counts_after(bob, body) == for_bob, body
        assert await counts_after(eve, body) == for_eve, body

    # Bob goes back to the defaults, Eve switches plain messages off.
    deleted = await bob.delete_pushrule("global", PushRuleKind.content, "quiet")
    assert isinstance(deleted, DeletePushRuleResponse), deleted
    switched = await eve.enable_pushrule("global", PushRuleKind.underride, ".m.rule.message", False)
    assert isinstance(switched, EnablePushRuleResponse), switched
    await send("quiet now")
    assert await counts_after(bob, "quiet now") == (4, 1)
    assert await counts_after(eve, "quiet now") == (4, 2)
