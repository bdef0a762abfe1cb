"""The README's set-up path, taken as a new Debian user takes it.

These run `scripts/install-deps.sh` for real (a fresh virtual environment, pip against the
package index) on a copy of the tracked files, so a missing install step, a swallowed pip
error or an import check that only passes inside the checkout fails here, not on a user's
first command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3")


def _copy_tracked_tree(dest: Path) -> Path:
    """Copy the files git tracks (what a fresh clone holds) into dest."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = Path(raw.decode())
        src = ROOT / rel
        if not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


def _run(script: str, tree: Path, venv: Path, python: str, *args: str, timeout: float = 900):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHON=python, CENTRALITA_VENV=str(venv))
    # A user's PATH: the system's directories first, nothing of this test's environment.
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return subprocess.run(
        ["bash", f"scripts/{script}", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_tracked_tree(tmp_path_factory.mktemp("clone"))


def test_install_with_debian_python_builds_a_working_venv(tree: Path, tmp_path: Path) -> None:
    assert DEBIAN_PYTHON.exists(), "the set-up is promised for Debian: /usr/bin/python3 is missing"
    venv = tmp_path / "venv"
    done = _run("install-deps.sh", tree, venv, str(DEBIAN_PYTHON))
    assert done.returncode == 0, done.stderr[-3000:]
    # The last line on stdout is the environment's interpreter, created from Debian's Python.
    vpy = Path(done.stdout.strip().splitlines()[-1])
    assert vpy == venv / "bin" / "python"
    base = subprocess.run(
        [str(vpy), "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert base == "/usr", base
    # Importable from outside the checkout: the packages are installed, not lying in cwd.
    probe = subprocess.run(
        [str(vpy), "-I", "-c", "import pydantic, flask, servicedesk, cti_panel; print('ok')"],
        cwd="/",
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "ok", probe.stderr
    # A second run finds everything in place and installs nothing.
    again = _run("install-deps.sh", tree, venv, str(DEBIAN_PYTHON))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "installing Centralita" not in again.stderr


def test_a_broken_install_stops_both_commands_with_a_clear_message(
    tree: Path, tmp_path: Path
) -> None:
    broken = _copy_tracked_tree(tmp_path / "broken")
    pyproject = broken / "pyproject.toml"
    text = pyproject.read_text()
    assert 'test = [\n    "pytest>=8",' in text
    pyproject.write_text(
        text.replace(
            'test = [\n    "pytest>=8",',
            'test = [\n    "centralita-no-such-package-xyz>=1",\n    "pytest>=8",',
        )
    )
    for script in ("demo.sh", "test.sh"):
        venv = tmp_path / f"venv-{script}"
        done = _run(script, broken, venv, sys.executable, timeout=600)
        assert done.returncode != 0
        assert "pip could not install the Python packages" in done.stderr
        assert "hint:" in done.stderr
        # pip's own error is shown, naming the package it could not find.
        assert "centralita-no-such-package-xyz" in done.stderr
        # Nothing ran after the failed install: no demo, no test session.
        assert "test session starts" not in done.stdout
