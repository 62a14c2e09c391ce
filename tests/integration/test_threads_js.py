"""matrix-js-sdk's threads (what Element Web's thread panel runs on) against revier."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.harness import RevierProcess
from tests.integration.jsclient import JsClient
from tests.integration.relations import thread_reply
from tests.integration.steps import invite, people, say, shared_room

# Protocol behaviour, not storage: once, on SQLite, even with --db=both.
pytestmark = pytest.mark.one_engine


async def test_js_sdk_shows_a_threads_summary_and_follows_it(
    server: RevierProcess, http: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob = await people(http, make_user, "alice", "bob")
    carol = make_user("carol")
    room_id = await shared_room(http, alice, bob)
    root = await say(http, alice, room_id, "Schichtwechsel?")
    other = await say(http, alice, room_id, "Funkprobe")
    await thread_reply(http, bob, room_id, root, "um sechs")
    await thread_reply(http, alice, room_id, other, "laut und klar")
    latest = await thread_reply(http, bob, room_id, root, "oder sieben")
    await invite(http, alice, room_id, carol.user_id)

    async with JsClient.start(name="js-threads") as js:
        await js.call(
            "login",
            baseUrl=server.url,
            userId=carol.user_id,
            password=carol.password,
        )
        await js.call("startClient", initialSyncLimit=1, threadSupport=True)
        await js.call("waitForSync")
        await js.call("joinRoom", roomIdOrAlias=room_id)
        await js.call("waitForMembership", roomId=room_id)
        # The thread panel: both threads, each with its reply count and newest
        # reply (carol's client never received the replies in her sync), and the
        # summary the server bundled with each root, which the SDK starts from.
        listed = (await js.call("roomThreads", roomId=room_id))["threads"]
        by_root = {t["rootId"]: t for t in listed}
        assert set(by_root) == {root, other}
        assert by_root[root]["length"] == 2
        assert by_root[root]["latestReplyId"] == latest
        assert by_root[root]["latestBody"] == "oder sieben"
        assert by_root[other]["length"] == 1
        assert by_root[root]["bundled"] == {
            "count": 2,
            "latestEventId": latest,
            "participated": False,
        }
        # A new reply reaches the thread live, through /sync.
        newest = await thread_reply(http, alice, room_id, root, "sieben passt")
        followed = await js.call("waitForThread", roomId=room_id, rootId=root, length=3)
        assert followed["latestReplyId"] == newest
