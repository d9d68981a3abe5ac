"""Exams: a paper drawn at random per candidate with a fixed mix of topics, a time limit, a
pass mark, and a waiting period before a retake; marking is automatic.

The rules are content/data/training/exam.toml (the notice asks for an examination after the
training; the pass mark, the paper's size and mix, and the waiting period are the agency's
choice, default 80 %). A submission is refused, with the reason, when it comes after the time
limit (a minute of grace for the network), a second time, or from someone other than the
candidate the paper was drawn for.
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from kernel.data_files import DataFileProblems
from training.bank import QUESTIONS_DIR, QuestionBank

RULES_FILE = QUESTIONS_DIR.parent / "exam.toml"
GRACE = timedelta(minutes=1)  # a submission sent at the limit arrives a little after it


class ExamRulesError(DataFileProblems):
    pass


class NotEnoughQuestions(ValueError):
    """The bank has fewer questions on a topic than the paper's mix asks for."""


class Refusal(StrEnum):
    LATE = "late"
    ALREADY_SUBMITTED = "already_submitted"
    NOT_YOURS = "not_yours"
    TOO_SOON = "too_soon"  # a retake before the waiting period is over
    PASSED_ALREADY = "passed_already"
    COURSE_UNFINISHED = "course_unfinished"  # lessons unread, or too few days of study


@dataclass(frozen=True)
class ExamRules:
    mix: dict[str, int]  # topic -> questions on the paper
    time_limit: timedelta
    pass_mark: float  # the share of questions right needed to pass
    retake_after: timedelta
    min_training_days: int = 3  # days studied, every lesson read, before a first paper

    @property
    def size(self) -> int:
        return sum(self.mix.values())


def load_rules(path: Path = RULES_FILE) -> ExamRules:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        mix = {str(topic): int(count) for topic, count in data.get("mix", {}).items()}
        rules = ExamRules(
            mix,
            timedelta(minutes=float(data.get("time_limit_minutes", 30))),
            float(data.get("pass_mark", 0.8)),
            timedelta(days=float(data.get("retake_after_days", 7))),
            int(data.get("min_training_days", 3)),
        )
    except (
        OSError,
        UnicodeDecodeError,
        tomllib.TOMLDecodeError,
        TypeError,
        ValueError,
        AttributeError,
    ) as error:
        raise ExamRulesError([f"{path.name}: cannot be read ({error})"]) from error
    if not mix or any(count < 1 for count in mix.values()):
        raise ExamRulesError([f"{path.name}: [mix] needs at least one topic with one question or more"])
    if (
        not 0 < rules.pass_mark <= 1
        or rules.time_limit <= timedelta(0)
        or rules.retake_after < timedelta(0)
        or rules.min_training_days < 0
    ):
        raise ExamRulesError(
            [
                f"{path.name}: pass_mark in (0, 1], a positive time limit, a waiting period >= 0, "
                "min_training_days >= 0"
            ]
        )
    return rules


@dataclass(frozen=True)
class Paper:
    question_ids: tuple[str, ...]


def draw_paper(bank: QuestionBank, rules: ExamRules, rng: random.Random) -> Paper:
    """The mix of topics, questions drawn at random within each, in a random order."""
    topics = bank.by_topic()
    chosen: list[str] = []
    for topic, count in rules.mix.items():
        pool = topics.get(topic, [])
        if len(pool) < count:
            raise NotEnoughQuestions(
                f"topic {topic!r}: {len(pool)} questions in the bank, {count} on a paper"
            )
        chosen += [question.id for question in rng.sample(pool, count)]
    rng.shuffle(chosen)
    return Paper(tuple(chosen))


@dataclass(frozen=True)
class Marking:
    right: int
    total: int
    passed: bool
    wrong: tuple[str, ...]  # the ids of the questions answered wrongly or not at all

    @property
    def score(self) -> float:
        return self.right / self.total if self.total else 0.0


def mark(bank: QuestionBank, paper: Paper, answers: Mapping[str, Iterable[str]], rules: ExamRules) -> Marking:
    """Each question right only when exactly its answer was given; unanswered is wrong."""
    wrong = []
    for question_id in paper.question_ids:
        question = bank.get(question_id)
        if question is None or not question.is_right(answers.get(question_id, ())):
            wrong.append(question_id)
    total = len(paper.question_ids)
    right = total - len(wrong)
    return Marking(right, total, total > 0 and right / total >= rules.pass_mark, tuple(wrong))


def submission_refusal(
    *,
    candidate: int,
    submitted_by: int,
    started_at: datetime,
    submitted_at: datetime | None,
    now: datetime,
    rules: ExamRules,
) -> Refusal | None:
    """Why a submission cannot be marked, or None. `submitted_at`: when this paper was
    submitted before (None: never)."""
    if submitted_by != candidate:
        return Refusal.NOT_YOURS
    if submitted_at is not None:
        return Refusal.ALREADY_SUBMITTED
    if now > started_at + rules.time_limit + GRACE:
        return Refusal.LATE
    return None


def sitting_refusal(
    *,
    passed: bool,
    last_failed_at: datetime | None,
    now: datetime,
    rules: ExamRules,
    lessons_unread: int = 0,
    days_studied: int | None = None,
) -> tuple[Refusal, datetime | None] | None:
    """Why a new paper cannot be drawn now (and from when it can), or None. `days_studied`
    None: the course is not asked of this candidate (the rules' own tests)."""
    if passed:
        return Refusal.PASSED_ALREADY, None
    if days_studied is not None and (lessons_unread > 0 or days_studied < rules.min_training_days):
        return Refusal.COURSE_UNFINISHED, None
    if last_failed_at is not None and now < last_failed_at + rules.retake_after:
        return Refusal.TOO_SOON, last_failed_at + rules.retake_after
    return None
