"""Every CSV the service writes goes through one function, which keeps formulas as text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from api.spreadsheets import cell, csv_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example/","点我")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "\n=1+1",
        "  =1+1",
        "＝1+1",
        "＠SUM(A1)",
    ],
)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("value", ["菜场", "a=b", "2026-11-01", "", 0, -65, None])
def test_other_text_and_numbers_are_written_as_they_are(value: object) -> None:
    assert cell(value) == value


def test_every_cell_of_every_row_goes_through_cell() -> None:
    text = csv_text([["=1", "x"], [-5, "@y"]])
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [["'=1", "x"], ["-5", "'@y"]]


def test_only_the_spreadsheets_module_writes_csv() -> None:
    writers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("api", "ledger")
        for path in (ROOT / folder).rglob("*.py")
        if "csv.writer(" in path.read_text() or "csv.DictWriter(" in path.read_text()
    ]
    assert writers == ["api/spreadsheets.py"]
