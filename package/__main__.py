"""`python -m monitoringapp`: the same program as the `monitoringApp` console script."""

from __future__ import annotations

import sys

from monitoringapp.app.cli import main

sys.exit(main())
