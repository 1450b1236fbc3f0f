"""Aligned plain-text tables: rows of cells in, lines out. Numbers align right, text left.

Widths are display widths, as a terminal shows them: an East Asian wide character takes two cells, a
combining mark none, so a URL such as `http://例え.jp/` keeps its row aligned.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

ELLIPSIS = "…"


def display_width(text: str) -> int:
    """The number of terminal cells `text` takes."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def shorten(text: str, width: int) -> str:
    """`text` cut to at most `width` cells, ending in an ellipsis when cut."""
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        cells = display_width(char)
        if used + cells > width - 1:
            break
        kept.append(char)
        used += cells
    return "".join(kept) + ELLIPSIS


def table_width(lines: Sequence[str]) -> int:
    return max((display_width(line) for line in lines), default=0)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                 right: Sequence[bool] | None = None, gap: int = 2, indent: str = "") -> list[str]:
    """Lines of a table whose columns are as wide as their widest cell, `gap` spaces apart."""
    widths = [display_width(h) for h in header]
    for row in rows:
        widths = [max(w, display_width(cell)) for w, cell in zip(widths, row, strict=True)]
    align = right if right is not None else [False] * len(header)
    separator = " " * gap

    def pad(cell: str, width: int, to_the_right: bool) -> str:
        room = " " * (width - display_width(cell))
        return room + cell if to_the_right else cell + room

    def line(cells: Sequence[str]) -> str:
        padded = (pad(cell, w, r) for cell, w, r in zip(cells, widths, align, strict=True))
        return (indent + separator.join(padded)).rstrip()

    return [line(header), *(line(row) for row in rows)]
