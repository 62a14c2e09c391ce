"""Visible stream ranges agree with the per-event history visibility algorithm."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from revier.events.visibility import (
    VISIBILITIES,
    PositionRange,
    is_visible,
    visibility_at,
    visible_ranges,
)


def inside(ranges: list[PositionRange], position: int) -> bool:
    return any(
        (low is None or position >= low) and (high is None or position <= high)
        for low, high in ranges
    )


def test_joined_room_member_sees_from_their_join() -> None:
    # `joined` from position 5; the user joins at 10, leaves at 20, rejoins at 30.
    # Before 5 the default (`shared`) applies, and they joined after it.
    history = [(10, "join"), (20, "leave"), (30, "join")]
    ranges = visible_ranges([(5, "joined")], history)
    assert ranges == [(None, 4), (10, 19), (30, None)]


def test_shared_history_is_seen_up_to_the_leave() -> None:
    assert visible_ranges([], [(10, "join"), (20, "leave")]) == [(None, 19)]
    assert visible_ranges([(1, "world_readable")], []) == [(1, None)]
    assert visible_ranges([(1, "joined")], []) == []
    assert visible_ranges([], []) == []


changes = st.lists(st.integers(min_value=1, max_value=40), unique=True).map(sorted)


@given(
    hv=changes.flatmap(
        lambda ps: st.tuples(*(st.sampled_from([*VISIBILITIES, "bogus"]) for _ in ps)).map(
            lambda vs: list(zip(ps, vs, strict=True))
        )
    ),
    history=changes.flatmap(
        lambda ps: st.tuples(
            *(st.sampled_from(["join", "leave", "invite", "ban", "knock"]) for _ in ps)
        ).map(lambda ms: list(zip(ps, ms, strict=True)))
    ),
)
def test_ranges_match_the_algorithm_at_every_position(
    hv: list[tuple[int, str]], history: list[tuple[int, str]]
) -> None:
    ranges = visible_ranges(hv, history)
    for position in range(-2, 45):
        expected = is_visible(visibility_at(hv, position), history, position, is_own_member=False)
        assert inside(ranges, position) == expected, position
