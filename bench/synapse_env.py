"""The reference server in its own virtual environment, never a dependency of revier."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SYNAPSE_VERSION = "1.163.2"
PY_SPY_VERSION = "0.4.3"
VENV = Path(__file__).resolve().parent / ".venv-synapse"


class ReferenceUnavailable(RuntimeError):
    pass


def synapse_python() -> Path:
    return VENV / "bin" / "python"


# Its worker mode (bench run --shape workers) needs Redis's client (the extra its docs
# install) and PostgreSQL's driver: psycopg2-binary rather than the ``postgres`` extra,
# whose psycopg2 is built from source (a compiler, Python's and libpq's headers).
EXTRAS = "redis"
PSYCOPG2_BINARY_VERSION = "2.9.13"
EXTRA_MODULES = ("psycopg2", "txredisapi", "hiredis")


def installed_version() -> str | None:
    """The installed Synapse's version, None if it or a worker-mode extra is missing."""
    python = synapse_python()
    if not python.exists():
        return None
    r = subprocess.run(
        [
            str(python),
            "-c",
            f"import {', '.join(EXTRA_MODULES)}, importlib.metadata as m; "
            "print(m.version('matrix-synapse'))",
        ],
        capture_output=True,
        text=True,
    )
    return r.stdout.strip() if r.returncode == 0 else None


def ensure_synapse(log: object = print) -> Path:
    """Install the pinned Synapse with its worker-mode extras (and py-spy) unless that
    version is there already."""
    if installed_version() == SYNAPSE_VERSION:
        return synapse_python()
    log(f"installing matrix-synapse=={SYNAPSE_VERSION} into {VENV} (about a minute)")  # type: ignore[operator]
    try:
        if not synapse_python().exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [
                str(synapse_python()),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"matrix-synapse[{EXTRAS}]=={SYNAPSE_VERSION}",
                f"psycopg2-binary=={PSYCOPG2_BINARY_VERSION}",
                f"py-spy=={PY_SPY_VERSION}",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as e:
        raise ReferenceUnavailable(
            f"could not install matrix-synapse=={SYNAPSE_VERSION}: {(e.stderr or '')[-1500:]}"
        ) from None
    if installed_version() != SYNAPSE_VERSION:
        raise ReferenceUnavailable("matrix-synapse installed but not importable")
    return synapse_python()


def py_spy() -> Path:
    return VENV / "bin" / "py-spy"
