"""The code's shape (docs/architecture.md): one job per module, so none grows past
the size where one job has become several."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "revier"
MAX_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    too_long = {
        str(path.relative_to(SRC)): lines
        for path in sorted(SRC.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"split these modules by what they do: {too_long}"
