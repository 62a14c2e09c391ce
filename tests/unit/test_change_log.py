"""The change log answers only what it has heard of, and gives gaps up; values
kept from a snapshot live only while it vouches for them."""

from __future__ import annotations

from revier.notify.changes import GAP_SECONDS, ChangeLog
from revier.notify.snapshot_cache import SnapshotCache


def started(at: int = 10) -> ChangeLog:
    log = ChangeLog()
    log.observed(at, now=0.0)
    return log


def test_knows_nothing_before_a_snapshot_was_observed() -> None:
    log = ChangeLog()
    log.add([1], [(1, "e", "!a")], now=0.0)
    assert log.window(0, 1) is None


def test_a_window_lists_what_changed_in_it() -> None:
    log = started()
    log.add([11], [(11, "e", "!a"), (11, "m", "!a")], now=0.0)
    log.add([12], [(12, "a", "@u")], now=0.0)
    window = log.window(10, 12)
    assert window is not None
    assert window.keys("e") == {"!a"} and window.has("a", "@u")
    later = log.window(11, 12)
    assert later is not None and not later.any("e") and later.has("a", "@u")


def test_a_position_with_nothing_recorded_is_known_to_change_nothing() -> None:
    log = started()
    log.add([11], [], now=0.0)
    window = log.window(10, 11)
    assert window is not None and not window.any("e")


def test_beyond_what_was_heard_of_it_does_not_answer() -> None:
    log = started()
    log.add([11], [(11, "e", "!a")], now=0.0)
    assert log.window(10, 12) is None
    assert log.window(5, 11) is None  # before the floor


def test_out_of_order_commits_are_known_once_the_gap_fills() -> None:
    log = started()
    log.add([12], [(12, "e", "!b")], now=0.0)
    assert log.window(10, 12) is None
    log.add([11], [(11, "e", "!a")], now=0.1)
    window = log.window(10, 12)
    assert window is not None and window.keys("e") == {"!a", "!b"}


def test_a_position_never_published_is_given_up_after_a_while() -> None:
    log = started()
    log.add([12], [(12, "e", "!b")], now=0.0)  # 11: the admin CLI, never published
    log.observed(12, now=0.5)
    assert log.window(10, 12) is None
    log.observed(12, now=0.5 + GAP_SECONDS)
    assert log.window(10, 12) is None  # 11 stays unknown: windows from before go to the database
    assert log.known_upto == 12
    log.add([13], [(13, "e", "!c")], now=3.0)
    window = log.window(12, 13)
    assert window is not None and window.keys("e") == {"!c"}


def test_a_repeat_or_a_late_publish_below_the_floor_changes_nothing() -> None:
    log = started()
    log.add([11], [(11, "e", "!a")], now=0.0)
    log.add([11], [(11, "e", "!z")], now=0.0)
    log.add([3], [(3, "e", "!old")], now=0.0)
    window = log.window(10, 11)
    assert window is not None and window.keys("e") == {"!a"}


def test_reset_forgets_everything_until_observed_again() -> None:
    log = started()
    log.add([11], [(11, "e", "!a")], now=0.0)
    log.reset()
    assert log.window(10, 11) is None
    log.observed(20, now=1.0)
    window = log.window(20, 20)
    assert window is not None and not window.any("e")
    assert log.window(10, 20) is None


def test_memory_is_bounded_and_the_floor_rises() -> None:
    log = ChangeLog(max_entries=10)
    log.observed(0, now=0.0)
    for p in range(1, 30):
        log.add([p], [(p, "e", f"!{p}")], now=0.0)
    assert log.window(0, 29) is None
    window = log.window(25, 29)
    assert window is not None and window.keys("e") == {"!26", "!27", "!28", "!29"}


def test_long_windows_go_to_the_database() -> None:
    log = started(0)
    log.add(list(range(1, 6002)), [], now=0.0)
    assert log.window(0, 6001) is None
    assert log.window(1001, 6001) is not None


def test_a_wait_from_the_token_starts_before_every_change_heard_of_since() -> None:
    log = started()
    log.add([11], [(11, "e", "!a")], serial=5, now=0.0)
    log.add([12], [], serial=6, now=0.0)  # nothing changed there: no wake-up to catch
    log.add([14], [(14, "e", "!c")], serial=7, now=0.0)  # 13 not heard of yet
    assert log.wait_from(12, serial=9) == 7  # the pending change's wake-up comes after 7
    assert log.wait_from(10, serial=9) == 5
    log.add([13], [(13, "a", "@u")], serial=8, now=0.0)
    assert log.wait_from(14, serial=9) == 9  # nothing after 14: from now
    assert log.wait_from(12, serial=9) == 7


def test_no_wait_from_a_token_the_log_cannot_vouch_for() -> None:
    log = started()
    log.add([11], [(11, "e", "!a")], serial=5, now=0.0)
    assert log.wait_from(9, serial=6) is None  # before the floor
    assert log.wait_from(12, serial=6) is None  # beyond what was heard of
    assert ChangeLog().wait_from(0, serial=0) is None


def test_a_snapshot_value_is_kept_while_unchanged_and_dropped_when_changed() -> None:
    log = started()
    cache: SnapshotCache[list[str]] = SnapshotCache(log, "mu")
    cache.put("@u", 10, ["!a"])
    log.add([11], [(11, "mu", "@other")], now=0.0)
    assert cache.get("@u", 11) == ["!a"]
    assert cache.get("@u", 9) is None  # a snapshot older than the value
    log.add([12], [(12, "mu", "@u")], now=0.0)
    assert cache.get("@u", 12) is None
    assert cache.get("@u", 13) is None  # not heard of yet


def test_caught_up_only_while_nothing_newer_was_heard_of_or_seen() -> None:
    log = ChangeLog()
    assert not log.caught_up  # not started
    log = started()
    assert log.caught_up
    log.add([12], [(12, "p", "@u")], now=0.0)  # 11 not heard of yet
    assert not log.caught_up and log.known_upto == 10
    log.add([11], [], now=0.0)
    assert log.caught_up and log.known_upto == 12
    log.observed(13, now=1.0)  # a commit the log never heard of (another process)
    assert not log.caught_up
