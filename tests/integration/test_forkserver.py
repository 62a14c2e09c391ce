"""The fork server hands a command what ``python -m revier`` would get: its
arguments, environment, working directory, standard input, output and exit
status; and code that must import differently runs unforked."""

from __future__ import annotations

import os
from pathlib import Path

from tests.integration import forkserver
from tests.integration.harness import server_env


def test_a_forked_command_gets_its_own_directory_environment_and_streams(
    tmp_path: Path,
) -> None:
    env = {**server_env(), "REVIER_CONFIG": str(tmp_path / "missing.toml")}
    result = forkserver.run(
        ["admin", "user", "list"], input_text="ignored\n", env=env, cwd=tmp_path
    )
    # The configuration named by its environment, read from its directory.
    assert result.returncode == 2, result
    assert "missing.toml" in result.stderr and result.stdout == ""
    assert forkserver.run(["--help"], cwd=tmp_path).stdout.startswith("usage: revier")
    assert os.getcwd() != str(tmp_path)  # the caller's own directory is untouched


def test_other_python_variables_run_unforked(tmp_path: Path) -> None:
    # Another revier first on PYTHONPATH (as test_upgrade puts the previous release).
    (tmp_path / "revier").mkdir()
    (tmp_path / "revier" / "__init__.py").write_text("")
    (tmp_path / "revier" / "__main__.py").write_text("print('the other revier')\n")
    env = {**server_env(), "PYTHONPATH": str(tmp_path)}
    result = forkserver.run(["--help"], env=env, cwd=tmp_path)
    assert result.stdout == "the other revier\n", result
