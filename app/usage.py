"""What a user did wrong on the command line, and the exit statuses every mode shares."""

from __future__ import annotations

OK = 0
FAILED = 1  # test mode found a failing scenario, or a bug stopped a mode
USAGE_ERROR = 2  # a bad command line, config or database: one line on stderr, nothing touched


class UsageError(Exception):
    """A command line that cannot be run; the message is one line."""
