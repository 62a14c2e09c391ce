"""Options shared by all tests."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql", "both"],
        default="sqlite",
        help="database engine(s) the integration tests run revier on (default: sqlite)",
    )
    parser.addoption(
        "--engine-tests-only",
        action="store_true",
        help="collect only the tests that run on a database engine (for a second "
        "process that runs the PostgreSQL pass beside the SQLite one)",
    )
