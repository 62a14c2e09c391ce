"""The comparison of shapes: one column per shape and server, two workers set against one."""

from __future__ import annotations

from bench.report import workers_table

VERSIONS = {"revier": "0.2.0", "reference": "1.163.2", "reference_name": "synapse 1.163.2"}


def _medians(msgs: float, ref_msgs: float) -> dict[str, dict[str, dict[str, object]]]:
    return {
        "send": {"revier": {"msgs_per_s": msgs}, "reference": {"msgs_per_s": ref_msgs}},
        "fanout": {"revier": {"delivered": "6/6"}, "reference": {"delivered": "6/6"}},
    }


def test_two_workers_against_one_with_the_single_process_beside() -> None:
    text, rows = workers_table(
        {0: _medians(100, 50), 1: _medians(80, 40), 2: _medians(160, 60)}, VERSIONS
    )
    send = next(r for r in rows if r["metric"] == "send msgs/s")
    assert send["revier sqlite"] == 100 and send["revier 2w"] == 160
    assert send["revier ratio"] == 2.0 and send["reference ratio"] == 1.5
    assert "revier 0.2.0 sqlite" in text and "2w/1w" in text
    # Rows nobody measured are left out, not printed as n/a.
    assert all(r["metric"] != "idle woken by a message" for r in rows)


def test_one_worker_count_alone_has_no_ratio_column() -> None:
    text, _ = workers_table({0: _medians(100, 50), 2: _medians(160, 60)}, VERSIONS)
    head = text.splitlines()[0]
    assert "2w/2w" not in head and head.endswith("synapse 1.163.2 2w")
