"""Stock compositions reactivex's type hints cannot express: a filter that narrows, a completion signal, and
a logic class's verdicts on a stream of events and the policies that judge them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeGuard, TypeVar, cast

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

T = TypeVar("T")
U = TypeVar("U")
P = TypeVar("P")
V = TypeVar("V")


def keep(guard: Callable[[T], TypeGuard[U]]) -> Callable[[Observable[T]], Observable[U]]:
    """`ops.filter(guard)`, the items typed as what `guard` proves of them.

    >>> import reactivex
    >>> reactivex.of(1, "a", 2).pipe(keep(lambda x: isinstance(x, int))).subscribe(print)
    1
    2
    <...>
    """
    return cast(Callable[[Observable[T]], Observable[U]], ops.filter(guard))


def _is_verdict(verdict: object) -> bool:
    return verdict is not None


def judged_by(policies: Observable[P], judge: Callable[[], Callable[[T | P], V | None]],
              ) -> Callable[[Observable[T]], Observable[V]]:
    """The verdicts of a fresh `judge()` (a logic class's `on_event`, per subscription) on the source's events
    and the policies in force: policies merged in first, so one known at subscription judges the first event.

    ```text
    source:    --e1----e2----e3--|
    policies:  P--------------------
               [judged_by(policies, lambda: logic.on_event)]
    out:       --------------V(e3)--|
    ```

    >>> reactivex.of(1, 2, 3).pipe(judged_by(reactivex.just(2), lambda: lambda n: n if n == 3 else None)).subscribe(
    ...     print)
    3
    <...>
    """

    def operator(source: Observable[T]) -> Observable[V]:
        def factory(_: abc.SchedulerBase | None) -> Observable[V]:
            events: Observable[T | P] = reactivex.merge(policies, source)
            verdicts: Observable[V | None] = events.pipe(ops.map(judge()))
            return cast(Observable[V], verdicts.pipe(ops.filter(_is_verdict)))  # None is what is left out

        return reactivex.defer(factory)

    return operator


def _nothing(_: object) -> None:
    return None


def on_completion() -> Callable[[Observable[Any]], Observable[None]]:
    """One None when the source completes, nothing before: what `take_until` needs to stop with a source.

    ```text
    source:  --a--b--|
             [on_completion()]
    out:     --------N|
    ```

    >>> import reactivex
    >>> reactivex.of(1, 2).pipe(on_completion()).subscribe(print)
    None
    <...>
    """
    none: None = None
    return lambda source: source.pipe(ops.ignore_elements(), ops.map(_nothing), ops.default_if_empty(none))
