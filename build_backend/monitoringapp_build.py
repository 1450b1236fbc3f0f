"""The build backend: setuptools' own, with the operators' hot modules compiled by mypyc into a wheel.

A wheel (`pip install .`, `pip wheel .`, the Docker image) asks for mypy as a build requirement and compiles
`COMPILED` with mypyc and the machine's C compiler: the report windows and the alert machines then take about 1.3
times the events per second (README, Performance). Every module's source ships beside it; where a wheel cannot
be compiled (no C compiler, no Python headers, mypy not installable, or `MONITORINGAPP_PURE=1`) it is pure
Python, the same code, with a warning in the build's output. An editable install is always pure Python: a
compiled module is imported in front of its source, so an edit would not take effect.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import cast

from setuptools import Extension
from setuptools import build_meta as _setuptools
from setuptools.build_meta import (
    build_editable,
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

__all__ = [
    "OptionalBuildExt",
    "build_editable",
    "build_sdist",
    "build_wheel",
    "compiled_extensions",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]

# The modules a report and an alert judgement spend their time in, as the repository lays them out.
COMPILED = ("operators/window.py", "operators/stats.py", "operators/site_windows.py", "operators/alert_machine.py")
# What mypy reads to compile them (they import only these): folder in the repository -> place under the import name.
STAGED = {"package": "monitoringapp", "domain": "monitoringapp/domain", "operators": "monitoringapp/operators"}
# The runtime library mypyc builds for them, a module of its own beside `monitoringapp` (a name given here, so
# that it says whose it is; mypyc would name it by a hash).
GROUP = "monitoringapp_operators"
COMPILER = "mypy>=1.10,<3"
PURE = "MONITORINGAPP_PURE"
_COMPILING = "MONITORINGAPP_COMPILING_WHEEL"  # set while `build_wheel` runs setup.py


def get_requires_for_build_wheel(config_settings: dict[str, str | list[str]] | None = None) -> list[str]:
    requires = list(_setuptools.get_requires_for_build_wheel(config_settings))
    return requires if os.environ.get(PURE) == "1" else [*requires, COMPILER]


def build_wheel(wheel_directory: str, config_settings: dict[str, str | list[str]] | None = None,
                metadata_directory: str | None = None) -> str:
    os.environ[_COMPILING] = "1"
    try:
        return str(_setuptools.build_wheel(wheel_directory, config_settings, metadata_directory))
    finally:
        del os.environ[_COMPILING]


def compiled_extensions(root: Path = Path()) -> list[Extension]:
    """The extensions of the compiled modules, for setup.py: none but in a wheel's build, nor when mypyc is
    missing or refuses the code (then the wheel is pure Python)."""
    if os.environ.get(_COMPILING) != "1" or os.environ.get(PURE) == "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _without_compiling("mypyc (part of mypy) is not installed")
        return []
    # mypyc names a module by where its file sits: under a folder called `monitoringapp`, as it is imported.
    staged = root / "build" / "mypyc"
    shutil.rmtree(staged, ignore_errors=True)
    for folder, place in STAGED.items():
        (staged / "src" / place).mkdir(parents=True)
        for source in (root / folder).glob("*.py"):
            shutil.copyfile(source, staged / "src" / place / source.name)
    # The build's mypy checks only what it compiles; the repository's own (strict) run is CI's.
    (staged / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n")
    sources = [str(staged / "src" / "monitoringapp" / path) for path in COMPILED]
    try:
        built = mypycify(["--config-file", str(staged / "mypy.ini"), *sources], opt_level="3", group_name=GROUP,
                         target_dir=str(staged / "c"))
    except (Exception, SystemExit) as error:  # mypycify exits on a type error
        _without_compiling(f"mypyc failed ({error})")
        return []
    # setuptools' own Extension, since setuptools is imported here (mypyc falls back to distutils' without it).
    return cast(list[Extension], built)


class OptionalBuildExt(build_ext):
    """Builds every compiled module or none: without a C compiler (or Python's headers) the wheel is pure."""

    def run(self) -> None:
        try:
            super().run()
        except (CCompilerError, ExecError, PlatformError) as error:
            for output in self.get_outputs():
                Path(output).unlink(missing_ok=True)
            _without_compiling(f"the C compiler failed ({error})")


def _without_compiling(why: str) -> None:
    print(f"monitoringApp: the wheel is pure Python, not compiled: {why}", file=sys.stderr)
