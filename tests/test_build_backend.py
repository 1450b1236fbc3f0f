"""The build backend (build_backend/monitoringapp_build.py): a wheel asks for mypy and compiles the operators' hot
modules, an editable install never does, and a machine without a C compiler still builds a (pure) wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from bench.compiled import REPO, build_wheel, copy_checkout, without_pythonpath

BACKEND = REPO / "build_backend"
HOOKS = ("import json, monitoringapp_build as b;"
         "print(json.dumps([b.get_requires_for_build_wheel(), b.get_requires_for_build_editable()]))")


@pytest.mark.slow
@pytest.mark.parametrize("pure", [False, True])
def test_a_wheel_asks_for_mypy_unless_told_pure_and_an_editable_install_never_does(tmp_path: Path, pure: bool) -> None:
    source = copy_checkout(tmp_path / "source")  # the hooks run setup.py there
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(BACKEND), **({"MONITORINGAPP_PURE": "1"} if pure else {})}
    done = subprocess.run([sys.executable, "-c", HOOKS], cwd=source, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    wheel, editable = json.loads(done.stdout.splitlines()[-1])
    assert [requirement for requirement in wheel if requirement.startswith("mypy")] == ([] if pure else
                                                                                        ["mypy>=1.10,<3"])
    assert not [requirement for requirement in editable if requirement.startswith("mypy")]


@pytest.mark.slow
def test_without_a_c_compiler_the_wheel_is_pure_python_says_so_and_works(tmp_path: Path) -> None:
    wheel, output = build_wheel(tmp_path, {**without_pythonpath(), "CC": "/bin/false"})
    assert "monitoringApp: the wheel is pure Python, not compiled: the C compiler failed" in output
    names = zipfile.ZipFile(wheel).namelist()
    assert "monitoringapp/operators/window.py" in names
    assert not [name for name in names if name.endswith(".so")]  # no half-built module stands before its source
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    where = "import monitoringapp.operators.site_windows as s; print(s.__file__)"
    imported = subprocess.run([sys.executable, "-c", where], env={**without_pythonpath(), "PYTHONPATH": str(unpacked)},
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == str(unpacked / "monitoringapp" / "operators" / "site_windows.py")


@pytest.mark.slow
def test_the_sdist_carries_the_build_backend_its_wheel_is_built_with(tmp_path: Path) -> None:
    source = copy_checkout(tmp_path / "source")
    build = "import sys, monitoringapp_build as b; print(b.build_sdist(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-c", build, str(tmp_path / "dist")], cwd=source,
                          env={**without_pythonpath(), "PYTHONPATH": str(source / "build_backend")},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    sdist = tmp_path / "dist" / done.stdout.split()[-1]
    root = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
    assert {f"{root}/{name}" for name in ("pyproject.toml", "setup.py", "build_backend/monitoringapp_build.py",
                                          "operators/window.py")} <= names

