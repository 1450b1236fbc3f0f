"""What a running process costs, read from /proc: CPU seconds of its whole tree and its peak memory."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    return _stat_fields_of(Path(f"/proc/{pid}/stat"))


def _stat_fields_of(stat: Path) -> list[str]:
    text = stat.read_text()
    # The command name may hold spaces; the fields after its closing parenthesis do not.
    return text[text.rindex(")") + 2:].split()


def children(pid: int) -> list[int]:
    """Every live descendant of `pid`."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(_stat_fields(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid`, its threads and its reaped children."""
    fields = _stat_fields(pid)
    # utime, stime, cutime, cstime are fields 14-17 of stat(5); we dropped the first two.
    return sum(int(v) for v in fields[11:15]) / _TICK


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of these processes and all their live descendants."""
    total = 0.0
    for pid in {p for root in pids for p in (root, *children(root))}:
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process has had, in MB (10^6 bytes)."""
    return _status_mb(pid, "VmHWM")


def rss_mb(pid: int) -> float:
    """VmRSS: the resident memory of the process now, in MB (10^6 bytes)."""
    return _status_mb(pid, "VmRSS")


def thread_count(pid: int) -> int:
    """The threads of the process now."""
    return _status_value(pid, "Threads")


def _status_mb(pid: int, field: str) -> float:
    return _status_value(pid, field) * 1024 / 1e6


def _status_value(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise OSError(f"no {field} for pid {pid}")


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU of each live thread of `pid`, by thread id."""
    return {thread: (int(fields[11]) + int(fields[12])) / _TICK for thread, fields in _thread_stats(pid).items()}


def thread_states(pid: int) -> dict[int, str]:
    """The state letter of each live thread of `pid` (stat(5): R running, S sleeping, T stopped, ...), by thread id."""
    return {thread: fields[0] for thread, fields in _thread_stats(pid).items()}


def _thread_stats(pid: int) -> dict[int, list[str]]:
    stats = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stats[int(task.name)] = _stat_fields_of(task / "stat")
        except OSError:
            continue  # the thread ended
    return stats
