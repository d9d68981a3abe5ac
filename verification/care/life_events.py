"""A relative reports that a retiree died or is in hospital.

The family must tell the agency of a death within 20 working days (社会保险经办条例 Art. 25);
a pension paid on after a death is false claiming (社会保险法 Art. 88). So a death report
stops payment at once, before anyone checks it: in ONE transaction the report (certificate
number and photo encrypted), a suspension, the verification records `death_reported` and
`suspended`, and a review case for staff, who then confirm it (payment stays stopped, the
bindings end) or reject it (a mistaken or malicious report: payment resumes, the stopped
months are paid back) — see verification/certification/review.py.

A hospital stay stops nothing: it puts a review case and a home-visit request before staff,
and while it is pending the cycle does not suspend the retiree for certifying late.

Who may report: a helper bound to the retiree, or anyone who gives the retiree's ID number
and name as on the roster. A wrong pair gets one neutral answer (nothing tells whether the
number is on file) and counts towards the lock of accounts/lockout.py, shared with the
codes: a person guessing is stopped whatever they guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from accounts.binding import bound_retirees, count_wrong_try, normalise_id_input
from accounts.lockout import lock_state
from kernel.clock import Clock, utc_now
from kernel.idnumber import IdReason, ValidIdNumber, check_id_number
from storage.models import Retiree
from storage.models.care import LifeEventReport
from storage.models.certification import AuditEntry, ReviewCase, Suspension
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.care.home_visits import open_request
from verification.records.chain import append_record

DEATH_REPORTED = "death_reported"
HOSPITAL_REPORTED = "hospital_reported"
# What a report of each kind is called: the review case it opens, its audit entry, its record.
_REPORTED = {"death": DEATH_REPORTED, "hospital": HOSPITAL_REPORTED}
MAX_CERTIFICATE = 60
MAX_HOSPITAL = 200


@dataclass(frozen=True)
class RetireeClaim:
    """Whom a report is about: a retiree the reporter helps (by id), or the ID number and
    name as the reporter gives them. Never log it."""

    retiree_id: int | None = None
    id_number: str | None = field(default=None, repr=False)
    name: str | None = field(default=None, repr=False)


class IdentifiedState(StrEnum):
    """Whom a relative reports about, by the ID number they typed: found, or why not."""

    FOUND = "found"
    MALFORMED = "malformed"
    NO_MATCH = "no_match"
    LOCKED = "locked"  # too many wrong numbers: wait


class ReportState(StrEnum):
    REPORTED = "reported"
    ALREADY = "already"  # a report of that kind is pending
    NO_MATCH = "no_match"
    LOCKED = "locked"
    BAD_DATE = "bad_date"  # in the future, or before the retiree was born


@dataclass(frozen=True)
class Identified:
    state: IdentifiedState
    retiree_id: int | None = None
    retiree_name: str | None = field(default=None, repr=False)
    id_problem: IdReason | None = None
    tries_left: int | None = None
    locked_until: datetime | None = None


@dataclass(frozen=True)
class DeathReport:
    reporter_user_id: int
    claim: RetireeClaim
    died_on: date
    certificate_number: str = field(repr=False)
    document: bytes | None = field(default=None, repr=False)  # a photo of the death certificate
    document_media_type: str | None = None


@dataclass(frozen=True)
class HospitalReport:
    reporter_user_id: int
    claim: RetireeClaim
    admitted_on: date
    hospital: str | None = None


@dataclass(frozen=True)
class Reported:
    state: ReportState
    retiree_name: str | None = field(default=None, repr=False)
    report_id: int | None = None
    review_case_id: int | None = None


@dataclass(frozen=True)
class DayAnswer:
    day: date | None
    problem: str | None = None  # "unreadable" | "future"


_DAY = re.compile(r"^(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")


def parse_day(text: str, today: date) -> DayAnswer:
    """A day as people type it: 2026-11-20, 2026/11/20, 2026年11月20日, 20261120, or 11月20日
    (this year). Full-width digits are fine."""
    text = unicodedata.normalize("NFKC", text).strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    match = _DAY.match(text)
    if not match:
        return DayAnswer(None, "unreadable")
    year, month, day = match.groups()
    try:
        typed = date(int(year) if year else today.year, int(month), int(day))
    except ValueError:
        return DayAnswer(None, "unreadable")
    if typed > today:
        return DayAnswer(None, "future")
    return DayAnswer(typed)


def _same_name(typed: str, on_file: str) -> bool:
    def plain(name: str) -> str:
        return "".join(unicodedata.normalize("NFKC", name).split()).casefold()

    return bool(typed.strip()) and plain(typed) == plain(on_file)


class LifeEventService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        *,
        clock: Clock = utc_now,
        timezone: str = "Asia/Shanghai",
        region_code: str | None = None,
    ) -> None:
        self._region_code = region_code  # the chain verification records are appended to
        self._uow_factory = uow_factory
        self._vault = vault
        self._clock = clock
        self._zone = ZoneInfo(timezone)

    def today(self) -> date:
        return self._clock().astimezone(self._zone).date()

    def event_day(self, text: str) -> DayAnswer:
        """The day typed (or "today" / "yesterday", from a button)."""
        today = self.today()
        words = {"today": today, "yesterday": today - timedelta(days=1)}
        if text in words:
            return DayAnswer(words[text])
        return parse_day(text, today)

    async def helped(self, telegram_user_id: int) -> list[tuple[int, str]]:
        """(retiree id, name) of every retiree this account helps."""
        async with self._uow_factory() as uow:
            return await bound_retirees(uow, telegram_user_id, kind="helper")

    async def identify(self, telegram_user_id: int, id_number: str, name: str) -> Identified:
        """The retiree whose ID number and name these are. A malformed number is explained
        (that says nothing about who is on file); any other mismatch is one neutral answer,
        counted towards the lock."""
        now = self._clock()
        async with self._uow_factory() as uow:
            state = await lock_state(uow, telegram_user_id, now)
            if state.locked:
                return Identified(IdentifiedState.LOCKED, locked_until=state.locked_until)
            checked = check_id_number(normalise_id_input(id_number), today=self.today())
            if not isinstance(checked, ValidIdNumber):
                return Identified(IdentifiedState.MALFORMED, id_problem=checked.reason)
            retiree = await self._named(uow, RetireeClaim(id_number=checked.number, name=name))
            if retiree is None:
                return await self._no_match(uow, telegram_user_id, now)
            return Identified(IdentifiedState.FOUND, retiree.id, retiree.name)

    async def report_death(self, report: DeathReport) -> Reported:
        """Record a death and stop payment at once (see the module docstring)."""
        number = report.certificate_number.strip()
        if not number:
            raise ValueError("a death report needs the certificate number")
        now = self._clock()
        async with self._uow_factory() as uow:
            opened = await self._open_report(
                uow,
                report.reporter_user_id,
                report.claim,
                "death",
                report.died_on,
                now,
                certificate_number_encrypted=self._vault.encrypt(number[:MAX_CERTIFICATE]),
                document_encrypted=self._vault.encrypt(report.document) if report.document else None,
                document_media_type=report.document_media_type if report.document else None,
            )
            if isinstance(opened, Reported):
                return opened
            retiree, entry = opened
            await append_record(
                uow,
                region=self._region_code,
                event="death_reported",
                retiree=retiree,
                method="relative_report",
                at=now,
                detail={"died_on": report.died_on.isoformat()},
            )
            await self._suspend(uow, retiree, now)
            return await self._reported(uow, retiree, entry, with_document=bool(report.document))

    async def _suspend(self, uow: UnitOfWork, retiree: Retiree, now: datetime) -> None:
        """Stop payment now. Already stopped (not certified in time): that suspension stands,
        and rejecting the report later will not lift it."""
        if retiree.payment_state == "suspended":
            return
        retiree.payment_state = "suspended"
        uow.suspensions.add(
            Suspension(retiree_id=retiree.id, suspended_on=self.today(), reason=DEATH_REPORTED)
        )
        uow.audit.add(
            AuditEntry(
                at=now,
                actor="system",
                action="payment_suspended",
                retiree_id=retiree.id,
                detail={"reason": DEATH_REPORTED},
            )
        )
        await append_record(
            uow,
            region=self._region_code,
            event="suspended",
            retiree=retiree,
            method="relative_report",
            at=now,
            detail={"reason": DEATH_REPORTED},
        )

    async def report_hospital(self, report: HospitalReport) -> Reported:
        """Record a hospital stay: a review case and a home-visit request, payment untouched."""
        now = self._clock()
        async with self._uow_factory() as uow:
            opened = await self._open_report(
                uow, report.reporter_user_id, report.claim, "hospital", report.admitted_on, now
            )
            if isinstance(opened, Reported):
                return opened
            retiree, entry = opened
            # The hospital's name goes with the visit request: it is where staff will go.
            hospital = (report.hospital or "").strip()[:MAX_HOSPITAL]
            await open_request(
                uow,
                self._vault,
                retiree,
                reason="hospital",
                requested_by=report.reporter_user_id,
                note=hospital or None,
                at=now,
            )
            await append_record(
                uow,
                region=self._region_code,
                event="hospital_reported",
                retiree=retiree,
                method="relative_report",
                at=now,
                detail={"admitted_on": report.admitted_on.isoformat()},
            )
            return await self._reported(uow, retiree, entry)

    async def _open_report(
        self,
        uow: UnitOfWork,
        reporter: int,
        claim: RetireeClaim,
        kind: str,
        day: date,
        now: datetime,
        **details: Any,
    ) -> tuple[Retiree, LifeEventReport] | Reported:
        """The report (with `details` of its kind) and the review case it opens, flushed in the
        caller's unit of work; or the answer when there is nothing to report: the retiree is not
        found, the day cannot be, or a report of this kind is pending already."""
        retiree = await self._resolve(uow, reporter, claim, now)
        if isinstance(retiree, Reported):  # refused
            return retiree
        if not retiree.birth_date <= day <= self.today():
            return Reported(ReportState.BAD_DATE, retiree.name)
        if await uow.life_events.pending_for_retiree(retiree.id, kind) is not None:
            return Reported(ReportState.ALREADY, retiree.name)
        case = ReviewCase(retiree_id=retiree.id, opened_at=now, opened_because=_REPORTED[kind])
        uow.reviews.add(case)
        await uow.flush()
        entry = LifeEventReport(
            retiree_id=retiree.id,
            kind=kind,
            event_date=day,
            reported_at=now,
            reporter_user_id=reporter,
            reporter_relation=self._relation(claim),
            review_case_id=case.id,
            state="pending",
            **details,
        )
        uow.life_events.add(entry)
        await uow.flush()
        return retiree, entry

    @staticmethod
    async def _reported(uow: UnitOfWork, retiree: Retiree, entry: LifeEventReport, **detail: Any) -> Reported:
        """Audit the report (the reporter is the actor) and commit it with all it did."""
        uow.audit.add(
            AuditEntry(
                at=entry.reported_at,
                actor=f"user:{entry.reporter_user_id}",
                action=_REPORTED[entry.kind],
                retiree_id=retiree.id,
                detail={"report_id": entry.id, "case_id": entry.review_case_id, **detail},
            )
        )
        await uow.commit()
        return Reported(ReportState.REPORTED, retiree.name, entry.id, entry.review_case_id)

    async def _resolve(
        self, uow: UnitOfWork, reporter: int, claim: RetireeClaim, now: datetime
    ) -> Retiree | Reported:
        """The retiree a report is about, checked again inside the report's transaction; or
        the answer refusing the report."""
        if claim.retiree_id is not None:
            helps = any(
                b.retiree_id == claim.retiree_id and b.kind == "helper"
                for b in await uow.bindings.active_for_user(reporter)
            )
            if not helps:
                return Reported(ReportState.NO_MATCH)
            return await uow.retirees.existing(claim.retiree_id)  # a helper binding names them
        state = await lock_state(uow, reporter, now)
        if state.locked:
            return Reported(ReportState.LOCKED)
        retiree = await self._named(uow, claim)
        if retiree is None:
            await self._no_match(uow, reporter, now)
            return Reported(ReportState.NO_MATCH)
        return retiree

    async def _named(self, uow: UnitOfWork, claim: RetireeClaim) -> Retiree | None:
        checked = check_id_number(normalise_id_input(claim.id_number or ""), today=self.today())
        if not isinstance(checked, ValidIdNumber):
            return None
        retiree = await uow.retirees.by_id_hash(self._vault.lookup_hash(checked.number))
        if retiree is None or not _same_name(claim.name or "", retiree.name):
            return None
        return retiree

    async def _no_match(self, uow: UnitOfWork, telegram_user_id: int, now: datetime) -> Identified:
        state = await count_wrong_try(uow, self._uow_factory, telegram_user_id, now, "life_event")
        return Identified(
            IdentifiedState.NO_MATCH, tries_left=state.tries_left, locked_until=state.locked_until
        )

    @staticmethod
    def _relation(claim: RetireeClaim) -> str:
        return "helper" if claim.retiree_id is not None else "named"
