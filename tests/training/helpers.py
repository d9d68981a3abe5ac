"""Staff of two regions, a movable clock and the training service on the shipped course,
question bank and rules, on a real database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from storage.models.certification import StaffMember
from training.bank import load_bank
from training.courses import load_course
from training.exam import load_rules
from training.service import Sitting, TrainingService

# A clerk and a colleague of a district, their city's supervisor, a supervisor elsewhere.
CLERK, COLLEAGUE, SUPERVISOR, FAR_SUPERVISOR = 940100, 940101, 940102, 940103
DISTRICT, CITY = "440305", "440300"
# 10:00 in Shanghai on Monday 2026-10-05 (the fourth quarter).
MONDAY = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
KEY = b"k" * 32

COURSE = load_course()
BANK = load_bank()
RULES = load_rules()


class Clock:
    def __init__(self, now: datetime = MONDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def add_staff(uow_factory) -> None:
    async with uow_factory() as uow:
        for user, number, name, region, role in (
            (CLERK, "T-01", "李建华", DISTRICT, "staff"),
            (COLLEAGUE, "T-02", "王芳", DISTRICT, "staff"),
            (SUPERVISOR, "T-03", "赵主管", CITY, "supervisor"),
            (FAR_SUPERVISOR, "T-09", "钱主管", "310000", "supervisor"),
        ):
            uow.staff.add(
                StaffMember(
                    staff_number=number,
                    name=name,
                    region_code=region,
                    staff_code_hash=f"hash-{number}",
                    telegram_user_id=user,
                    role=role,
                )
            )
        await uow.commit()


def training_service(uow_factory, clock: Clock, seed: int = 7) -> TrainingService:
    return TrainingService(
        uow_factory,
        course=COURSE,
        bank=BANK,
        rules=RULES,
        certificate_key=KEY,
        check_url="https://example.org/training/check",
        clock=clock,
        rng=random.Random(seed),
    )


async def study_the_course(training: TrainingService, clock: Clock, user: int = CLERK) -> None:
    """Every lesson, each day of the plan on a day of its own (three days)."""
    start = clock.now
    for day in range(1, COURSE.days + 1):
        clock.now = start + timedelta(days=day - 1)
        for module in COURSE.modules:
            if module.day == day:
                for lesson in module.lessons:
                    assert await training.finish_lesson(user, lesson.id) is not None


def right_answer(question_id: str) -> set[str]:
    question = BANK.get(question_id)
    assert question is not None
    return set(question.answer)


def wrong_answer(question_id: str) -> set[str]:
    question = BANK.get(question_id)
    assert question is not None
    return {next(choice for choice in question.choices() if {choice} != set(question.answer))}


async def answer_all(training: TrainingService, sitting: Sitting, wrong: int = 0, user: int = CLERK) -> None:
    """Answers every question of the paper, the first `wrong` of them wrongly."""
    for place, question_id in enumerate(sitting.question_ids):
        chosen = wrong_answer(question_id) if place < wrong else right_answer(question_id)
        taken = await training.answer(user, sitting.id, place, chosen)
        assert not hasattr(taken, "refusal"), taken


async def pass_the_exam(training: TrainingService, clock: Clock, user: int = CLERK, wrong: int = 0):
    """The course studied over three days, a paper answered (the first `wrong` wrongly) and
    handed in: the certificate."""
    await study_the_course(training, clock, user)
    sitting = await training.start_exam(user)
    assert isinstance(sitting, Sitting)
    await answer_all(training, sitting, wrong=wrong, user=user)
    certificate = (await training.submit(user, sitting.id)).certificate
    assert certificate is not None
    return certificate
