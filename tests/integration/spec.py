"""The Matrix spec's OpenAPI bundle (``tests.matrix_spec`` finds the spec), built once
per session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.matrix_spec import REPO, spec_dir

BUILD = REPO / "build"


def client_server_bundle() -> Path:
    out = BUILD / "matrix-cs.json"
    if not out.exists():
        BUILD.mkdir(exist_ok=True)
        # Header auth only: revier refuses URL tokens, by design.
        subprocess.run(
            [sys.executable, str(spec_dir() / "bundle.py"), "--drop-query-auth", "-o", str(out)],
            check=True,
            capture_output=True,
        )
    return out
