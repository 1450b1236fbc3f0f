"""setuptools' script. The metadata is in pyproject.toml; this adds the operators compiled by mypyc to a wheel
(build_backend/monitoringapp_build.py says when; never to an editable install)."""

from monitoringapp_build import OptionalBuildExt, compiled_extensions
from setuptools import setup

setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": OptionalBuildExt})
