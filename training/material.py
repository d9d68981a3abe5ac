"""The training material of a folder (the shipped content/data/training/, or an agency's
TRAINING_DIR): the course, the question bank and the exam rules, loaded together so that
every problem of every file is listed at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kernel.data_files import DataFileProblems
from training.bank import QUESTIONS_DIR, QuestionBank, load_bank
from training.courses import Course, load_course
from training.exam import ExamRules, load_rules

SHIPPED = QUESTIONS_DIR.parent


class TrainingMaterialProblems(DataFileProblems):
    pass


@dataclass(frozen=True)
class TrainingMaterial:
    course: Course
    bank: QuestionBank
    rules: ExamRules


def load_material(folder: Path = SHIPPED) -> TrainingMaterial:
    problems: list[str] = []
    loaded: list[object] = []
    for load, path in (
        (load_course, folder / "courses"),
        (load_bank, folder / "questions"),
        (load_rules, folder / "exam.toml"),
    ):
        try:
            loaded.append(load(path))
        except DataFileProblems as error:
            problems += error.problems
    if problems:
        raise TrainingMaterialProblems(problems)
    course, bank, rules = loaded
    assert isinstance(course, Course) and isinstance(bank, QuestionBank) and isinstance(rules, ExamRules)
    return TrainingMaterial(course, bank, rules)
