"""Tables of figures, printed as each test ends (with -s) and again at the end of the run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TABLES: list[str] = []


def table(title: str, rows: Sequence[dict[str, Any]], notes: Sequence[str] = ()) -> str:
    """A plain-text table; every row has the same keys, in order."""
    columns = list(rows[0]) if rows else []
    cells = [[str(row[column]) for column in columns] for row in rows]
    widths = [max(len(column), *(len(row[i]) for row in cells)) for i, column in enumerate(columns)]
    lines = [
        title,
        "  ".join(column.rjust(width) for column, width in zip(columns, widths, strict=True)),
    ]
    lines.append("  ".join("-" * width for width in widths))
    lines += [
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines += [f"  {note}" for note in notes]
    return "\n".join(lines)


def record(title: str, rows: Sequence[dict[str, Any]], notes: Sequence[str] = ()) -> None:
    if not rows:
        return  # the run was cut short before any figure
    text = table(title, rows, notes)
    TABLES.append(text)
    print(f"\n{text}")
