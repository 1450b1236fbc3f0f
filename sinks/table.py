"""Aligned plain-text tables: rows of cells in, lines out. Numbers align right, text left."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                 right: Sequence[bool] | None = None) -> list[str]:
    """Lines of a table whose columns are as wide as their widest cell."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    align = right if right is not None else [False] * len(header)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(w) if r else cell.ljust(w)
                         for cell, w, r in zip(cells, widths, align, strict=True)).rstrip()

    return [line(header), *(line(row) for row in rows)]
