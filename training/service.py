"""Staff training as a service: reading the course (each lesson finished counts towards the
day's attendance), sitting the exam in the chat, the certificate on a pass, checking and
revoking certificates, and who may decide review cases.

Every step is written to the audit trail (`training_events`): a paper drawn, every answer as
given, the marking with the questions got wrong, a refusal, a certificate issued or revoked.
A refused submission keeps its answers; a late paper is closed and counts as a try.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from kernel.clock import Clock, as_utc, utc_now
from kernel.regions import covers, region_prefix
from storage.models import ErrorRecord
from storage.models.certification import StaffMember, StaffRole
from storage.models.training import ExamSitting, LessonRead, TrainingCertificate, TrainingDay, TrainingEvent
from storage.uow import UnitOfWork, UnitOfWorkFactory
from training.bank import QuestionBank
from training.certificates import CertificateNumber, code_matches, parse_number, verification_code
from training.courses import Course, Lesson
from training.exam import (
    GRACE,
    ExamRules,
    Marking,
    Paper,
    Refusal,
    draw_paper,
    mark,
    sitting_refusal,
    submission_refusal,
)

ERROR_SOURCE = "training"


@dataclass(frozen=True)
class Progress:
    staff_name: str
    lessons_read: frozenset[str]
    days_studied: tuple[date, ...]
    lessons_total: int
    certificate_number: str | None  # a valid certificate held
    open_sitting: int | None  # a paper drawn, not submitted, still in time
    refusal: Refusal | None  # why a paper cannot be drawn now
    retake_from: datetime | None

    @property
    def lessons_unread(self) -> int:
        return self.lessons_total - len(self.lessons_read)


@dataclass(frozen=True)
class LessonDone:
    lesson: Lesson
    first_time: bool
    days_studied: int
    next_lesson: Lesson | None


@dataclass(frozen=True)
class Sitting:
    id: int
    question_ids: tuple[str, ...]
    answers: dict[str, tuple[str, ...]]
    deadline: datetime  # in the region's time zone
    resumed: bool = False

    def next_unanswered(self) -> str | None:
        return next((q for q in self.question_ids if q not in self.answers), None)


@dataclass(frozen=True)
class SittingRefused:
    refusal: Refusal
    retake_from: datetime | None = None


@dataclass(frozen=True)
class AnswerTaken:
    sitting: Sitting


@dataclass(frozen=True)
class CertificateView:
    number: str
    code: str
    staff_name: str
    staff_number: str
    region_code: str
    issued_on: date
    score: str  # "18/20"


@dataclass(frozen=True)
class Submission:
    marking: Marking | None = None
    certificate: CertificateView | None = None
    refusal: Refusal | None = None
    retake_from: datetime | None = None


@dataclass(frozen=True)
class TeamMember:
    """A staff member's training on the console's team page (no ID numbers: staff data)."""

    name: str
    staff_number: str
    region_code: str
    lessons_read: int
    days: int
    ready_days: bool  # studied on enough days
    last_score: str  # "18/20", or "" before a paper is handed in
    last_passed: bool | None
    certificate_number: str
    certificate_revoked: bool


class ClassroomResult(StrEnum):
    RECORDED = "recorded"
    ALREADY = "already_recorded"
    UNKNOWN_STAFF = "unknown_staff"
    NOT_SUPERVISOR = "not_supervisor"  # only a supervisor of the staff member's region records
    FUTURE = "future"  # a day that has not come yet


class CheckResult(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    UNKNOWN = "unknown"  # no certificate has this number
    CODE_WRONG = "code_wrong"  # the number exists, the code is not its code: tampered or mistyped
    MALFORMED = "malformed"  # not a certificate number at all


@dataclass(frozen=True)
class CertificateCheck:
    result: CheckResult
    number: str = ""
    holder: str = ""  # the name with its middle hidden: 张*明
    region_code: str = ""
    issued_on: date | None = None
    revoked_on: date | None = None


class RevocationResult(StrEnum):
    REVOKED = "revoked"
    ALREADY = "already_revoked"
    UNKNOWN = "unknown"
    NOT_SUPERVISOR = "not_supervisor"  # only a supervisor of the certificate's region revokes


def masked_name(name: str) -> str:
    """The first and last character of a name, the middle hidden (张*明, 王*)."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


class TrainingService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        course: Course,
        bank: QuestionBank,
        rules: ExamRules,
        certificate_key: bytes,
        check_url: str = "",
        clock: Clock = utc_now,
        timezone: str = "Asia/Shanghai",
        rng: random.Random | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self.course, self.bank, self.rules = course, bank, rules
        self._key = certificate_key
        self._clock = clock
        self.check_url = check_url  # the public page that checks a certificate (printed on it)
        self.zone = ZoneInfo(timezone)
        self._rng = rng or random.SystemRandom()
        self._bank_digest = hashlib.sha256(
            "\n".join(f"{q.id}:{sorted(q.answer)}" for q in bank.questions).encode()
        ).hexdigest()

    def _today(self, now: datetime) -> date:
        return now.astimezone(self.zone).date()

    def _local(self, moment: datetime | None) -> datetime | None:
        """A time told to the person: in the region's time zone."""
        return moment.astimezone(self.zone) if moment else None

    # --- the course -------------------------------------------------------------------

    async def progress(self, telegram_user_id: int) -> Progress:
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            return await self._progress(uow, staff, now)

    async def _progress(self, uow: UnitOfWork, staff: StaffMember, now: datetime) -> Progress:
        read = frozenset(await uow.training.lessons_read(staff.id)) & {
            lesson.id for lesson in self.course.lessons
        }
        days = tuple(day.studied_on for day in await uow.training.days(staff.id))
        valid = await uow.training.valid_certificate(staff.id)
        sittings = await uow.training.sittings(staff.id)
        open_sitting = next((s.id for s in reversed(sittings) if self._in_time(s, now)), None)
        refused = sitting_refusal(
            passed=valid is not None,
            last_failed_at=_last_try(sittings, now),
            now=now,
            rules=self.rules,
            lessons_unread=len(self.course.lessons) - len(read),
            days_studied=len(days),
        )
        return Progress(
            staff.name,
            read,
            days,
            len(self.course.lessons),
            valid.number if valid else None,
            open_sitting,
            refused[0] if refused else None,
            self._local(refused[1]) if refused else None,
        )

    async def finish_lesson(self, telegram_user_id: int, lesson_id: str) -> LessonDone | None:
        """The lesson read to its last step: recorded once, and today counted as a day of
        study. None for a lesson the course does not have."""
        lesson = self.course.lesson(lesson_id)
        if lesson is None:
            return None
        now = self._clock()
        today = self._today(now)
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            read = await uow.training.lessons_read(staff.id)
            first_time = lesson.id not in read
            day = await _day_of_study(uow, staff, today, now)
            day.lessons = (day.lessons or 0) + 1
            if first_time:
                uow.training.add(
                    LessonRead(
                        staff_id=staff.id, lesson_id=lesson.id, module_id=lesson.module_id, read_at=now
                    )
                )
                read.add(lesson.id)
            await uow.flush()
            days = len(await uow.training.days(staff.id))
            await uow.commit()
        lessons = self.course.lessons
        after = lessons[lessons.index(lesson) + 1 :] + lessons[: lessons.index(lesson)]
        following = next((other for other in after if other.id not in read), None)
        return LessonDone(lesson, first_time, days, following)

    async def record_classroom_day(
        self, telegram_user_id: int, staff_number: str, day: date
    ) -> ClassroomResult:
        """A supervisor records that a staff member of their regions attended a day of
        classroom (concentrated) training: that day counts as a day of study."""
        now = self._clock()
        if day > self._today(now):
            return ClassroomResult.FUTURE
        async with self._uow_factory() as uow:
            supervisor = await uow.staff.acting(telegram_user_id)
            member = await uow.staff.by_number(staff_number.strip())
            if member is None:
                return ClassroomResult.UNKNOWN_STAFF
            if not _supervises(supervisor, member.region_code):
                return ClassroomResult.NOT_SUPERVISOR
            studied = await _day_of_study(uow, member, day, now)
            if studied.classroom_recorded_by is not None:
                return ClassroomResult.ALREADY
            studied.classroom_recorded_by = supervisor.id
            await uow.flush()
            self._event(uow, "classroom_day", member.id, None, day=day.isoformat(), by=supervisor.id)
            await uow.commit()
            return ClassroomResult.RECORDED

    async def team(self, telegram_user_id: int) -> list[TeamMember]:
        """The training of every staff member of the regions this staff member covers."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            rows = await uow.training.team(region_prefix(staff.region_code))
        total = len(self.course.lessons)
        return [
            TeamMember(
                row.staff.name,
                row.staff.staff_number,
                row.staff.region_code,
                min(row.lessons_read, total),
                row.days,
                row.days >= self.rules.min_training_days,
                _score(row.last_sitting),
                row.last_sitting.passed if row.last_sitting else None,
                row.certificate.number if row.certificate else "",
                bool(row.certificate and row.certificate.revoked_at),
            )
            for row in rows
        ]

    # --- the exam ---------------------------------------------------------------------

    def _in_time(self, sitting: ExamSitting, now: datetime) -> bool:
        return sitting.submitted_at is None and now <= as_utc(sitting.deadline_at) + GRACE

    async def start_exam(self, telegram_user_id: int) -> Sitting | SittingRefused:
        """A new paper, or the one still open (resumed where it was left)."""
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            sittings = await uow.training.sittings(staff.id)
            for sitting in reversed(sittings):
                if self._in_time(sitting, now):
                    return self._view(sitting, resumed=True)
            progress = await self._progress(uow, staff, now)
            if progress.refusal is not None:
                return SittingRefused(progress.refusal, progress.retake_from)
            paper = draw_paper(self.bank, self.rules, self._rng)
            sitting = ExamSitting(
                staff_id=staff.id,
                region_code=staff.region_code,
                question_ids=list(paper.question_ids),
                answers={},
                started_at=now,
                deadline_at=now + self.rules.time_limit,
                bank_digest=self._bank_digest,
            )
            uow.training.add(sitting)
            await uow.flush()
            self._event(uow, "paper_drawn", staff.id, sitting.id, questions=list(paper.question_ids))
            await uow.commit()
            return self._view(sitting)

    async def answer(
        self, telegram_user_id: int, sitting_id: int, place: int, choices: Iterable[str]
    ) -> AnswerTaken | SittingRefused:
        """The question at `place` (from 0) of the paper answered (again, until submitted:
        the last answer counts)."""
        now = self._clock()
        chosen = tuple(sorted(set(choices)))
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            sitting = await uow.training.sitting(sitting_id, for_update=True)
            refusal = self._refusal(sitting, staff, now)
            on_paper = sitting is not None and 0 <= place < len(sitting.question_ids)
            question_id = sitting.question_ids[place] if sitting is not None and on_paper else ""
            question = self.bank.get(question_id)
            if refusal is None and (
                sitting is None
                or question is None
                or not chosen
                or not set(chosen) <= set(question.choices())
            ):
                refusal = Refusal.NOT_YOURS  # an answer to a question not on this paper
            if refusal is not None:
                await self._refuse(uow, staff, sitting_id, sitting, refusal, "answer")
                return SittingRefused(refusal)
            assert sitting is not None
            sitting.answers = {**(sitting.answers or {}), question_id: list(chosen)}
            self._event(uow, "answered", staff.id, sitting.id, question=question_id, choices=list(chosen))
            await uow.commit()
            return AnswerTaken(self._view(sitting))

    def _refusal(self, sitting: ExamSitting | None, staff: StaffMember, now: datetime) -> Refusal | None:
        if sitting is None:
            return Refusal.NOT_YOURS
        submitted = as_utc(sitting.submitted_at) if sitting.submitted_at else None
        return submission_refusal(
            candidate=sitting.staff_id,
            submitted_by=staff.id,
            started_at=as_utc(sitting.started_at),
            submitted_at=submitted,
            now=now,
            rules=self.rules,
        )

    async def _refuse(
        self,
        uow: UnitOfWork,
        staff: StaffMember,
        sitting_id: int,
        sitting: ExamSitting | None,
        refusal: Refusal,
        what: str,
    ) -> None:
        """A refused answer or submission: an error record and the audit trail; nothing of
        the paper is changed."""
        uow.errors.add(
            ErrorRecord(
                source=ERROR_SOURCE,
                code=f"{what}_{refusal.value}",
                detail=f"sitting {sitting_id}",
                context={"staff_id": staff.id, "sitting_id": sitting_id},
            )
        )
        # The trail links the sitting when there is one (a made-up id links nothing).
        self._event(
            uow,
            f"{what}_refused",
            staff.id,
            sitting.id if sitting is not None else None,
            reason=refusal.value,
            sitting=sitting_id,
        )
        await uow.commit()

    async def submit(self, telegram_user_id: int, sitting_id: int) -> Submission:
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            sitting = await uow.training.sitting(sitting_id, for_update=True)
            refusal = self._refusal(sitting, staff, now)
            if refusal is not None:
                await self._refuse(uow, staff, sitting_id, sitting, refusal, "submission")
                retake = as_utc(sitting.deadline_at) + self.rules.retake_after if sitting else None
                late = refusal is Refusal.LATE
                return Submission(refusal=refusal, retake_from=self._local(retake) if late else None)
            assert sitting is not None
            paper_answers = {q: tuple(a) for q, a in (sitting.answers or {}).items()}
            marking = mark(self.bank, _paper(sitting), paper_answers, self.rules)
            sitting.submitted_at, sitting.right, sitting.total, sitting.passed = (
                now,
                marking.right,
                marking.total,
                marking.passed,
            )
            self._event(
                uow,
                "marked",
                staff.id,
                sitting.id,
                right=marking.right,
                total=marking.total,
                passed=marking.passed,
                wrong=list(marking.wrong),
                bank=self._bank_digest,
            )
            certificate = None
            if marking.passed:
                number = CertificateNumber(self._today(now).year, staff.region_code, sitting.id)
                uow.training.add(
                    TrainingCertificate(
                        number=str(number),
                        staff_id=staff.id,
                        sitting_id=sitting.id,
                        region_code=staff.region_code,
                        issued_at=now,
                    )
                )
                self._event(uow, "certificate_issued", staff.id, sitting.id, number=str(number))
                certificate = self._certificate_view(number, staff, now, sitting)
            await uow.commit()
            retake = None if marking.passed else self._local(now + self.rules.retake_after)
            return Submission(marking, certificate, retake_from=retake)

    async def sitting(self, telegram_user_id: int, sitting_id: int) -> Sitting | None:
        """The staff member's own paper, as it stands; None for another's or none."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            sitting = await uow.training.sitting(sitting_id)
            if sitting is None or sitting.staff_id != staff.id:
                return None
            return self._view(sitting)

    # --- certificates -----------------------------------------------------------------

    def _certificate_view(
        self, number: CertificateNumber, staff: StaffMember, issued_at: datetime, sitting: ExamSitting | None
    ) -> CertificateView:
        return CertificateView(
            str(number),
            verification_code(number, self._key),
            staff.name,
            staff.staff_number,
            staff.region_code,
            self._today(as_utc(issued_at)),
            _score(sitting),
        )

    async def my_certificate(self, telegram_user_id: int) -> CertificateView | None:
        """The valid certificate this staff member holds, to send again."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            held = await uow.training.valid_certificate(staff.id)
            if held is None:
                return None
            number = parse_number(held.number)
            assert number is not None  # written by submit() from a CertificateNumber
            sitting = await uow.training.sitting(held.sitting_id)
            return self._certificate_view(number, staff, held.issued_at, sitting)

    async def check(self, number_text: str, code: str | None) -> CertificateCheck:
        """Whether a certificate is genuine and in force. `code` None: the agency's own check
        on the server (`pension-bot training verify`), which reads the records; the public
        page always asks for the code printed beside the number."""
        number = parse_number(number_text)
        async with self._uow_factory() as uow:
            if number is None:
                return await self._check_failed(uow, CheckResult.MALFORMED, "")
            if code is not None and not code_matches(number, code, self._key):
                return await self._check_failed(uow, CheckResult.CODE_WRONG, str(number))
            found = await uow.training.certificate(str(number))
            if found is None:
                return await self._check_failed(uow, CheckResult.UNKNOWN, str(number))
            certificate, staff = found
            revoked = certificate.revoked_at is not None
            return CertificateCheck(
                CheckResult.REVOKED if revoked else CheckResult.VALID,
                str(number),
                masked_name(staff.name),
                certificate.region_code,
                self._today(as_utc(certificate.issued_at)),
                self._today(as_utc(certificate.revoked_at)) if certificate.revoked_at else None,
            )

    async def _check_failed(self, uow: UnitOfWork, result: CheckResult, number: str) -> CertificateCheck:
        uow.errors.add(
            ErrorRecord(
                source=ERROR_SOURCE, code=f"certificate_{result.value}", detail=number[:30], context={}
            )
        )
        await uow.commit()
        return CertificateCheck(result, number)

    async def revoke(self, telegram_user_id: int, number_text: str, reason: str) -> RevocationResult:
        reason = reason.strip()
        if not reason:
            raise ValueError("a revocation needs a reason")
        number = parse_number(number_text)
        now = self._clock()
        async with self._uow_factory() as uow:
            supervisor = await uow.staff.acting(telegram_user_id)
            found = await uow.training.certificate(str(number)) if number else None
            if found is None:
                return RevocationResult.UNKNOWN
            certificate, _ = found
            if not _supervises(supervisor, certificate.region_code):
                return RevocationResult.NOT_SUPERVISOR
            if certificate.revoked_at is not None:
                return RevocationResult.ALREADY
            certificate.revoked_at, certificate.revoked_by = now, supervisor.id
            certificate.revocation_reason = reason[:500]
            self._event(
                uow,
                "certificate_revoked",
                certificate.staff_id,
                certificate.sitting_id,
                number=certificate.number,
                by=supervisor.id,
                reason=reason[:500],
            )
            await uow.commit()
            return RevocationResult.REVOKED

    def _view(self, sitting: ExamSitting, *, resumed: bool = False) -> Sitting:
        answers = {question: tuple(chosen) for question, chosen in (sitting.answers or {}).items()}
        deadline = as_utc(sitting.deadline_at).astimezone(self.zone)
        return Sitting(sitting.id, tuple(sitting.question_ids), answers, deadline, resumed)

    @staticmethod
    def _event(
        uow: UnitOfWork, event: str, staff_id: int | None, sitting_id: int | None, **detail: object
    ) -> None:
        uow.training.add(TrainingEvent(event=event, staff_id=staff_id, sitting_id=sitting_id, detail=detail))


async def _day_of_study(uow: UnitOfWork, staff: StaffMember, day: date, now: datetime) -> TrainingDay:
    """The staff member's row for a day of study, made when it is the first of that day."""
    studied = await uow.training.day(staff.id, day)
    if studied is None:
        studied = TrainingDay(staff_id=staff.id, region_code=staff.region_code, studied_on=day, lessons=0)
        studied.first_at = now
        uow.training.add(studied)
    return studied


def _supervises(staff: StaffMember, region_code: str) -> bool:
    """A supervisor whose region covers `region_code` (revokes, records classroom days)."""
    return staff.role == StaffRole.SUPERVISOR and covers(staff.region_code, region_code)


def _score(sitting: ExamSitting | None) -> str:
    """ "18/20" for a marked paper, "" for none."""
    if sitting is None or sitting.right is None or sitting.total is None:
        return ""
    return f"{sitting.right}/{sitting.total}"


def _paper(sitting: ExamSitting) -> Paper:
    return Paper(tuple(sitting.question_ids))


def _last_try(sittings: Iterable[ExamSitting], now: datetime) -> datetime | None:
    """When the last failed try ended: a paper marked as failed, or one left past its time."""
    ends = [
        as_utc(s.submitted_at) if s.submitted_at else as_utc(s.deadline_at)
        for s in sittings
        if s.passed is False or (s.submitted_at is None and now > as_utc(s.deadline_at) + GRACE)
    ]
    return max(ends, default=None)
