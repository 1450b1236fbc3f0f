"""Availability as people read it: a percentage that never reads as a threshold it is below."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal


def percent_text(fraction: float, decimals: int = 1, thresholds: Iterable[float] = (), *,
                 below: bool = False) -> str:
    """`fraction` (0 to 1) as a percentage with `decimals` decimals, rounded to the nearest, except where that
    would show a fraction below a threshold as the threshold or more: then rounded down, to the side it is on.

    `thresholds` are the ones the reader compares it with (100 % among them: 99.96 % is not "100.0%");
    `below` says it is below a threshold not known here (an alert's availability is below its site's
    alertThreshold, which the stored row does not carry), so it is never rounded up.

    >>> percent_text(2 / 3), percent_text(0.7996), percent_text(0.7996, below=True)
    ('66.7%', '80.0%', '79.9%')
    >>> percent_text(0.99999, 2, thresholds=[1.0]), percent_text(0.98996, 2, thresholds=[0.99])
    ('99.99%', '98.99%')
    """
    # The shortest decimal that is the float (29/100 is 0.29, not 0.28999...): rounding down stays exact.
    value = Decimal(repr(fraction)) * 100
    step = Decimal(1).scaleb(-decimals)
    shown = value.quantize(step, ROUND_HALF_EVEN)
    if below or any(fraction < threshold and shown >= Decimal(repr(threshold)) * 100 for threshold in thresholds):
        shown = value.quantize(step, ROUND_FLOOR)
    return f"{shown}%"
