"""Stock compositions reactivex's type hints cannot express: a filter that narrows, a completion signal, the
items of a stream of batches, and a logic class's verdicts on a stream of events (or batches of them) and the
policies that judge them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeGuard, TypeVar, cast

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler import ImmediateScheduler

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


def each_at_once(items: Iterable[T]) -> Observable[T]:
    """`items` as an observable that gives them all at subscription, before the next event comes in.

    Immediate, not `from_iterable`'s default trampoline: inside `flat_map`, a batch's items go out while the
    batch is delivered, so they keep their place in the stream.

    >>> reactivex.of((1, 2), (), (3,)).pipe(ops.flat_map(each_at_once)).subscribe(print)
    1
    2
    3
    <...>
    """
    return reactivex.from_iterable(items, ImmediateScheduler.singleton())


def unbatched() -> Callable[[Observable[tuple[T, ...]]], Observable[T]]:
    """The items of each batch, one at a time and in order: for a subscriber that takes one item at a time.

    ```text
    source:  --(a,b)----(c)--|
             [unbatched()]
    out:     --ab-------c----|
    ```

    >>> reactivex.of((1, 2), (3,)).pipe(unbatched()).subscribe(print)
    1
    2
    3
    <...>
    """
    return ops.flat_map(each_at_once)


_NO_VERDICTS: tuple[Any, ...] = ()


def judged_by(policies: Observable[P], judge: Callable[[], Callable[[T | P], V | None]],
              ) -> Callable[[Observable[T | tuple[T, ...]]], Observable[V]]:
    """The verdicts of a fresh `judge()` (a logic class's `on_event`, per subscription) on the source's events
    and the policies in force: policies merged in first, so one known at subscription judges the first event.
    A tuple in the source is a batch of events, judged one by one as if they had come one at a time, with
    reactivex's plumbing paid once for the batch (its verdicts go out in order, at once).

    ```text
    source:    --e1----e2----(e3,e4)--|
    policies:  P-----------------------
               [judged_by(policies, lambda: logic.on_event)]
    out:       --------------V(e3)-----|
    ```

    >>> reactivex.of(1, 2, (3, 4, 3)).pipe(
    ...     judged_by(reactivex.just(2), lambda: lambda n: n if n == 3 else None)).subscribe(print)
    3
    3
    <...>
    """

    def operator(source: Observable[T | tuple[T, ...]]) -> Observable[V]:
        def factory(_: abc.SchedulerBase | None) -> Observable[V]:
            on_event = judge()

            def verdicts(event: T | P | tuple[T, ...]) -> tuple[V, ...] | list[V]:
                if isinstance(event, tuple):
                    return [verdict for verdict in map(on_event, event) if verdict is not None]
                verdict = on_event(event)
                return _NO_VERDICTS if verdict is None else (verdict,)

            events: Observable[T | P | tuple[T, ...]] = reactivex.merge(policies, source)
            found: Observable[tuple[V, ...] | list[V]] = events.pipe(ops.map(verdicts), ops.filter(bool))
            return found.pipe(ops.flat_map(each_at_once))

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
