"""Sliding sync under hypothesis: arbitrary JSON bodies, near-valid bodies of every
shape the endpoint knows, and arbitrary ``pos``, ``timeout`` and ``set_presence``
values. The server never fails, every refusal is the spec's error JSON, and every
answer is one Element X can read."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.harness import RevierProcess
from tests.integration.sliding import SS, check_element_x_parses
from tests.integration.steps import Session
from tests.integration.test_sliding_sync_validation import assert_error, me

__all__ = ["me"]  # the fixture: a logged-in device of the module's own

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


# A named function: hypothesis can't read a lambda spread over lines, and warns.
json_values = st.recursive(scalars, _containers, max_leaves=20)
state_words = st.sampled_from(["*", "$LAZY", "$ME", "", "m.room.member", "m.room.name"])
numbers = st.integers(min_value=-5, max_value=2**64) | json_values
sliding_list = st.fixed_dictionaries(
    {},
    optional={
        "ranges": st.lists(st.lists(numbers, max_size=3), max_size=3) | json_values,
        "timeline_limit": numbers,
        "required_state": st.lists(st.lists(state_words | scalars, max_size=3), max_size=4)
        | json_values,
        "filters": st.fixed_dictionaries(
            {},
            optional={
                k: json_values | st.lists(st.text(max_size=12) | st.none(), max_size=3)
                for k in (
                    "is_dm",
                    "is_encrypted",
                    "is_invite",
                    "room_types",
                    "not_room_types",
                    "spaces",
                    "tags",
                    "not_tags",
                )
            },
        )
        | json_values,
    },
)
extension = st.fixed_dictionaries(
    {},
    optional={
        "enabled": st.booleans() | json_values,
        "lists": st.lists(st.sampled_from(["*", "l"]) | st.text(max_size=5), max_size=3)
        | json_values,
        "rooms": st.lists(st.sampled_from(["*", "!a:localhost"]) | st.text(max_size=5), max_size=3)
        | json_values,
        "since": st.integers(min_value=-1, max_value=2**66).map(str) | json_values,
        "limit": numbers,
    },
)
bodies = json_values | st.fixed_dictionaries(
    {},
    optional={
        "conn_id": st.text(max_size=20) | json_values,
        "lists": st.dictionaries(st.text(max_size=70), sliding_list | json_values, max_size=3)
        | json_values,
        "room_subscriptions": st.dictionaries(
            st.sampled_from(["!a:localhost", "not a room"]) | st.text(max_size=20),
            sliding_list,
            max_size=3,
        )
        | json_values,
        "extensions": st.dictionaries(
            st.sampled_from(["to_device", "e2ee", "account_data", "receipts", "typing", "x"]),
            extension | json_values,
            max_size=4,
        )
        | json_values,
    },
)
queries = st.fixed_dictionaries(
    {},
    optional={
        "pos": st.text(max_size=40),
        "timeout": st.sampled_from(["0", "-1", "1e3", "", " 1", "x", "9" * 25])
        | st.integers(0, 50).map(str),
        "set_presence": st.sampled_from(["online", "offline", "unavailable", "", "ONLINE"])
        | st.text(max_size=8),
    },
)


@pytest.mark.one_engine
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies, query=queries)
def test_property_no_request_fails_and_every_answer_is_well_formed(
    server: RevierProcess, me: Session, body: Any, query: dict[str, str]
) -> None:
    # Without a known pos nothing waits, so any timeout answers at once.
    r = httpx.post(f"{server.url}{SS}", params=query, json=body, headers=me.headers, timeout=30)
    assert r.status_code < 500, r.text[:500]
    if r.status_code == 200:
        check_element_x_parses(r.json(), body)
    else:
        assert_error(
            r, {"M_NOT_JSON", "M_BAD_JSON", "M_INVALID_PARAM", "M_UNKNOWN_POS", "M_TOO_LARGE"}, ""
        )
