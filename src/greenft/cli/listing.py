"""Lists that people read and scripts parse: one ``--format table|csv|json`` choice and its three writers.

A rich table is for a terminal; folded to 80 columns or piped, its cells break mid-word (``clint``/``ox``) and
``| grep`` stops working. So every list command builds typed rows (a pydantic model per row) and hands them
here: ``csv`` and ``json`` write the rows' fields as they are (numbers as numbers, no thousands separators,
no markup), and ``table`` prints the command's own table, whose key column it sets to ``no_wrap``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table


class ListFormat(StrEnum):
    """How a list command writes its rows."""

    table = "table"  # for people: a rich table, key column never broken
    csv = "csv"  # for scripts: a header, then one line per row (csv module quoting)
    json = "json"  # for scripts: an array of objects, one per row


def print_rows(rows: Sequence[BaseModel], fmt: ListFormat, table: Table, console: Console) -> None:
    """Write ``rows`` as ``fmt``; ``table`` (already filled from the same rows) is what ``table`` prints."""
    if fmt is ListFormat.table:
        console.print(table)
    elif fmt is ListFormat.json:
        sys.stdout.write(json.dumps([row.model_dump(mode="json") for row in rows], indent=1) + "\n")
    else:
        fields = list(type(rows[0]).model_fields) if rows else []
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.model_dump(mode="json").items()})
