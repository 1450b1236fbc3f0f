"""What a user did wrong on the command line, and the exit statuses every mode shares."""

from __future__ import annotations

OK = 0
FAILED = 1  # test mode found a failing scenario, a monitor's database went away, or a bug stopped a mode
USAGE_ERROR = 2  # a bad command line, config or database: one line on stderr, nothing touched
INTERRUPTED = 130  # a one-shot command (-t, --check, --purge, --replay, --health) stopped before it was done


class UsageError(Exception):
    """A command line that cannot be run; the message is one line."""


class Interrupted(Exception):
    """A one-shot command stopped before it was done; the message says, in one line, what was and was not done."""


class Failure(Exception):
    """A mode that cannot go on for a reason it explains in one line (exit 1, no traceback)."""
