"""The training service on a real database (SQLite and PostgreSQL): a course over three days,
an exam marked and audited, a certificate that checks, and every bad input the issue names
refused with its reason, nothing of the paper lost."""

from __future__ import annotations

import pytest

from storage.models.training import ExamSitting
from tests.training.helpers import (
    BANK,
    CLERK,
    COLLEAGUE,
    COURSE,
    DISTRICT,
    FAR_SUPERVISOR,
    KEY,
    RULES,
    SUPERVISOR,
    Clock,
    add_staff,
    answer_all,
    pass_the_exam,
    right_answer,
    study_the_course,
    training_service,
)
from training.certificates import parse_number, verification_code
from training.exam import Refusal
from training.service import CheckResult, RevocationResult, Sitting, SittingRefused


@pytest.fixture
async def world(uow_factory):
    await add_staff(uow_factory)
    clock = Clock()
    return training_service(uow_factory, clock), clock


async def _errors(uow_factory) -> list[str]:
    async with uow_factory() as uow:
        return [record.code for record in await uow.errors.list(source="training")]


async def test_a_course_over_three_days_an_exam_passed_and_a_certificate_that_checks(world, uow_factory):
    training, clock = world
    progress = await training.progress(CLERK)
    assert (progress.lessons_unread, progress.refusal) == (len(COURSE.lessons), Refusal.COURSE_UNFINISHED)
    assert isinstance(await training.start_exam(CLERK), SittingRefused)

    # Everything read in one day is not enough: the notice asks for three days.
    for lesson in COURSE.lessons:
        await training.finish_lesson(CLERK, lesson.id)
    progress = await training.progress(CLERK)
    assert (progress.lessons_unread, len(progress.days_studied)) == (0, 1)
    assert progress.refusal is Refusal.COURSE_UNFINISHED
    clock.advance(days=1)
    await training.finish_lesson(CLERK, COURSE.lessons[0].id)  # reading again counts the day
    clock.advance(days=1, hours=3)
    done = await training.finish_lesson(CLERK, COURSE.lessons[1].id)
    assert done is not None and not done.first_time and done.days_studied == 3
    progress = await training.progress(CLERK)
    assert progress.refusal is None and len(progress.days_studied) == 3

    sitting = await training.start_exam(CLERK)
    assert isinstance(sitting, Sitting) and len(sitting.question_ids) == RULES.size
    assert sitting.deadline == clock.now + RULES.time_limit
    topics = sorted(BANK.get(q).topic for q in sitting.question_ids)
    assert {t: topics.count(t) for t in topics} == RULES.mix
    # Leaving and coming back gives the same paper, not a new one.
    again = await training.start_exam(CLERK)
    assert isinstance(again, Sitting) and again.id == sitting.id and again.resumed

    await answer_all(training, sitting, wrong=2)  # 18 of 20: 90 %
    clock.advance(minutes=12)
    submission = await training.submit(CLERK, sitting.id)
    assert submission.refusal is None and submission.marking is not None
    assert (submission.marking.right, submission.marking.total, submission.marking.passed) == (18, 20, True)
    certificate = submission.certificate
    assert certificate is not None and certificate.staff_name == "李建华" and certificate.score == "18/20"
    number = parse_number(certificate.number)
    assert number is not None and (number.year, number.region, number.serial) == (2026, DISTRICT, sitting.id)
    assert certificate.code == verification_code(number, KEY)

    check = await training.check(certificate.number, certificate.code)
    assert (check.result, check.holder, check.region_code) == (CheckResult.VALID, "李*华", DISTRICT)
    assert check.issued_on is not None and check.issued_on.isoformat() == "2026-10-07"
    # Typed with spaces and in lower case, as people do.
    spaced = f" {certificate.number.lower()} "
    code = certificate.code[:5] + " " + certificate.code[5:]
    assert (await training.check(spaced, code)).result is CheckResult.VALID
    assert (await training.progress(CLERK)).certificate_number == certificate.number
    assert isinstance(await training.start_exam(CLERK), SittingRefused)  # passed already

    # The audit trail: the paper, every answer, the marking with the wrong ones, the certificate.
    async with uow_factory() as uow:
        staff = await uow.staff.acting(CLERK)
        events = await uow.training.events(staff.id)
    kinds = [e.event for e in events]
    assert kinds == ["paper_drawn", *["answered"] * 20, "marked", "certificate_issued"]
    marked = events[-2].detail
    assert marked["right"] == 18 and marked["wrong"] == list(sitting.question_ids[:2])


async def test_a_tampered_number_a_wrong_code_and_no_number_are_refused_with_a_record(world, uow_factory):
    training, clock = world
    certificate = await pass_the_exam(training, clock)

    number = parse_number(certificate.number)
    assert number is not None
    tampered = certificate.number[:-1] + str((number.serial + 1) % 10)
    assert (await training.check(tampered, certificate.code)).result is CheckResult.CODE_WRONG
    assert (await training.check(certificate.number, "ABCDEFGHJK")).result is CheckResult.CODE_WRONG
    assert (await training.check("not a number", "ABC")).result is CheckResult.MALFORMED
    # A number that was never issued, with its own right code (someone who knows the key).
    never = parse_number("PXC-2026-440305-999999")
    assert never is not None
    assert (await training.check(str(never), verification_code(never, KEY))).result is CheckResult.UNKNOWN
    assert (await training.check(str(never), None)).result is CheckResult.UNKNOWN
    failed = await training.check(tampered, certificate.code)
    assert failed.holder == "" and failed.issued_on is None  # nothing about anyone
    assert await _errors(uow_factory) == [
        "certificate_code_wrong",
        "certificate_unknown",
        "certificate_unknown",
        "certificate_malformed",
        "certificate_code_wrong",
        "certificate_code_wrong",
    ]


async def test_late_twice_and_someone_elses_submissions_are_refused_and_nothing_is_lost(world, uow_factory):
    training, clock = world
    for user in (CLERK, COLLEAGUE):
        clock.now = clock.now.replace(day=5)
        await study_the_course(training, clock, user)
    sitting = await training.start_exam(CLERK)
    assert isinstance(sitting, Sitting)
    first = sitting.question_ids[0]
    await training.answer(CLERK, sitting.id, 0, right_answer(first))

    # Someone else's account: neither an answer nor a hand-in is taken.
    stranger = await training.answer(COLLEAGUE, sitting.id, 0, {"A"})
    assert isinstance(stranger, SittingRefused) and stranger.refusal is Refusal.NOT_YOURS
    refused = await training.submit(COLLEAGUE, sitting.id)
    assert refused.refusal is Refusal.NOT_YOURS and refused.marking is None
    assert await training.sitting(COLLEAGUE, sitting.id) is None
    # A place beyond the paper, no choice, or a choice the question does not have.
    assert isinstance(await training.answer(CLERK, sitting.id, RULES.size, {"A"}), SittingRefused)
    assert isinstance(await training.answer(CLERK, sitting.id, 0, ()), SittingRefused)
    assert isinstance(await training.answer(CLERK, sitting.id, 0, {"Z"}), SittingRefused)

    # After the time limit (and the minute of grace): refused, the answers kept.
    clock.advance(minutes=RULES.time_limit.total_seconds() / 60 + 2)
    late = await training.answer(CLERK, sitting.id, 1, {"A"})
    assert isinstance(late, SittingRefused) and late.refusal is Refusal.LATE
    late_submission = await training.submit(CLERK, sitting.id)
    assert late_submission.refusal is Refusal.LATE and late_submission.retake_from is not None
    kept = await training.sitting(CLERK, sitting.id)
    assert kept is not None and kept.answers == {first: tuple(sorted(right_answer(first)))}
    # A late paper counts as a try: the next waits for the waiting period.
    too_soon = await training.start_exam(CLERK)
    assert isinstance(too_soon, SittingRefused) and too_soon.refusal is Refusal.TOO_SOON
    assert too_soon.retake_from == late_submission.retake_from

    # The colleague hands in on time, then again: the first hand-in stands.
    theirs = await training.start_exam(COLLEAGUE)
    assert isinstance(theirs, Sitting)
    await answer_all(training, theirs, wrong=5, user=COLLEAGUE)
    marked = await training.submit(COLLEAGUE, theirs.id)
    assert marked.marking is not None and (marked.marking.right, marked.marking.passed) == (15, False)
    assert marked.marking.wrong == theirs.question_ids[:5] and marked.certificate is None
    twice = await training.submit(COLLEAGUE, theirs.id)
    assert twice.refusal is Refusal.ALREADY_SUBMITTED
    async with uow_factory() as uow:
        row = await uow.training.sitting(theirs.id)
        assert isinstance(row, ExamSitting) and (row.right, row.passed) == (15, False)
    # A failed paper: a retake after the waiting period, not before.
    assert isinstance(await training.start_exam(COLLEAGUE), SittingRefused)
    clock.advance(days=7, minutes=1)
    assert isinstance(await training.start_exam(COLLEAGUE), Sitting)

    errors = await _errors(uow_factory)
    assert sorted(errors) == sorted(
        [
            "answer_not_yours",
            "submission_not_yours",
            "answer_not_yours",
            "answer_not_yours",
            "answer_not_yours",
            "answer_late",
            "submission_late",
            "submission_already_submitted",
        ]
    )


async def test_a_supervisor_of_the_region_revokes_and_the_check_then_says_so(world, uow_factory):
    training, clock = world
    certificate = await pass_the_exam(training, clock)

    with pytest.raises(ValueError):
        await training.revoke(SUPERVISOR, certificate.number, "  ")
    assert await training.revoke(COLLEAGUE, certificate.number, "x") is RevocationResult.NOT_SUPERVISOR
    assert await training.revoke(FAR_SUPERVISOR, certificate.number, "x") is RevocationResult.NOT_SUPERVISOR
    assert await training.revoke(SUPERVISOR, "PXC-2026-440305-999999", "x") is RevocationResult.UNKNOWN
    clock.advance(days=30)
    assert await training.revoke(SUPERVISOR, certificate.number, "代考，经核实") is RevocationResult.REVOKED
    assert await training.revoke(SUPERVISOR, certificate.number, "again") is RevocationResult.ALREADY

    check = await training.check(certificate.number, certificate.code)
    assert check.result is CheckResult.REVOKED and check.revoked_on is not None
    assert check.revoked_on.isoformat() == "2026-11-06"
    assert await training.my_certificate(CLERK) is None
    progress = await training.progress(CLERK)
    assert progress.certificate_number is None
    async with uow_factory() as uow:
        staff = await uow.staff.acting(CLERK)
        assert not await uow.training.holds_valid_certificate(staff.id)
        revoked = [e for e in await uow.training.events(staff.id) if e.event == "certificate_revoked"]
    assert revoked[0].detail["reason"] == "代考，经核实"


async def test_an_unknown_lesson_and_a_stranger_are_refused(world):
    training, _ = world
    assert await training.finish_lesson(CLERK, "no-such-lesson") is None
    from kernel.permissions import NotStaff

    with pytest.raises(NotStaff):
        await training.progress(123456)
    with pytest.raises(NotStaff):
        await training.start_exam(123456)


async def test_the_paper_mix_and_marking_do_not_depend_on_the_seed(uow_factory):
    """Two candidates get different papers with the same mix (random per candidate)."""
    await add_staff(uow_factory)
    clock = Clock()
    papers = []
    for seed, user in ((1, CLERK), (2, COLLEAGUE)):
        training = training_service(uow_factory, clock, seed)
        clock.now = clock.now.replace(day=5)
        await study_the_course(training, clock, user)
        sitting = await training.start_exam(user)
        assert isinstance(sitting, Sitting)
        papers.append(sitting.question_ids)
    assert papers[0] != papers[1] and len(set(papers[0])) == RULES.size


async def test_one_day_of_study_counts_once_however_many_lessons(world, uow_factory):
    training, clock = world
    for lesson in COURSE.lessons[:4]:
        await training.finish_lesson(CLERK, lesson.id)
        clock.advance(minutes=20)
    clock.advance(hours=14)  # past midnight in Shanghai: the next day
    await training.finish_lesson(CLERK, COURSE.lessons[4].id)
    progress = await training.progress(CLERK)
    assert [d.isoformat() for d in progress.days_studied] == ["2026-10-05", "2026-10-06"]
    assert len(progress.lessons_read) == 5


async def test_a_supervisor_records_classroom_days_that_count_as_days_of_study(world, uow_factory):
    from datetime import date

    from training.service import ClassroomResult

    training, clock = world
    day = date(2026, 10, 3)
    assert await training.record_classroom_day(SUPERVISOR, "T-01", day) is ClassroomResult.RECORDED
    assert await training.record_classroom_day(SUPERVISOR, "T-01", day) is ClassroomResult.ALREADY
    assert (
        await training.record_classroom_day(SUPERVISOR, "T-01", date(2026, 10, 6)) is ClassroomResult.FUTURE
    )
    assert await training.record_classroom_day(SUPERVISOR, "NOBODY", day) is ClassroomResult.UNKNOWN_STAFF
    assert await training.record_classroom_day(COLLEAGUE, "T-01", day) is ClassroomResult.NOT_SUPERVISOR
    assert await training.record_classroom_day(FAR_SUPERVISOR, "T-01", day) is ClassroomResult.NOT_SUPERVISOR
    # Two classroom days and every lesson read today: three days, the exam opens.
    assert (
        await training.record_classroom_day(SUPERVISOR, "T-01", date(2026, 10, 4)) is ClassroomResult.RECORDED
    )
    for lesson in COURSE.lessons:
        await training.finish_lesson(CLERK, lesson.id)
    progress = await training.progress(CLERK)
    assert [d.isoformat() for d in progress.days_studied] == ["2026-10-03", "2026-10-04", "2026-10-05"]
    assert progress.refusal is None
    async with uow_factory() as uow:
        staff = await uow.staff.acting(CLERK)
        events = [e for e in await uow.training.events(staff.id) if e.event == "classroom_day"]
    assert [e.detail["day"] for e in events] == ["2026-10-03", "2026-10-04"]
