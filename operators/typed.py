"""Two stock compositions reactivex's type hints cannot express: a filter that narrows, and a completion signal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeGuard, TypeVar, cast

from reactivex import Observable
from reactivex import operators as ops

T = TypeVar("T")
U = TypeVar("U")


def keep(guard: Callable[[T], TypeGuard[U]]) -> Callable[[Observable[T]], Observable[U]]:
    """`ops.filter(guard)`, the items typed as what `guard` proves of them.

    >>> import reactivex
    >>> reactivex.of(1, "a", 2).pipe(keep(lambda x: isinstance(x, int))).subscribe(print)
    1
    2
    <...>
    """
    return cast(Callable[[Observable[T]], Observable[U]], ops.filter(guard))


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
