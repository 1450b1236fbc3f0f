"""The resolver: a lookup that does not answer is waited for only until the caller's deadline, on a bounded number of
threads of its own; IP literals and the hosts file's names on the caller's thread. The DNS server that does not
answer is `tests.local_dns.SilentLookup`, a lookup that really blocks its thread until the test's end."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.processes import wait_until
from monitoringapp.transport.resolver import LookupTimedOut, Resolver, hosts_file_names
from tests.local_dns import UNANSWERED, SilentLookup

TCP = socket.SOCK_STREAM


def within(seconds: float) -> Callable[[], float]:
    deadline = time.monotonic() + seconds
    return lambda: deadline - time.monotonic()


def test_a_lookup_that_does_not_answer_is_given_up_at_the_deadline_and_ends_on_its_own_in_its_thread(
        silent: SilentLookup) -> None:
    resolver = Resolver(silent, at_once=())
    with pytest.raises(LookupTimedOut, match=f"^\\[Errno {socket.EAI_AGAIN}\\] the lookup of {UNANSWERED} did not "
                                             "answer within the timeout$"):
        resolver.resolve(UNANSWERED, 80, 0, TCP, within(0.2))
    assert silent.entered.is_set() and not silent.release.is_set(), "given up on while the lookup still blocked"
    assert (resolver.pending, resolver.running, silent.ended) == (1, 1, 0)
    silent.release.set()
    wait_until(lambda: resolver.pending == 0, 5, "the lookup's end in its thread")
    assert silent.ended == 1


def test_lookups_of_a_name_that_does_not_answer_share_one_thread_however_often_it_is_probed(
        silent: SilentLookup) -> None:
    resolver = Resolver(silent, at_once=())
    for _ in range(3):
        with pytest.raises(LookupTimedOut):
            resolver.resolve(UNANSWERED, 80, 0, TCP, within(0.1))
    assert silent.hosts() == [UNANSWERED], "the later ones waited for the lookup under way"
    assert resolver.running == 1


def test_with_every_thread_busy_a_lookup_waits_in_line_only_until_its_deadline_then_leaves_it(
        silent: SilentLookup) -> None:
    resolver = Resolver(silent, threads=1, at_once=())
    with pytest.raises(LookupTimedOut):
        resolver.resolve(UNANSWERED, 80, 0, TCP, within(0.1))
    with pytest.raises(LookupTimedOut, match=r"the lookup of localhost did not start within the timeout: all 1 "
                                             r"lookup threads were busy$"):
        resolver.resolve("localhost", 80, 0, TCP, within(0.1))
    assert (silent.hosts(), resolver.pending, resolver.running) == ([UNANSWERED], 1, 1), \
        "out of the line: no thread will look it up for nobody"
    silent.release.set()
    wait_until(lambda: resolver.pending == 0, 5, "the silent lookup's end")
    assert resolver.resolve("localhost", 80, 0, TCP, within(5.0)), "the thread, free again, serves the next"


def test_a_failing_lookup_raises_its_own_error_to_the_caller() -> None:
    def nonexistent(host: str, port: int, family: int, kind: int) -> list[tuple[object, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(socket.gaierror, match="Name or service not known") as raised:
        Resolver(nonexistent, at_once=()).resolve("nonexistent.invalid", 80, 0, TCP, within(5.0))
    assert not isinstance(raised.value, LookupTimedOut)


def test_ip_literals_and_the_hosts_files_names_are_looked_up_on_the_callers_thread_others_not() -> None:
    lookup = SilentLookup()
    for host in ("127.0.0.1", "::1", "localhost", "LocalHost"):
        Resolver(lookup, at_once=["localhost"]).resolve(host, 80, 0, TCP, lambda: 0.0)  # nothing may be waited for
    assert {thread for _, thread in lookup.looked_up} == {threading.current_thread()}
    Resolver(lookup, at_once=()).resolve("localhost", 80, 0, TCP, within(5.0))
    assert lookup.looked_up[-1][1] is not threading.current_thread()


def test_the_hosts_files_names_are_read_with_localhost_always_among_them(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("# comment\n127.0.0.1 Box box.local  # the machine\n::1 ip6-localhost\n\n")
    assert hosts_file_names(str(hosts)) == {"box", "box.local", "ip6-localhost", "localhost"}
    assert hosts_file_names(str(tmp_path / "none")) == {"localhost"}
