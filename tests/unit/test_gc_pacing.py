"""The paced collector: cycles are still freed, full passes keep their floor, and
the process's own collector is back after the block."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from revier.gc_pacing import MIN_INTERVAL_S, Pacer, paced_collection


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def low_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(10, 1, 1)
    yield
    gc.set_threshold(*saved)


async def test_cycles_are_freed_while_the_automatic_trigger_is_off(low_thresholds: None) -> None:
    before = _paused("0")
    async with paced_collection():
        assert not gc.isenabled()
        node = Node()
        gone = weakref.ref(node)
        del node
        junk = [[] for _ in range(100)]  # counts past the young threshold
        del junk
        for _ in range(20):
            await asyncio.sleep(0.1)
            if gone() is None:
                break
        assert gone() is None
    assert gc.isenabled()
    assert _paused("0") > before


def _paused(generation: str) -> float:
    return (
        REGISTRY.get_sample_value("revier_gc_pause_seconds_sum", {"generation": generation}) or 0.0
    )


def test_a_full_pass_waits_for_its_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc, "get_threshold", lambda: (700, 10, 10))
    pacer = Pacer()
    pacer.last = [1000.0, 1000.0, 1000.0]
    # Every generation's count past its threshold: the oldest one not held by its floor.
    monkeypatch.setattr(gc, "get_count", lambda: (701, 11, 11))
    assert pacer.due(1000.5) == 0
    assert pacer.due(1001.0) == 1
    assert pacer.due(1000.0 + MIN_INTERVAL_S[2] - 1) == 1
    assert pacer.due(1000.0 + MIN_INTERVAL_S[2]) == 2
    # Nothing past its threshold: nothing due, however long ago the last pass was.
    monkeypatch.setattr(gc, "get_count", lambda: (5, 0, 0))
    assert pacer.due(5000.0) is None
