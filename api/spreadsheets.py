"""CSV files for spreadsheets: every CSV the service writes goes through `csv_text`, which
writes every text cell through `cell`, so a name a spreadsheet would run as a formula
(`=HYPERLINK(…)`) arrives as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

# Excel, LibreOffice and Sheets start a formula at these; Excel also at their full-width
# forms, which Chinese input methods type. Tab and line breaks can push a cell's text past a
# check that looks only at the first character, so they count too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def cell(value: Any) -> Any:
    """Text that a spreadsheet would take for a formula, also after leading spaces, gets a
    leading apostrophe (the spreadsheet's own mark for "this is text"); numbers, dates and
    other non-text values are written as they are."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """The rows as CSV text, every cell through `cell`, with a BOM so that Excel opens
    Chinese names correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([cell(value) for value in row] for row in rows)
    return "\ufeff" + buffer.getvalue()
