"""monitoringApp: uptime and performance monitoring of HTTP endpoints, event-sourced on reactivex.

`monitoringapp` is the distribution's one import name; this folder, `package/`, is its root. The subpackages
live at the top of the repository, where a reader sees them (`domain/`, `operators/`, `streams/`, `sinks/`,
`store/`, `graph/`, `app/`, `testmode/`), and pyproject's `package-dir` maps them under this name. The root
is not called `monitoringapp/` on purpose: with the repository on `sys.path` (pytest, `./monitoringApp.py`)
such a folder would shadow the installed package. See README "Architecture".
"""

from __future__ import annotations

__version__ = "2.0.0"
