"""The config file watcher in virtual time over real files: which edits yield a version, and when."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from reactivex.testing import ReactiveTest, TestScheduler

from monitoringapp.domain.config import Config
from monitoringapp.streams.config_file import read_config
from monitoringapp.streams.config_state import ConfigBack, ConfigRejected
from monitoringapp.streams.config_watch import ConfigUpdate, config_updates

on_next = ReactiveTest.on_next


def site_config(*urls: str, interval: float = 2) -> str:
    return json.dumps({"websites": [{"URL": url, "checkInterval": interval} for url in urls]})


class Watch:
    """A watcher on `path` subscribed at t=0 on a TestScheduler, polling every 0.5 s (`probing`: as -m reads it)."""

    def __init__(self, path: Path, pokes: list[float] | None = None, *, probing: bool = True) -> None:
        self.path = path
        self.scheduler = TestScheduler()
        self.versions: list[tuple[float, Config]] = []
        self.rejected: list[tuple[float, str]] = []
        self.back: list[tuple[float, str]] = []
        poke_source = (self.scheduler.create_hot_observable(*(on_next(t, None) for t in pokes))
                       if pokes else None)

        def record(update: ConfigUpdate) -> None:
            if isinstance(update, ConfigRejected):
                self.rejected.append((self.scheduler.clock, str(update.error)))
            elif isinstance(update, ConfigBack):
                self.back.append((self.scheduler.clock, update.message()))
            else:
                self.versions.append((self.scheduler.clock, update))

        config_updates(path, self.scheduler, every=0.5, pokes=poke_source, running=read_config(path, probing=probing),
                       probing=probing).subscribe(record)

    def at(self, time: float, change: object = None) -> None:
        """Advance to just before `time`, then run `change` (a file edit) there."""
        self.scheduler.advance_to(time)
        if callable(change):
            change()

    def urls(self) -> list[tuple[float, list[str]]]:
        return [(t, [s.url for s in config.sites]) for t, config in self.versions]


def test_in_place_edit_is_one_version_at_the_next_poll_and_unchanged_polls_yield_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(site_config("http://a.test/"))
    watch = Watch(path)
    watch.at(2.2, lambda: path.write_text(site_config("http://a.test/", "http://b.test/")))
    watch.at(10)
    assert watch.urls() == [(2.5, ["http://a.test/", "http://b.test/"])]
    assert watch.rejected == []


def test_write_temp_then_rename_is_noticed_like_an_edit(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(site_config("http://a.test/"))
    watch = Watch(path)

    def editor_save() -> None:
        temp = tmp_path / ".config.json.swp"
        temp.write_text(site_config("http://c.test/"))
        os.replace(temp, path)

    watch.at(1.1, editor_save)
    watch.at(5)
    assert watch.urls() == [(1.5, ["http://c.test/"])]


def test_mounted_directory_symlink_swap_is_noticed(tmp_path: Path) -> None:
    """Kubernetes-style: config.json -> ..data/config.json, and ..data is a symlink swapped atomically."""
    for version, url in (("v1", "http://a.test/"), ("v2", "http://b.test/")):
        (tmp_path / version).mkdir()
        (tmp_path / version / "config.json").write_text(site_config(url))
    (tmp_path / "..data").symlink_to("v1")
    path = tmp_path / "config.json"
    path.symlink_to("..data/config.json")
    watch = Watch(path)

    def swap() -> None:
        (tmp_path / "..data_tmp").symlink_to("v2")
        os.replace(tmp_path / "..data_tmp", tmp_path / "..data")

    watch.at(0.7, swap)
    watch.at(3)
    assert watch.urls() == [(1.0, ["http://b.test/"])]


def test_invalid_edit_is_rejected_once_at_the_poll_after_it_is_seen_and_the_next_valid_one_applies(
        tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(site_config("http://a.test/"))
    watch = Watch(path)
    watch.at(1.2, lambda: path.write_text('{"websites": [{"URL": "ftp://a.test/"}]}'))
    watch.at(3.2, lambda: path.write_text(site_config("http://a.test/", interval=5)))
    watch.at(6)
    assert watch.rejected == [
        (2.0, f'{path}: websites[0].URL: must use http, https or tcp, got "ftp://a.test/"')]
    assert [(t, c.sites[0].check_interval) for t, c in watch.versions] == [(3.5, 5.0)]
    assert watch.back == [(3.5, f"{path} is valid again")]  # said before the version it brings


def test_whitespace_only_change_and_return_to_the_running_version_yield_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(site_config("http://a.test/"))
    watch = Watch(path)
    watch.at(1.2, lambda: path.write_text(site_config("http://a.test/") + "\n\n"))
    watch.at(2.2, lambda: path.write_text("{"))
    watch.at(3.2, lambda: path.write_text(site_config("http://a.test/")))
    watch.at(5)
    assert watch.versions == []
    assert [t for t, _ in watch.rejected] == [3.0]
    assert "invalid JSON" in watch.rejected[0][1]
    assert watch.back == [(3.5, f"{path} is valid again, the same as the running config: nothing to reload")]


def test_a_moment_without_the_file_is_tolerated_but_a_lasting_absence_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(site_config("http://a.test/"))
    watch = Watch(path)
    moved = tmp_path / "config.json~"
    watch.at(1.2, lambda: path.rename(moved))       # the editor's backup step ...
    watch.at(1.7, lambda: moved.rename(path))       # ... and the file is back within one poll
    watch.at(3.2, path.unlink)
    watch.at(6)
    assert watch.rejected == [(4.0, f"{path}: config file not found")]
    watch.at(6.2, lambda: path.write_text(site_config("http://a.test/")))
    watch.at(7)
    assert watch.versions == [], "the file back as it was is not a new version"
    assert watch.back == [(6.5, f"{path} is back, the same as the running config: nothing to reload")]


def test_a_poke_reads_the_file_at_once_between_polls(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(site_config("http://a.test/"))
    watch = Watch(path, pokes=[1.3])
    watch.at(1.2, lambda: path.write_text(site_config("http://b.test/")))
    watch.at(3)
    assert watch.urls() == [(1.3, ["http://b.test/"])]


def test_a_save_caught_half_way_is_not_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(site_config("http://a.test/"))
    watch = Watch(path)
    watch.at(1.2, lambda: path.write_text(""))  # truncated, seen so at the poll at 1.5 ...
    watch.at(1.7, lambda: path.write_text(site_config("http://b.test/")))  # ... and written by 2.0
    watch.at(3)
    assert watch.rejected == []
    assert watch.urls() == [(2.0, ["http://b.test/"])]


def test_a_file_back_from_a_directory_or_too_large_says_which_of_them_is_over(tmp_path: Path) -> None:
    # Not "is back": the file was there all along, but no config file the monitor could read.
    path = tmp_path / "config.json"
    path.write_text(site_config("http://a.test/"))
    watch = Watch(path)
    watch.at(1.2, path.unlink)
    watch.at(1.3, path.mkdir)
    watch.at(3.2, path.rmdir)
    watch.at(3.3, lambda: path.write_text(site_config("http://a.test/")))
    watch.at(4.2, lambda: path.write_text(site_config("http://a.test/") + " " * 1024 * 1024))
    watch.at(6.2, lambda: path.write_text(site_config("http://b.test/")))
    watch.at(7)
    assert [text.split(": ", 1)[1] for _, text in watch.rejected] == [
        "is a directory, not a config file", "larger than 1024 kB: not a config file"]
    assert watch.back == [(3.5, f"{path} is a file again, the same as the running config: nothing to reload"),
                          (6.5, f"{path} is a config file again")]
    assert watch.urls() == [(6.5, ["http://b.test/"])]


def test_a_reader_follows_a_version_whose_secrets_and_ca_file_only_the_prober_has(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """-w follows the file too, and sends no request: a header's `${NAME}` not in its environment and a caFile it
    cannot read are the prober's business, not a rejection (the page would keep the old list for no reason)."""
    monkeypatch.delenv("WATCH_TEST_TOKEN", raising=False)
    path = tmp_path / "config.json"
    path.write_text(site_config("http://a.test/"))
    prober, reader = Watch(path), Watch(path, probing=False)
    new = json.dumps({"websites": [{"URL": "https://b.test/", "caFile": "missing-ca.pem",
                                    "headers": {"Authorization": "Bearer ${WATCH_TEST_TOKEN}"}}]})
    for watch in (prober, reader):
        watch.at(1.2)
    path.write_text(new)
    for watch in (prober, reader):
        watch.at(3)
    assert reader.urls() == [(1.5, ["https://b.test/"])] and reader.rejected == []
    assert reader.versions[0][1].sites[0].request.headers == (("Authorization", "Bearer ${WATCH_TEST_TOKEN}"),), \
        "as written: the reader resolves no secret"
    assert prober.versions == [] and [t for t, _ in prober.rejected] == [2.0]
