"""Labelled question sets (CSV: question, expected), as `eval answers` and `calibrate
answers` read them."""

from __future__ import annotations

import sys
from pathlib import Path

from content.knowledge.question_sets import expected_parts, read_set


def check_sets(paths: list[Path], known: set[str]) -> tuple[dict[Path, list[tuple[str, str]]], int]:
    """The readable sets whose expected entry ids all exist (citations are not checked here)."""

    sets: dict[Path, list[tuple[str, str]]] = {}
    status = 0
    for path in paths:
        try:
            rows = read_set(path)
        except OSError as error:
            print(f"{path}: cannot read ({error.strerror})", file=sys.stderr)
            status = 1
            continue
        unknown = sorted(
            {
                part
                for _, expected in rows
                for part in expected_parts(expected)
                if " " not in part and part not in known
            }
        )
        if unknown:
            print(f"{path}: expected ids not in the knowledge base: {', '.join(unknown)}", file=sys.stderr)
            status = 1
            continue
        sets[path] = rows
    return sets, status


def outcome_line(label: str, numbers: dict[str, float | int]) -> str:
    return (
        f"{label}: {numbers['questions']} questions: correct {numbers['correct_share']:.1%} "
        f"({numbers['correct']}), wrong {numbers['wrong_share']:.1%} ({numbers['wrong']}), "
        f"handed over {numbers['handed_over_share']:.1%} ({numbers['handed_over']})"
    )
