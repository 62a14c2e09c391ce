"""Where the tests find the Matrix spec's machine-readable copy.

It is not part of this repository: the spec's OpenAPI modules, prose and the
``bundle.py`` that merges them live in a checkout of their own, by default
``../shared/matrix-spec`` beside the repository; ``REVIER_MATRIX_SPEC`` names
another. Tests that need it skip with one line when it is absent, so a bare
clone's test command passes.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC_ENV = "REVIER_MATRIX_SPEC"


def spec_dir() -> Path:
    given = os.environ.get(SPEC_ENV)
    return Path(given) if given else REPO.parent / "shared" / "matrix-spec"


def spec_missing_reason() -> str | None:
    """Why the spec can't be used here (one line), or None when it can."""
    where = spec_dir()
    if (where / "bundle.py").is_file():
        return None
    return (
        f"no Matrix spec checkout at {where}: set {SPEC_ENV} to a directory with "
        "the spec's data/ and bundle.py to run this"
    )
