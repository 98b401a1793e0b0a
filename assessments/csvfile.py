"""The CSV files the tool writes (the action plan, the audit trail of the inquiry bundle): semicolon-separated
UTF-8 with a BOM, as Swedish spreadsheets expect, and safe to open.

Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or
``@`` (and, in some, a tab or a carriage return) as a formula, so a measure titled ``=HYPERLINK(…)`` would act
for every reader of the file. Such a cell is written with a leading single quote, which spreadsheets show as
text. A cell that itself begins with a quote gets one too, so that :func:`read_rows` gives every value back
exactly as it was written: the prefix is the only change, and it is always one character.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"
BOM = "\ufeff"


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return PREFIX + text if text.startswith(FORMULA_START + (PREFIX,)) else text


def original_cell(cell: str) -> str:
    return cell[len(PREFIX):] if cell.startswith(PREFIX) else cell


def write_rows(rows: Iterable[Iterable[Any]]) -> str:
    """The CSV text (with its BOM) of ``rows``, every cell through :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return BOM + out.getvalue()


def read_rows(text: str) -> list[list[str]]:
    """The values of a file written by :func:`write_rows`, as they were before the neutralising prefix."""
    reader = csv.reader(io.StringIO(text.removeprefix(BOM), newline=""), delimiter=";")
    return [[original_cell(cell) for cell in row] for row in reader]
