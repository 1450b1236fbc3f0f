"""The one way tests and the bench run `./monitoringApp.py` as a real process, and the one bounded wait.

`App(*args)` keeps running with its output read on threads (a full pipe can never block it); `run_app(*args,
timeout=...)` runs to its exit; `wait_until(condition, timeout)` polls until `condition()` is truthy.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TypeVar

REPO = Path(__file__).resolve().parents[1]
ENTRY = REPO / "monitoringApp.py"

T = TypeVar("T")

# Root writes any file whatever its mode; with these two capabilities dropped (uid 0 kept, so the interpreter
# under /root stays readable) it is held to a file's mode bits as any user is.
_DROP_WRITE_ANYWHERE = "-dac_override,-dac_read_search"


def unprivileged_prefix() -> list[str] | None:
    """The command prefix that runs a process held to file modes as an ordinary user is ([] when this is not
    root); None when that cannot be done here (root without `setpriv`)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--bounding-set", _DROP_WRITE_ANYWHERE, "--inh-caps", _DROP_WRITE_ANYWHERE]


def _command(args: tuple[str, ...], unprivileged: bool) -> list[str]:
    prefix: list[str] = []
    if unprivileged:
        found = unprivileged_prefix()
        if found is None:
            raise RuntimeError("running as root without setpriv: cannot drop the right to write anywhere")
        prefix = found
    return [*prefix, sys.executable, str(ENTRY), *args]


class App:
    """`./monitoringApp.py *args` (or another `program`) run from `cwd` (the repo root by default); stdout lines
    kept with their arrival time, stderr kept. `env` is added to this process's environment; `unprivileged` holds
    it to file modes."""

    def __init__(self, *args: str, program: Sequence[str] | None = None, cwd: Path = REPO,
                 env: dict[str, str] | None = None, unprivileged: bool = False) -> None:
        self.args = args
        self.process = subprocess.Popen(
            list(program) if program is not None else _command(args, unprivileged), cwd=cwd,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        assert self.process.stdout is not None and self.process.stderr is not None
        self.lines: list[tuple[float, str]] = []  # (time.monotonic() it arrived, text)
        self._stderr: list[str] = []
        self._readers = [threading.Thread(target=self._read_stdout, args=(self.process.stdout,), daemon=True),
                         threading.Thread(target=self._read_stderr, args=(self.process.stderr,), daemon=True)]
        for reader in self._readers:
            reader.start()

    @classmethod
    def command(cls, argv: Sequence[str]) -> App:
        """Another program (a peer server, a tool) run the same way, its output kept the same way."""
        return cls(*argv[1:], program=argv)

    def _read_stdout(self, stdout: IO[str]) -> None:
        for line in stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def _read_stderr(self, stderr: IO[str]) -> None:
        for line in stderr:
            self._stderr.append(line)

    def output(self) -> list[str]:
        """The stdout lines so far."""
        return [text for _, text in self.lines]

    def text(self) -> str:
        return "\n".join(self.output())

    def stderr(self) -> str:
        """Everything written to stderr so far."""
        return "".join(self._stderr)

    def running(self) -> bool:
        return self.process.poll() is None

    def wait_for_line(self, matches: Callable[[str], bool], timeout: float, start: int = 0) -> tuple[float, str]:
        """(arrival time, text) of the first line from `start` on that `matches`; AssertionError after `timeout`
        seconds, or as soon as the process has exited without printing one."""
        def first_match() -> tuple[float, str] | None:
            return next(((arrived, text) for arrived, text in self.lines[start:] if matches(text)), None)

        return wait_until(first_match, timeout, "a matching line", alive=self)

    def serving_port(self, timeout: float = 20.0) -> int:
        """The port of a `-w` started on port 0, from its `serving ... on http://HOST:PORT/` line."""
        _, line = self.wait_for_line(lambda text: text.startswith("serving "), timeout)
        found = re.search(r":(\d+)/ ", line)
        assert found is not None, line
        return int(found.group(1))

    def stop(self, signum: int = signal.SIGINT, timeout: float = 10.0) -> tuple[int, str]:
        """Send `signum`, wait up to `timeout` seconds for the exit (then SIGKILL); (exit status, stderr)."""
        if self.running():
            self.process.send_signal(signum)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self._join_readers()
        return self.process.returncode, self.stderr()

    def kill(self) -> None:
        """SIGKILL at once, as a crash would; nothing if it has exited already."""
        if self.running():
            self.process.kill()
        self.process.wait(5)

    def _join_readers(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)

    def describe(self) -> str:
        return (f"monitoringApp.py {' '.join(self.args)} (exit status {self.process.poll()})\n"
                f"stdout:\n{self.text()}\nstderr:\n{self.stderr()}")


def check_monitor_exit(process: subprocess.Popen[bytes]) -> None:
    """RuntimeError with the end of its stderr unless the stopped monitor `process` exited 0: a bench run's
    figures are worth nothing from a monitor that failed."""
    if process.returncode != 0:
        said = process.stderr.read().decode()[-2000:] if process.stderr else ""
        raise RuntimeError(f"monitor exited {process.returncode}: {said}")


def stop_process(process: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 10.0) -> None:
    """SIGTERM and wait up to `timeout` seconds, then SIGKILL: a server or a peer the bench started, stopped."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def run_app(*args: str, timeout: float, cwd: Path = REPO, env: dict[str, str] | None = None,
            unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    """`./monitoringApp.py *args` run in `cwd` to its exit, output captured; TimeoutExpired after `timeout` s.
    `env` and `unprivileged` as for `App`."""
    return subprocess.run(_command(args, unprivileged), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def exit_after_output_closed(*args: str, first: str, timeout: float = 15.0, lines: int = 1) -> tuple[int, str, float]:
    """`./monitoringApp.py *args` read as `| head -1` (`| head -N`: `lines`) does: its first line (which must start
    with `first`), and the others, then its output closed. Its exit status, its stderr, and the seconds it took to
    exit once closed."""
    process = subprocess.Popen([sys.executable, str(ENTRY), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        assert line.startswith(first), line
        for _ in range(lines - 1):
            process.stdout.readline()
        process.stdout.close()
        closed = time.monotonic()
        status = process.wait(timeout=timeout)
        return status, process.stderr.read(), time.monotonic() - closed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def wait_until(condition: Callable[[], T | None], timeout: float, what: str = "the condition", *,
               step: float = 0.05, alive: App | None = None) -> T:
    """The first truthy value of `condition()`, polled every `step` seconds. AssertionError naming `what`
    after `timeout` seconds, or as soon as `alive` (an app the condition depends on) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if alive is not None and not alive.running():
            alive._join_readers()  # its last output may still be in the pipe
            value = condition()
            if value:
                return value
            raise AssertionError(f"exited while waiting for {what}: {alive.describe()}")
        if time.monotonic() >= deadline:
            detail = f"; {alive.describe()}" if alive is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(step)
