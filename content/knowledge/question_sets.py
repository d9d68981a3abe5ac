"""Labelled question sets: CSV rows of (question, expected), where expected is an entry id,
one or more article citations separated by `|` (any of them is right), or nothing for a
question outside the assistant's scope (eval/README.md)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from content.knowledge.model import DATA_DIR

EVAL_DIR = DATA_DIR / "eval"
# The tuning sets: the confidence model is fitted on them and their questions are the
# labelled examples; every other set in EVAL_DIR is held out (eval/README.md).
DEV_SETS = (
    "laws_dev.csv",
    "laws_dev2.csv",
    "laws_dev3.csv",
    "laws_dev4.csv",
    "laws_dev5.csv",
    "dev.csv",
    "contrib_dev.csv",
    "contrib_dev2.csv",
    "out_of_scope.csv",
    "out_of_scope_dev2.csv",
    "laws_dev6.csv",
    "contrib_dev3.csv",
    "contrib_dev4.csv",
    "out_of_scope_dev3.csv",
    "laws_dev7.csv",
    "contrib_dev5.csv",
    "laws_dev8.csv",
    "contrib_dev6.csv",
    "laws_dev9.csv",
    "laws_dev10.csv",
    "contrib_dev7.csv",
    "contrib_dev8.csv",
    "contrib_dev9.csv",
    "contrib_dev10.csv",
    "contrib_dev11.csv",
    "contrib_dev12.csv",
    "contrib_dev13.csv",
    "contrib_dev14.csv",
    "contrib_dev15.csv",
    "contrib_dev16.csv",
    "entries_dev.csv",
    "entries_dev2.csv",
    "entries_dev3.csv",
)


def read_set(path: Path) -> list[tuple[str, str]]:
    """A labelled question set: CSV rows of (question, expected), a header row optional."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    if rows and [cell.strip().lower() for cell in rows[0][:2]] in (
        ["question", "expected"],
        ["question", "expected_id"],
    ):
        rows = rows[1:]
    return [(row[0].strip(), (row[1].strip() if len(row) > 1 else "")) for row in rows]


def expected_parts(expected: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in expected.split("|") if part.strip())


def normalise_citation(text: str) -> str:
    return re.sub(r"\s+", "", text)
