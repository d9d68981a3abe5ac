"""Staff review of doubtful certifications: the pending cases of their region, the evidence,
and a decision with a reason. Every look at evidence and every decision is audited.

Reports of a death or a hospital stay (verification/care/life_events.py) come as cases too, and
their decisions mean something else: approving a death report confirms it (payment stays
stopped, the bindings end), rejecting it resumes payment; a hospital stay is acknowledged
(or found untrue), which ends the hold it put on suspension.

A case opened from the audit of a self-service pass (verification/certification/pass_audit.py) is about a
certification already given: upholding it leaves it standing; rejecting it suspends payment
until the retiree certifies with staff (in person, or at a home visit), and their chats are
told so."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kernel.clock import Clock, utc_now
from kernel.idnumber import mask_id_number
from kernel.permissions import NotStaff
from kernel.regions import covers
from storage.models import Retiree
from storage.models.care import LifeEventReport
from storage.models.certification import AuditEntry, Certification, ReviewCase, StaffMember, Suspension
from storage.models.signals import ChatNotice
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.certification.attempts import CycleKeeper
from verification.certification.pass_audit import AUDIT_SUSPENSION, REVIEW_BECAUSE
from verification.cycle.rules import back_pay_months
from verification.records.chain import append_record


@dataclass(frozen=True)
class AttemptView:
    attempt_id: int
    at: datetime
    outcome: str
    reason: str
    distance: float | None
    has_evidence: bool


@dataclass(frozen=True)
class LifeEventSummary:
    kind: str  # "death" | "hospital"
    event_date: date
    reported_at: datetime
    has_document: bool


@dataclass(frozen=True)
class LifeEventDocument:
    """What a relative sent with a death report; personal data, shown to staff only."""

    certificate_number: str | None = field(repr=False)
    document: bytes | None = field(repr=False)
    media_type: str | None


@dataclass(frozen=True)
class CaseEvidence:
    at: datetime | None  # when the attempt was made
    data: bytes
    media_type: str  # "image/jpeg", ... or "video/mp4" (a video note)

    @property
    def is_video(self) -> bool:
        return self.media_type.startswith("video/")


@dataclass(frozen=True)
class CaseView:
    case_id: int
    retiree_id: int
    retiree_name: str = field(repr=False)
    masked_id_number: str = field(repr=False)
    residence_region: str
    opened_at: datetime
    opened_because: str
    attempts: list[AttemptView]
    reference_photo_path: str | None
    life_event: LifeEventSummary | None = None
    status: str = "pending"  # "approved" | "rejected" once decided


class DecisionOutcome(StrEnum):
    """What a decision on a review case did."""

    CERTIFICATION = "certification"  # a doubtful certification approved or not
    DEATH_CONFIRMED = "death_confirmed"
    DEATH_REJECTED = "death_rejected"
    HOSPITAL_ACKNOWLEDGED = "hospital_acknowledged"
    HOSPITAL_REJECTED = "hospital_rejected"
    AUDIT_UPHELD = "audit_upheld"  # an audited pass stands; nobody is told of the doubt
    AUDIT_REJECTED = "audit_rejected"  # an audited pass found doubtful: payment suspended


@dataclass(frozen=True)
class Decision:
    case_id: int
    approved: bool
    valid_until: object | None
    notify_chat_ids: list[int]
    retiree_name: str = field(repr=False)
    outcome: DecisionOutcome = DecisionOutcome.CERTIFICATION


# The kind of a chat notice telling the retiree's chats of a decision made in the console:
# "decided:" and the decision's word (bot/presenters/review.py turns it into the same text the
# bot sends when the decision is made in the chat).
DECIDED_NOTICE = "decided:"


def decision_word(decision: Decision) -> str:
    """ "approved" or "rejected" for a certification, else the outcome's value."""
    if decision.outcome is DecisionOutcome.CERTIFICATION:
        return "approved" if decision.approved else "rejected"
    return decision.outcome.value


def _leave_notices(uow: UnitOfWork, decision: Decision, retiree_id: int) -> None:
    params = (
        {"valid_until": decision.valid_until.isoformat()} if isinstance(decision.valid_until, date) else {}
    )
    for chat_id in decision.notify_chat_ids:
        uow.notices.add(
            ChatNotice(
                chat_id=chat_id,
                retiree_id=retiree_id,
                kind=DECIDED_NOTICE + decision_word(decision),
                params=params,
            )
        )


class NotTrained(PermissionError):
    """The region asks for a valid training certificate before deciding review cases
    (REVIEW_NEEDS_TRAINING), and this staff member holds none."""


class ReviewService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        cycle: CycleKeeper,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Clock = utc_now,
        region_code: str | None = None,
        training_required_in: tuple[str, ...] = (),
    ) -> None:
        self._region_code = region_code  # the chain verification records are appended to
        # Regions whose staff decide cases only with a valid training certificate (training/).
        self._training_required_in = training_required_in
        self._uow_factory = uow_factory
        self._vault = vault
        self._cycle = cycle
        self._zone = ZoneInfo(timezone)
        self._clock = clock

    async def pending(self, telegram_user_id: int, limit: int = 10) -> list[CaseView]:
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            views = []
            for case in await uow.reviews.pending(limit=500):
                retiree = await uow.retirees.existing(case.retiree_id)
                if not covers(staff.region_code, retiree.residence_region):
                    continue
                views.append(await self._view(uow, case, retiree))
                if len(views) >= limit:
                    break
            return views

    async def case(self, telegram_user_id: int, case_id: int) -> CaseView | None:
        """One case, pending or decided, for a staff member of the retiree's region (NotStaff
        for anyone else); None if there is no such case."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            case = await uow.reviews.get(case_id)
            if case is None:
                return None
            retiree = await uow.retirees.existing(case.retiree_id)
            if not covers(staff.region_code, retiree.residence_region):
                raise NotStaff(telegram_user_id)
            return await self._view(uow, case, retiree)

    async def _view(self, uow: UnitOfWork, case: ReviewCase, retiree: Retiree) -> CaseView:
        attempts = [
            AttemptView(
                a.id,
                a.at,
                a.outcome,
                a.reason,
                a.distance,
                await uow.evidence.for_attempt(a.id) is not None,
            )
            for a in await uow.attempts.for_case(case.id)
        ]
        return CaseView(
            case.id,
            retiree.id,
            retiree.name,
            mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted)),
            retiree.residence_region,
            case.opened_at,
            case.opened_because,
            attempts,
            retiree.reference_photo_path,
            _summary(await uow.life_events.by_review_case(case.id)),
            case.status,
        )

    async def evidence(self, telegram_user_id: int, attempt_id: int) -> CaseEvidence | None:
        """The photo or video of an attempt, for a staff member of the retiree's region;
        audited."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            evidence = await uow.evidence.for_attempt(attempt_id)
            if evidence is None:
                return None
            await self._audit_look(
                uow, staff, evidence.retiree_id, "evidence_viewed", {"attempt_id": attempt_id}
            )
            return CaseEvidence(None, self._vault.decrypt(evidence.data_encrypted), evidence.media_type)

    async def case_evidence(self, telegram_user_id: int, case_id: int) -> list[CaseEvidence]:
        """Every photo or video kept for a case's attempts, oldest first; each look is audited."""
        async with self._uow_factory() as uow:
            attempts = await uow.attempts.for_case(case_id)
        kept = []
        for attempt in attempts:
            evidence = await self.evidence(telegram_user_id, attempt.id)
            if evidence is not None:
                kept.append(replace(evidence, at=attempt.at))
        return kept

    async def life_event_document(self, telegram_user_id: int, case_id: int) -> LifeEventDocument | None:
        """The certificate number and photo of a reported death, for staff of the retiree's
        region; audited like any look at evidence."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            report = await uow.life_events.by_review_case(case_id)
            if report is None:
                return None
            await self._audit_look(
                uow,
                staff,
                report.retiree_id,
                "life_event_document_viewed",
                {"case_id": case_id, "report_id": report.id},
            )
            number = report.certificate_number_encrypted
            document = report.document_encrypted
            return LifeEventDocument(
                self._vault.decrypt_text(number) if number else None,
                self._vault.decrypt(document) if document else None,
                report.document_media_type,
            )

    async def _audit_look(
        self, uow: UnitOfWork, staff: StaffMember, retiree_id: int, action: str, detail: dict[str, Any]
    ) -> None:
        """Only staff of the retiree's region may look at what was sent about them (NotStaff
        otherwise); the look is audited and committed before anything is shown."""
        retiree = await uow.retirees.existing(retiree_id)  # an evidence's or a report's
        if not covers(staff.region_code, retiree.residence_region):
            raise NotStaff(staff.telegram_user_id)
        uow.audit.add(
            AuditEntry(actor=f"staff:{staff.id}", action=action, retiree_id=retiree.id, detail=detail)
        )
        await uow.commit()

    async def reference_photo(self, telegram_user_id: int, case_id: int) -> bytes | None:
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            case = await uow.reviews.get(case_id)
            retiree = await uow.retirees.get(case.retiree_id) if case else None
            if retiree is None or not covers(staff.region_code, retiree.residence_region):
                return None
            path = Path(retiree.reference_photo_path) if retiree.reference_photo_path else None
        return path.read_bytes() if path and path.is_file() else None

    async def decide(
        self, telegram_user_id: int, case_id: int, approve: bool, reason: str, *, leave_notices: bool = False
    ) -> Decision | None:
        """Approve (the retiree is certified, by staff) or reject, with the reason given.

        None when the case is not pending any more (decided by a colleague meanwhile).
        `leave_notices`: the retiree's chats are told by the bot's notice job, written in the
        same transaction (the console, which cannot message them itself); the bot tells them
        at once instead."""
        reason = reason.strip()
        if not reason:
            raise ValueError("a decision needs a reason")
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            if any(covers(region, staff.region_code) for region in self._training_required_in):
                if not await uow.training.holds_valid_certificate(staff.id):
                    raise NotTrained(telegram_user_id)
            case = await uow.reviews.get(case_id)
            if case is None or case.status != "pending":
                return None
            retiree = await uow.retirees.existing(case.retiree_id)
            if not covers(staff.region_code, retiree.residence_region):
                raise NotStaff(telegram_user_id)
            case.status = "approved" if approve else "rejected"
            case.decided_by, case.decided_at, case.decision_reason = staff.id, now, reason[:1000]
            report = await uow.life_events.by_review_case(case.id)
            if report is not None:
                decision = await self._decide_life_event(uow, staff, case, report, retiree, approve, now)
            elif case.opened_because == REVIEW_BECAUSE:
                decision = await self._decide_audited_pass(uow, staff, case, retiree, approve, now)
            else:
                decision = await self._decide_certification(uow, staff, case, retiree, approve, reason, now)
            if leave_notices:
                _leave_notices(uow, decision, retiree.id)
            await uow.commit()
            return decision

    async def _decide_certification(
        self,
        uow: UnitOfWork,
        staff: StaffMember,
        case: ReviewCase,
        retiree: Retiree,
        approve: bool,
        reason: str,
        now: datetime,
    ) -> Decision:
        valid_until = None
        if approve:
            certified_on = now.astimezone(self._zone).date()
            change = await self._cycle.apply_certification(uow, retiree, certified_on)
            retiree.last_certified_on = certified_on
            valid_until = change.due_on
            uow.certifications.add(
                Certification(
                    retiree_id=retiree.id,
                    certified_at=now,
                    certified_on=certified_on,
                    valid_until=valid_until,
                    method="review",
                    staff_id=staff.id,
                )
            )
        uow.audit.add(
            AuditEntry(
                actor=f"staff:{staff.id}",
                action="review_approved" if approve else "review_rejected",
                retiree_id=retiree.id,
                detail={"case_id": case.id, "reason": reason[:1000]},
            )
        )
        await self._record(uow, retiree, staff, now, "review_approved" if approve else "review_rejected")
        chats = [binding.chat_id for binding in await uow.bindings.active_for_retiree(retiree.id)]
        return Decision(case.id, approve, valid_until, chats, retiree.name)

    async def _record(
        self,
        uow: UnitOfWork,
        retiree: Retiree,
        staff: StaffMember,
        now: datetime,
        event: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """A verification record of what a staff member's decision did."""
        await append_record(
            uow,
            region=self._region_code,
            retiree=retiree,
            method="review",
            at=now,
            event=event,
            staff_id=staff.id,
            detail=detail,
        )

    async def _decide_audited_pass(
        self,
        uow: UnitOfWork,
        staff: StaffMember,
        case: ReviewCase,
        retiree: Retiree,
        approve: bool,
        now: datetime,
    ) -> Decision:
        """A decision on a pass staff doubted at its audit, in the caller's unit of work.
        Upheld: the certification stands and nobody is told (they were never told of the doubt).
        Rejected: payment is suspended until the retiree certifies with staff, and the
        retiree's chats are told how."""
        audit = await uow.pass_audits.by_review_case(case.id)
        detail = {"case_id": case.id, "because": REVIEW_BECAUSE, "pass_audit_id": audit.id if audit else None}
        notify: list[int] = []
        if not approve:
            if retiree.payment_state != "suspended":
                retiree.payment_state = "suspended"
                today = now.astimezone(self._zone).date()
                uow.suspensions.add(
                    Suspension(retiree_id=retiree.id, suspended_on=today, reason=AUDIT_SUSPENSION)
                )
                await self._record(uow, retiree, staff, now, "suspended", {"reason": AUDIT_SUSPENSION})
            notify = [binding.chat_id for binding in await uow.bindings.active_for_retiree(retiree.id)]
        outcome = DecisionOutcome.AUDIT_UPHELD if approve else DecisionOutcome.AUDIT_REJECTED
        uow.audit.add(
            AuditEntry(
                actor=f"staff:{staff.id}",
                action=outcome.value,
                retiree_id=retiree.id,
                detail=detail | {"reason": case.decision_reason},
            )
        )
        await self._record(
            uow, retiree, staff, now, "review_approved" if approve else "review_rejected", detail
        )
        return Decision(case.id, approve, None, notify, retiree.name, outcome)

    async def _decide_life_event(
        self,
        uow: UnitOfWork,
        staff: StaffMember,
        case: ReviewCase,
        report: LifeEventReport,
        retiree: Retiree,
        approve: bool,
        now: datetime,
    ) -> Decision:
        """A decision on a reported death or hospital stay, in the caller's unit of work."""
        report.state = "confirmed" if approve else "rejected"
        assert case.decision_reason is not None  # decide() has just set it
        report.decided_by, report.decided_at, report.decision_note = staff.id, now, case.decision_reason
        outcome = {
            ("death", True): DecisionOutcome.DEATH_CONFIRMED,
            ("death", False): DecisionOutcome.DEATH_REJECTED,
            ("hospital", True): DecisionOutcome.HOSPITAL_ACKNOWLEDGED,
            ("hospital", False): DecisionOutcome.HOSPITAL_REJECTED,
        }[(report.kind, approve)]
        # The retiree's chats hear of a death report found untrue; for the rest, the reporter
        # (none for a death another agency's feed recorded).
        notify = [report.reporter_user_id] if report.reporter_user_id is not None else []
        if outcome is DecisionOutcome.DEATH_CONFIRMED:
            await self._confirm_death(uow, staff, retiree, now)
        elif outcome is DecisionOutcome.DEATH_REJECTED:
            notify = [binding.chat_id for binding in await uow.bindings.active_for_retiree(retiree.id)]
            await self._resume_after_rejected_report(uow, staff, retiree, now)
        uow.audit.add(
            AuditEntry(
                actor=f"staff:{staff.id}",
                action=outcome.value,
                retiree_id=retiree.id,
                detail={"case_id": case.id, "report_id": report.id, "reason": case.decision_reason},
            )
        )
        return Decision(case.id, approve, None, notify, retiree.name, outcome)

    async def _confirm_death(
        self, uow: UnitOfWork, staff: StaffMember, retiree: Retiree, now: datetime
    ) -> None:
        """Payment stays stopped; nobody certifies for the retiree any more, and no one visits."""
        if retiree.payment_state != "suspended":
            # Resumed meanwhile (an in-person certification after the report): stop it again.
            retiree.payment_state = "suspended"
            today = now.astimezone(self._zone).date()
            uow.suspensions.add(
                Suspension(retiree_id=retiree.id, suspended_on=today, reason="death_confirmed")
            )
            await self._record(uow, retiree, staff, now, "suspended", {"reason": "death_confirmed"})
        for binding in await uow.bindings.active_for_retiree(retiree.id):
            binding.revoked_at = now
            uow.audit.add(
                AuditEntry(
                    actor=f"staff:{staff.id}",
                    action="binding_revoked",
                    retiree_id=retiree.id,
                    detail={"binding_id": binding.id, "kind": binding.kind, "because": "death_confirmed"},
                )
            )
        visit = await uow.home_visits.open_for_retiree(retiree.id)
        if visit is not None:
            visit.state, visit.done_at, visit.staff_id = "cancelled", now, staff.id
        await self._record(uow, retiree, staff, now, "death_confirmed")

    async def _resume_after_rejected_report(
        self, uow: UnitOfWork, staff: StaffMember, retiree: Retiree, now: datetime
    ) -> None:
        """Lift the suspension the report caused, paying back the months it stopped. A
        suspension for not certifying in time is not this report's to lift."""
        suspension = await uow.suspensions.open_for_retiree(retiree.id)
        if suspension is None or suspension.reason != "death_reported":
            return
        resumed_on = max(now.astimezone(self._zone).date(), suspension.suspended_on)
        months = back_pay_months(suspension.suspended_on, resumed_on)
        suspension.resumed_on, suspension.back_pay_months = resumed_on, months
        retiree.payment_state = "active"
        await self._record(
            uow,
            retiree,
            staff,
            now,
            "resumed",
            {"reason": "death_report_rejected", "back_pay_months": months},
        )


def _summary(report: LifeEventReport | None) -> LifeEventSummary | None:
    if report is None:
        return None
    return LifeEventSummary(
        report.kind, report.event_date, report.reported_at, report.document_encrypted is not None
    )
