"""The distribution claims one import name, `monitoringapp`: its folders mapped in pyproject, copied by the
Dockerfile, and a built wheel that lives beside another project's `app` and `operators` without a clash."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from monitoringapp import __version__
from monitoringapp.app.options import HealthOptions, MonitorOptions, parse_command_line

REPO = Path(__file__).resolve().parent.parent
# The repository's top-level folders that are not part of the distribution.
NOT_SHIPPED = {"tests", "bench", "build"}
BUILD_LEFT_OUT = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", "*.db", "*.db-*", "results")


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
    assert folders == copied, "Dockerfile COPY lines and pyproject's package-dir differ"
    assert folders == admitted, ".dockerignore and pyproject's package-dir differ"


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


@pytest.mark.slow
def test_the_wheel_installs_beside_a_distribution_owning_app_and_operators_and_both_import(tmp_path: Path) -> None:
    dist, source = tmp_path / "dist", tmp_path / "source"
    # Built from a copy: setuptools builds in the source tree's build/, and a wheel's leftovers there (build/lib)
    # would be a second copy of the package beside the sources.
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*BUILD_LEFT_OUT))
    # With the build tools of this environment (the dev extras) and no index: a test asks nothing outside 127.0.0.1.
    offline = ["--no-deps", "--no-index", "--no-build-isolation"]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", *offline, "--wheel-dir", str(dist), str(source)],
                   check=True, timeout=300, capture_output=True)
    (wheel,) = dist.glob("monitoringapp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    top_level = {name.split("/")[0] for name in names}
    # The web page's templates, assets and API description ship as package data.
    assert {"monitoringapp/web/openapi.yaml", "monitoringapp/web/templates/index.html",
            "monitoringapp/web/static/live.js", "monitoringapp/web/static/style.css"} <= names
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"monitoringapp"}

    squatter = tmp_path / "squatter"
    for package, marker in (("app", "theirs-app"), ("operators", "theirs-operators")):
        (squatter / package).mkdir(parents=True)
        (squatter / package / "__init__.py").write_text(f"WHO = {marker!r}\n")
    (squatter / "pyproject.toml").write_text(SQUATTER)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", *offline, "--wheel-dir", str(dist), str(squatter)],
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
