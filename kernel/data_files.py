"""A data file the product ships or an agency edits (the training course, the question bank)
that cannot be used: every problem listed, so one fix round mends them all, and the command
that met it stops with the list instead of a traceback."""

from __future__ import annotations


class DataFileProblems(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
