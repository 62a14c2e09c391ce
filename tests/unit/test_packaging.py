"""Packaging: the license, one version, and locks that match pyproject.toml."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import revier

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def pinned(lock: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", lock.read_text(), re.MULTILINE)
    return {canonicalize_name(name): version for name, version in found}


def test_locks_pin_every_dependency_within_its_range() -> None:
    project = PYPROJECT["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    test = [Requirement(r) for r in project["optional-dependencies"]["test"]]
    for lock, wanted in (("runtime.txt", runtime), ("test.txt", runtime + test)):
        versions = pinned(REPO / "requirements" / lock)
        for req in wanted:
            version = versions.get(canonicalize_name(req.name))
            assert version is not None, f"{req.name} is not in requirements/{lock}: re-lock"
            assert req.specifier.contains(version, prereleases=True), (lock, req, version)
    # The tests run exactly the runtime that production runs.
    runtime_pins = pinned(REPO / "requirements" / "runtime.txt")
    test_pins = pinned(REPO / "requirements" / "test.txt")
    assert {name: test_pins.get(name) for name in runtime_pins} == runtime_pins


def test_wheel_has_license_and_version_and_builds_without_warnings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "deprecat" not in output.lower(), [
        line for line in output.splitlines() if "eprecat" in line
    ]
    (wheel,) = tmp_path.glob("revier-*.whl")
    with zipfile.ZipFile(wheel) as z:
        dist_info = next(n.split("/")[0] for n in z.namelist() if ".dist-info/" in n)
        metadata = z.read(f"{dist_info}/METADATA").decode()
        license_text = z.read(f"{dist_info}/licenses/LICENSE").decode()
        # The one script of the sign-in pages ships with the code that serves it.
        assert "revier/api/web/static/webauthn.js" in z.namelist()
    assert f"Version: {revier.__version__}\n" in metadata
    assert "License-Expression: AGPL-3.0-or-later\n" in metadata
    assert license_text.lstrip().startswith("GNU AFFERO GENERAL PUBLIC LICENSE")
    assert license_text == (REPO / "LICENSE").read_text()


def test_changelog_describes_this_version() -> None:
    release = revier.__version__.split(".dev")[0]
    headings = re.findall(r"^## (\S+)", (REPO / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert headings and headings[0] == release, headings
