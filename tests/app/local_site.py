"""Only for bench/readers.py, which imports `App` from here: the tests use `tests.processes` (and `tests.local_http`).

Delete this module once bench/readers.py imports `App` from `tests.processes`.
"""

from tests.processes import App

__all__ = ["App"]
