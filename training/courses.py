"""The course: modules of lessons written from the law texts, read in short steps, and the
plan that spreads them over days (the notice asks for at least three days of training).

Files: content/data/training/courses/*.toml, one module each: its id, the plan's day, the
date its text was last checked against the law, titles in Chinese and English, and lessons
of a few steps, each lesson citing its articles. Loading checks every file and refuses the
course with every problem listed, like the question bank: a citation that is not an article
of the shipped law texts, a lesson id used twice, a step too long for a small phone's screen,
a missing language.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from content.knowledge.model import read_toml_files
from kernel.data_files import DataFileProblems
from training.bank import QUESTIONS_DIR, check_citations, law_articles

COURSES_DIR = QUESTIONS_DIR.parent / "courses"
LANGUAGES = (("zh_Hans", "zh"), ("en", "en"))
STEP_LIMITS = {"zh_Hans": 200, "en": 500}  # characters: one screen of a small phone


class CourseError(DataFileProblems):
    pass


@dataclass(frozen=True)
class Lesson:
    id: str
    module_id: str
    titles: dict[str, str]  # by language
    steps: tuple[dict[str, str], ...]  # each step by language
    citations: tuple[str, ...]


@dataclass(frozen=True)
class Module:
    id: str
    day: int  # the day of the plan it is taught on
    reviewed: date
    titles: dict[str, str]
    lessons: tuple[Lesson, ...]


@dataclass(frozen=True)
class Course:
    modules: tuple[Module, ...]

    @property
    def lessons(self) -> tuple[Lesson, ...]:
        return tuple(lesson for module in self.modules for lesson in module.lessons)

    def lesson(self, lesson_id: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)

    def module(self, module_id: str) -> Module | None:
        return next((module for module in self.modules if module.id == module_id), None)

    @property
    def days(self) -> int:
        """The days of the plan."""
        return max((module.day for module in self.modules), default=0)


def load_course(directory: Path = COURSES_DIR, articles: Set[tuple[str, int]] | None = None) -> Course:
    known = articles if articles is not None else law_articles()
    problems: list[str] = []
    modules: list[Module] = []
    if not any(directory.glob("*.toml")):
        raise CourseError([f"no course files in {directory}"])
    for path, data in read_toml_files(directory, problems):
        module = _module(data, path.name, known, problems)
        if module is not None:
            modules.append(module)
    _check_unique(modules, problems)
    if problems:
        raise CourseError(problems)
    return Course(tuple(sorted(modules, key=lambda m: (m.day, m.id))))


def _titles(raw: dict[str, Any], where: str, problems: list[str]) -> dict[str, str]:
    titles = {language: str(raw.get(f"title_{key}", "")).strip() for language, key in LANGUAGES}
    if not all(titles.values()):
        problems.append(f"{where}: title_zh and title_en are both needed")
    return titles


def _module(
    data: dict[str, Any], where: str, known: Set[tuple[str, int]], problems: list[str]
) -> Module | None:
    before = len(problems)
    raw = data.get("module")
    if not isinstance(raw, dict):
        problems.append(f"{where}: the [module] table is missing")
        return None
    module_id = str(raw.get("id", "")).strip()
    day = raw.get("day")
    reviewed = raw.get("reviewed")
    if not module_id:
        problems.append(f"{where}: the module has no id")
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 30:
        problems.append(f"{where}: day must be a whole number from 1 to 30")
    if isinstance(reviewed, str):
        try:
            reviewed = date.fromisoformat(reviewed)
        except ValueError:
            reviewed = None
    if not isinstance(reviewed, date):
        problems.append(f"{where}: reviewed must be the date the text was checked (YYYY-MM-DD)")
    titles = _titles(raw, where, problems)
    lessons = []
    for number, lesson in enumerate(data.get("lesson", []), start=1):
        made = _lesson(lesson, module_id, f"{where} lesson {number}", known, problems)
        if made is not None:
            lessons.append(made)
    if not data.get("lesson"):
        problems.append(f"{where}: a module needs at least one lesson")
    if len(problems) > before:
        return None
    assert isinstance(day, int) and isinstance(reviewed, date)
    return Module(module_id, day, reviewed, titles, tuple(lessons))


def _lesson(
    raw: Any, module_id: str, where: str, known: Set[tuple[str, int]], problems: list[str]
) -> Lesson | None:
    before = len(problems)
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a table")
        return None
    lesson_id = str(raw.get("id", "")).strip()
    if not lesson_id:
        problems.append(f"{where}: the lesson has no id")
    else:
        where = f"{where} ({lesson_id})"
    titles = _titles(raw, where, problems)
    citations = tuple(str(c).strip() for c in raw.get("citations", []) if str(c).strip())
    if not citations:
        problems.append(f"{where}: every lesson cites at least one article")
    check_citations(citations, where, known, problems)
    steps: list[dict[str, str]] = []
    for number, step in enumerate(raw.get("step", []), start=1):
        texts = {language: str(step.get(key, "")).strip() for language, key in LANGUAGES}
        for language, text in texts.items():
            if not text:
                problems.append(f"{where} step {number}: the {language} text is missing")
            elif len(text) > STEP_LIMITS[language]:
                problems.append(
                    f"{where} step {number}: the {language} text has {len(text)} characters, "
                    f"more than {STEP_LIMITS[language]} (one screen)"
                )
        steps.append(texts)
    if not steps:
        problems.append(f"{where}: a lesson needs at least one step")
    if len(problems) > before:
        return None
    return Lesson(lesson_id, module_id, titles, tuple(steps), citations)


def _check_unique(modules: list[Module], problems: list[str]) -> None:
    module_ids: set[str] = set()
    lesson_ids: set[str] = set()
    for module in modules:
        if module.id in module_ids:
            problems.append(f"module id {module.id!r} is used twice")
        module_ids.add(module.id)
        for lesson in module.lessons:
            if lesson.id in lesson_ids:
                problems.append(f"lesson id {lesson.id!r} is used twice")
            lesson_ids.add(lesson.id)
