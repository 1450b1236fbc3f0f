"""The config file as a stream: a path in, each new valid `Config` version and each rejection out."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeGuard

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from monitoringapp.domain.config import Config
from monitoringapp.operators.typed import each_at_once
from monitoringapp.streams.config_state import ConfigBack, ConfigFileState, ConfigNews, ConfigRejected

POLL_INTERVAL = 0.5
ConfigUpdate = Config | ConfigRejected | ConfigBack


def config_updates(
    path: str | Path,
    scheduler: abc.SchedulerBase,
    *,
    every: float = POLL_INTERVAL,
    pokes: Observable[Any] | None = None,
    running: Config | None = None,
    probing: bool,
) -> Observable[ConfigUpdate]:
    """New valid versions of the config file at `path`, rejected ones, and the file valid again after a
    rejection or an absence (`ConfigBack`, before the version it brings), noticed within `every` seconds
    on `scheduler` or at once on an item of `pokes` (SIGHUP).

    `running` is the version the caller already runs with, so that it is not emitted again. `probing`: each version
    read as the probe sends it (`-m`: its `${NAME}`s resolved, its caFiles checked), or as written (`-w` shows the
    sites only, and needs none of the prober's secrets); `running` must have been read the same way.

    ```text
    polls:   --x--x--x--x--x--x--x--    (the file: v1 ... v2 saved ... broken ... broken ... v3 saved)
             [config_updates(path, scheduler, running=v1, probing=True)]
    out:     -----v2----------R(broken)--(B,v3)--
    ```

    Example: ``config_updates("config.json", EventLoopScheduler(), probing=True).pipe(ops.filter(is_version))``
    """

    def factory(_: abc.SchedulerBase | None) -> Observable[ConfigUpdate]:
        state = ConfigFileState(Path(path), running, probing=probing)
        polls: Observable[Any] = reactivex.interval(every, scheduler)
        triggers = polls if pokes is None else reactivex.merge(polls, pokes)
        checks: Observable[ConfigNews] = triggers.pipe(ops.map(lambda _: state.check()))
        return checks.pipe(ops.flat_map(each_at_once))

    return reactivex.defer(factory)


def is_version(update: ConfigUpdate) -> TypeGuard[Config]:
    return isinstance(update, Config)


def is_rejection(update: ConfigUpdate) -> TypeGuard[ConfigRejected]:
    return isinstance(update, ConfigRejected)


def is_back(update: ConfigUpdate) -> TypeGuard[ConfigBack]:
    return isinstance(update, ConfigBack)
