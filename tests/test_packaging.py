"""The distribution claims one import name, `monitoringapp`: its folders mapped in pyproject, copied by the
Dockerfile, and a built wheel that lives beside another project's `app` and `operators` without a clash."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from bench.compiled import OFFLINE, build_wheel
from monitoringapp import __version__
from monitoringapp.app.options import HealthOptions, MonitorOptions, parse_command_line

REPO = Path(__file__).resolve().parent.parent
# The repository's top-level folders that are not part of the distribution.
NOT_SHIPPED = {"tests", "bench", "build"}


def setuptools_table() -> dict[str, object]:
    return dict(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"])


def test_every_package_folder_is_mapped_under_the_one_import_name_and_listed() -> None:
    table = setuptools_table()
    mapping = dict(table["package-dir"])  # type: ignore[call-overload]
    folders = {path.parent.name for path in REPO.glob("*/__init__.py")} - NOT_SHIPPED
    assert set(mapping.values()) == folders
    assert all(name == "monitoringapp" or name.startswith("monitoringapp.") for name in mapping)
    # Subpackages are listed too (setuptools does not find them under an explicit list).
    expected = {f"{name}.{'.'.join(init.parent.relative_to(REPO / folder).parts)}".rstrip(".")
                for name, folder in mapping.items() for init in (REPO / folder).rglob("__init__.py")}
    assert set(table["packages"]) == expected  # type: ignore[call-overload]


def test_the_dockerfile_copies_and_the_dockerignore_admits_every_shipped_folder() -> None:
    folders = set(dict(setuptools_table()["package-dir"]).values())  # type: ignore[call-overload]
    copied = set(re.findall(r"^COPY (\w+)/ \1/$", (REPO / "Dockerfile").read_text(), re.MULTILINE))
    admitted = set(re.findall(r"^!(\w+)/$", (REPO / ".dockerignore").read_text(), re.MULTILINE))
    # And what the wheel is built with: the build backend and setup.py (the compiled operators).
    builds_with = {"build_backend"}
    assert folders | builds_with == copied, "Dockerfile COPY lines and pyproject's package-dir differ"
    assert folders | builds_with == admitted, ".dockerignore and pyproject's package-dir differ"
    assert re.search(r"^COPY pyproject.toml README.md setup.py \./$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert "\n!setup.py\n" in (REPO / ".dockerignore").read_text()


SQUATTER = '''
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"
[project]
name = "squatter"
version = "1"
[tool.setuptools]
packages = ["app", "operators"]
'''


# The operators a wheel compiles (build_backend/monitoringapp_build.py), and the runtime library mypyc builds them.
COMPILED = ("window", "stats", "site_windows", "alert_machine")
RUNTIME_LIBRARY = f"monitoringapp_operators__mypyc{sysconfig.get_config_var('EXT_SUFFIX')}"
# Their tests, run again against the compiled wheel.
COMPILED_TESTS = ("tests/operators", "tests/graph", "tests/testmode", "tests/test_docstring_examples.py")


def c_compiler() -> str | None:
    return shutil.which(str(sysconfig.get_config_var("CC") or "cc").split()[0]) or shutil.which("cc")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel` builds from this checkout, with this environment's build tools (the dev extras, mypy
    among them) and no index: a test asks nothing outside 127.0.0.1."""
    built, _ = build_wheel(tmp_path_factory.mktemp("wheel"))
    return built


@pytest.mark.slow
def test_the_wheel_installs_beside_a_distribution_owning_app_and_operators_and_both_import(
        wheel: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    names = set(zipfile.ZipFile(wheel).namelist())
    top_level = {name.split("/")[0] for name in names}
    # The web page's templates, assets and API description ship as package data.
    assert {"monitoringapp/web/openapi.yaml", "monitoringapp/web/templates/index.html",
            "monitoringapp/web/static/live.js", "monitoringapp/web/static/style.css"} <= names
    # One import name, and beside it only the compiled operators' runtime library, named after it.
    assert {name for name in top_level if not name.endswith(".dist-info")} - {RUNTIME_LIBRARY} == {"monitoringapp"}

    squatter = tmp_path / "squatter"
    for package, marker in (("app", "theirs-app"), ("operators", "theirs-operators")):
        (squatter / package).mkdir(parents=True)
        (squatter / package / "__init__.py").write_text(f"WHO = {marker!r}\n")
    (squatter / "pyproject.toml").write_text(SQUATTER)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", *OFFLINE, "--wheel-dir", str(dist), str(squatter)],
                   check=True, timeout=300, capture_output=True)
    (theirs,) = dist.glob("squatter-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel), str(theirs)],
                   check=True, timeout=300, capture_output=True)
    # Theirs and ours side by side; our modules that need no third-party package import from the wheel.
    probe = ("import app, operators, monitoringapp, monitoringapp.operators.window as w, monitoringapp.app.usage as u;"
             "print(app.WHO, operators.WHO, monitoringapp.__version__, w.SlidingWindow.__name__, u.USAGE_ERROR,"
             " w.__file__.startswith(monitoringapp.__path__[0]))")
    done = subprocess.run([str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    from monitoringapp import __version__
    assert done.stdout.split() == ["theirs-app", "theirs-operators", __version__, "SlidingWindow", "2", "True"]


@pytest.mark.slow
def test_the_wheel_carries_the_operators_compiled_and_they_pass_their_tests(wheel: Path, tmp_path: Path) -> None:
    if c_compiler() is None:
        pytest.skip("no C compiler, so the wheel is pure Python: apt-get install -y gcc (CI's machine has it)")
    names = set(zipfile.ZipFile(wheel).namelist())
    compiled = {f"monitoringapp/operators/{module}{sysconfig.get_config_var('EXT_SUFFIX')}" for module in COMPILED}
    assert compiled | {RUNTIME_LIBRARY} <= names
    assert {f"monitoringapp/operators/{module}.py" for module in COMPILED} <= names  # the sources ship too
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    # The wheel's package first on the path; pytest and hypothesis from this environment.
    environment = {**os.environ, "PYTHONPATH": str(unpacked)}
    where = "import sys, importlib; print(' '.join(importlib.import_module(name).__file__ for name in sys.argv[1:]))"
    imported = subprocess.run([sys.executable, "-c", where, *(f"monitoringapp.operators.{m}" for m in COMPILED)],
                              env=environment, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert sorted(imported.stdout.split()) == sorted(str(unpacked / name) for name in compiled)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow",
                           *COMPILED_TESTS], cwd=REPO, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1] and "failed" not in done.stdout.splitlines()[-1]


def dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def exec_form(instruction: str) -> list[str]:
    """The JSON argument list of the Dockerfile's `instruction` (its line continuations joined)."""
    text = dockerfile().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith(f"{instruction} "))
    return list(json.loads(line[line.index("["):]))


def test_the_image_runs_the_python_minor_version_ci_tests() -> None:
    bases = re.findall(r"^FROM (\S+)", dockerfile(), re.MULTILINE)
    assert bases and set(bases) == {f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"}


def test_the_image_says_what_it_is_how_to_stop_it_and_how_to_tell_it_is_alive() -> None:
    text = dockerfile()
    for label in ("title", "description", "version"):
        assert f"org.opencontainers.image.{label}=" in text
    assert f"ARG VERSION={__version__}\n" in text  # the label says the version the wheel is
    assert re.search(r"^STOPSIGNAL SIGTERM$", text, re.MULTILINE)
    health = exec_form("HEALTHCHECK")  # its CMD's arguments
    assert health[:2] == ["monitoringApp", "--health"]
    command = exec_form("CMD")
    # Both command lines are valid; the stop grace plus a second stays inside `docker stop`'s 10 s.
    assert isinstance(parse_command_line(health[1:], 0.0), HealthOptions)
    monitor = parse_command_line(command, 0.0)
    assert isinstance(monitor, MonitorOptions) and monitor.stop_grace + 1 < 10
    assert health[health.index("-db") + 1] == monitor.database  # the health of that very database
