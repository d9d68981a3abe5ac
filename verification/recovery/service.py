"""Staff's work on recovery cases: the open cases of their region, one case in full, a
notice to the family through the bot, a letter as PDF, a plan of instalments, amounts
recovered, and a write-off that a second staff member, a supervisor, approves or refuses.

Every step is a RecoveryStep, an audit entry and a verification record in the paying
region's chain ("recovery_step"; "recovery_closed" when the case ends), written in one
transaction. Amounts are whole fen (int). Staff are known by their Telegram user id; anyone
else, and staff of a region that does not cover the case's, get NotStaff. A step the case
does not allow is refused with a RecoveryRefused naming the reason (`Refusal`).

The legal basis (the texts are in content/translations/*/recovery.po): 社会保险经办条例
Art. 46 (benefits drawn beyond entitlement are paid back; where that cannot be done at once,
by an agreed plan of instalments, or by deduction); Art. 25 (the death is to be reported
within 20 working days); 社会保险法 Art. 88 (benefits obtained by deceit are returned, with a
fine of two to five times the amount) only where deceit is found: a recovery case is not an
accusation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from kernel.clock import Clock, as_utc, utc_now
from kernel.idnumber import mask_id_number
from kernel.permissions import NotStaff
from kernel.regions import covers
from storage.models import Retiree
from storage.models.certification import AuditEntry, StaffMember, StaffRole
from storage.models.recovery import RecoveryCase, RecoveryState, RecoveryStep
from storage.models.signals import ChatNotice
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.records.chain import append_record
from verification.recovery.cases import RECORD_METHOD
from verification.recovery.overpayment import instalment_dates, split_instalments

# Who acts: an int is a Telegram user id (the bot), a str a staff number (the command line).
StaffKey = int | str
RECOVERY_NOTICE = "recovery_notice"  # the ChatNotice kind
MAX_INSTALMENTS = 120  # ten years of monthly instalments
MAX_REASON = 500
CLOSED_STATES = frozenset({RecoveryState.RECOVERED, RecoveryState.WRITTEN_OFF})


class StepKind(StrEnum):
    NOTICE = "notice"
    LETTER = "letter"
    PLAN = "plan"
    PAYMENT = "payment"
    WRITE_OFF_REQUEST = "write_off_request"
    WRITE_OFF_APPROVAL = "write_off_approval"
    WRITE_OFF_REFUSAL = "write_off_refusal"


class Refusal(StrEnum):
    """Why a step was refused; each has words in both languages (recovery.refused.<value>)."""

    NOT_FOUND = "not_found"
    CLOSED = "closed"  # recovered or written off already
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    AMOUNT_OVER_OWED = "amount_over_owed"
    BAD_INSTALMENTS = "bad_instalments"
    NO_FAMILY_CHAT = "no_family_chat"
    NO_REASON = "no_reason"
    WRITE_OFF_PENDING = "write_off_pending"  # a write-off waits for its second staff member
    NO_WRITE_OFF_REQUEST = "no_write_off_request"
    SAME_STAFF = "same_staff"  # the one who asked for the write-off cannot decide it
    NOT_SUPERVISOR = "not_supervisor"  # only a supervisor decides a write-off


class RecoveryRefused(ValueError):
    def __init__(self, reason: Refusal, case_id: int | None = None) -> None:
        super().__init__(f"recovery step refused: {reason.value}")
        self.reason = reason
        self.case_id = case_id


@dataclass(frozen=True)
class CaseSummary:
    case_id: int
    retiree_id: int
    retiree_name: str = field(repr=False)
    region: str
    state: RecoveryState
    entitlement_ended_on: date
    months: tuple[str, ...]
    monthly_fen: int
    overpaid_fen: int
    recovered_fen: int
    opened_at: datetime
    after_death: bool = True  # opened from a death record (else another end of entitlement)

    @property
    def outstanding_fen(self) -> int:
        return self.overpaid_fen - self.recovered_fen

    @property
    def closed(self) -> bool:
        return self.state in CLOSED_STATES


@dataclass(frozen=True)
class Instalment:
    due_on: date
    amount_fen: int


@dataclass(frozen=True)
class StepView:
    kind: StepKind
    at: datetime  # in the service's time zone
    staff_id: int | None
    amount_fen: int | None
    detail: dict[str, Any] = field(repr=False)  # a reason typed by staff may name people


@dataclass(frozen=True)
class CaseView:
    summary: CaseSummary
    masked_id_number: str = field(repr=False)
    steps: tuple[StepView, ...]
    plan: tuple[Instalment, ...]  # the plan last agreed (empty when none)
    write_off_requested_by: int | None  # staff id, while a write-off waits for approval


@dataclass(frozen=True)
class CaseQueue:
    cases: list[CaseView]
    more: int  # open cases of the region beyond the page


@dataclass(frozen=True)
class NoticeSent:
    case_id: int
    chats: int  # how many family chats will be told (ChatNotice rows written)


@dataclass(frozen=True)
class LetterData:
    """What the letter says: the case, the issuing region and the day it is dated."""

    view: CaseView
    issued_on: date
    issuing_region: str


class RecoveryService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        *,
        clock: Clock = utc_now,
        timezone: str = "Asia/Shanghai",
        region_code: str | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._vault = vault
        self._clock = clock
        self._zone = ZoneInfo(timezone)
        self._region_code = region_code  # the issuing agency's region, named on letters

    # ------------------------------------------------------------------ reading

    async def open_cases(self, who: StaffKey, limit: int = 20) -> list[CaseSummary]:
        """Open cases of the regions the staff member covers, oldest first."""
        async with self._uow_factory() as uow:
            staff = await _staff(uow, who)
            summaries: list[CaseSummary] = []
            for case in await uow.recovery.open_cases():
                if not covers(staff.region_code, case.region):
                    continue
                summaries.append(_summary(case, await uow.retirees.existing(case.retiree_id)))
                if len(summaries) >= limit:
                    break
            return summaries

    async def queue(self, who: StaffKey, limit: int = 10) -> CaseQueue:
        """The open cases of the staff member's region in full (the bot's list), oldest
        first, and how many more there are."""
        async with self._uow_factory() as uow:
            staff = await _staff(uow, who)
            views: list[CaseView] = []
            more = 0
            for case in await uow.recovery.open_cases():
                if not covers(staff.region_code, case.region):
                    continue
                if len(views) >= limit:
                    more += 1
                    continue
                views.append(await self._view(uow, case, await uow.retirees.existing(case.retiree_id)))
            return CaseQueue(views, more)

    async def case(self, who: StaffKey, case_id: int) -> CaseView:
        async with self._uow_factory() as uow:
            staff = await _staff(uow, who)
            case, retiree = await self._case(uow, staff, case_id, lock=False)
            return await self._view(uow, case, retiree)

    async def letter_data(self, who: StaffKey, case_id: int) -> LetterData:
        """What the letter to the family says; the letter is a step (audited: it names the
        retiree). `verification.recovery.letter.render_letter` makes the PDF of it."""
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await _staff(uow, who)
            case, retiree = await self._case(uow, staff, case_id)
            await self._step(uow, staff, case, retiree, StepKind.LETTER, now, detail={})
            view = await self._view(uow, case, retiree)
            await uow.commit()
        return LetterData(view, self._today(now), self._region_code or case.region)

    # ------------------------------------------------------------------ steps

    async def send_notice(self, who: StaffKey, case_id: int) -> NoticeSent:
        """A message to each helper bound to the retiree (their family), sent by the bot's
        notice job: the amount and months only, worded with care. Refused when no helper's
        chat is bound (send the letter instead)."""
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await _staff(uow, who)
            case, retiree = await self._case(uow, staff, case_id)
            _refuse_if_closed(case)
            helpers = [b for b in await uow.bindings.active_for_retiree(retiree.id) if b.kind == "helper"]
            if not helpers:
                raise RecoveryRefused(Refusal.NO_FAMILY_CHAT, case.id)
            params = {
                "case_id": case.id,
                "amount_fen": case.overpaid_fen - case.recovered_fen,
                "months": len(case.overpaid_months or []),
            }
            for binding in helpers:
                uow.notices.add(
                    ChatNotice(
                        chat_id=binding.chat_id,
                        retiree_id=retiree.id,
                        kind=RECOVERY_NOTICE,
                        params=params,
                        for_helper=True,
                        created_at=now,
                    )
                )
            await self._step(uow, staff, case, retiree, StepKind.NOTICE, now, detail={"chats": len(helpers)})
            await uow.commit()
            return NoticeSent(case.id, len(helpers))

    async def agree_plan(self, who: StaffKey, case_id: int, instalments: int, first_due: date) -> CaseView:
        """The outstanding amount in `instalments` monthly instalments from `first_due` (经办条例
        Art. 46); a later plan replaces an earlier one."""
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await _staff(uow, who)
            case, retiree = await self._case(uow, staff, case_id)
            _refuse_if_closed(case)
            if case.state == RecoveryState.WRITE_OFF_REQUESTED:
                raise RecoveryRefused(Refusal.WRITE_OFF_PENDING, case.id)
            outstanding = case.overpaid_fen - case.recovered_fen
            if not 1 <= instalments <= min(MAX_INSTALMENTS, outstanding):
                raise RecoveryRefused(Refusal.BAD_INSTALMENTS, case.id)
            plan = [
                {"due_on": due.isoformat(), "amount_fen": amount}
                for due, amount in zip(
                    instalment_dates(first_due, instalments),
                    split_instalments(outstanding, instalments),
                    strict=True,
                )
            ]
            case.state = RecoveryState.AGREED.value
            await self._step(
                uow,
                staff,
                case,
                retiree,
                StepKind.PLAN,
                now,
                amount_fen=outstanding,
                detail={"instalments": plan},
            )
            view = await self._view(uow, case, retiree)
            await uow.commit()
            return view

    async def record_payment(
        self, who: StaffKey, case_id: int, amount_fen: int, *, note: str = ""
    ) -> CaseSummary:
        """An amount paid back; never more than is still owed. Paid in full closes the case
        as recovered."""
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await _staff(uow, who)
            case, retiree = await self._case(uow, staff, case_id)
            _refuse_if_closed(case)
            if amount_fen <= 0:
                raise RecoveryRefused(Refusal.AMOUNT_NOT_POSITIVE, case.id)
            if amount_fen > case.overpaid_fen - case.recovered_fen:
                raise RecoveryRefused(Refusal.AMOUNT_OVER_OWED, case.id)
            case.recovered_fen += amount_fen
            detail: dict[str, Any] = {"recovered_fen": case.recovered_fen}
            if note.strip():
                detail["note"] = note.strip()[:MAX_REASON]
            await self._step(
                uow, staff, case, retiree, StepKind.PAYMENT, now, amount_fen=amount_fen, detail=detail
            )
            if case.recovered_fen == case.overpaid_fen:
                await self._close(uow, staff, case, retiree, RecoveryState.RECOVERED, now)
            await uow.commit()
            return _summary(case, retiree)

    async def request_write_off(self, who: StaffKey, case_id: int, reason: str) -> CaseSummary:
        """Ask for what is still owed to be written off (nothing to recover from, say); a second
        staff member approves or refuses it."""
        reason = reason.strip()
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await _staff(uow, who)
            case, retiree = await self._case(uow, staff, case_id)
            _refuse_if_closed(case)
            if case.state == RecoveryState.WRITE_OFF_REQUESTED:
                raise RecoveryRefused(Refusal.WRITE_OFF_PENDING, case.id)
            if not reason:
                raise RecoveryRefused(Refusal.NO_REASON, case.id)
            detail = {"reason": reason[:MAX_REASON], "state_before": case.state}
            case.state = RecoveryState.WRITE_OFF_REQUESTED.value
            await self._step(
                uow,
                staff,
                case,
                retiree,
                StepKind.WRITE_OFF_REQUEST,
                now,
                amount_fen=case.overpaid_fen - case.recovered_fen,
                detail=detail,
            )
            await uow.commit()
            return _summary(case, retiree)

    async def approve_write_off(self, who: StaffKey, case_id: int) -> CaseSummary:
        """A second staff member (not the one who asked) writes off what is still owed."""
        return await self._decide_write_off(who, case_id, approve=True, reason="")

    async def refuse_write_off(self, who: StaffKey, case_id: int, reason: str) -> CaseSummary:
        """A second staff member refuses the write-off: the case goes back to where it was."""
        return await self._decide_write_off(who, case_id, approve=False, reason=reason)

    async def _decide_write_off(
        self, who: StaffKey, case_id: int, *, approve: bool, reason: str
    ) -> CaseSummary:
        reason = reason.strip()
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await _staff(uow, who)
            case, retiree = await self._case(uow, staff, case_id)
            _refuse_if_closed(case)
            if case.state != RecoveryState.WRITE_OFF_REQUESTED:
                raise RecoveryRefused(Refusal.NO_WRITE_OFF_REQUEST, case.id)
            request = await uow.recovery.last_step(case.id, StepKind.WRITE_OFF_REQUEST.value)
            if request is None:  # the state says a request exists; its step must too
                raise RecoveryRefused(Refusal.NO_WRITE_OFF_REQUEST, case.id)
            if request.staff_id == staff.id:
                raise RecoveryRefused(Refusal.SAME_STAFF, case.id)
            if staff.role != StaffRole.SUPERVISOR:
                raise RecoveryRefused(Refusal.NOT_SUPERVISOR, case.id)
            if not approve and not reason:
                raise RecoveryRefused(Refusal.NO_REASON, case.id)
            outstanding = case.overpaid_fen - case.recovered_fen
            detail: dict[str, Any] = {"request_step_id": request.id, "requested_by": request.staff_id}
            if approve:
                await self._step(
                    uow,
                    staff,
                    case,
                    retiree,
                    StepKind.WRITE_OFF_APPROVAL,
                    now,
                    amount_fen=outstanding,
                    detail=detail,
                )
                await self._close(uow, staff, case, retiree, RecoveryState.WRITTEN_OFF, now)
            else:
                detail["reason"] = reason[:MAX_REASON]
                before = (request.detail or {}).get("state_before")
                case.state = (
                    RecoveryState.AGREED.value if before == RecoveryState.AGREED else RecoveryState.OPEN.value
                )
                await self._step(uow, staff, case, retiree, StepKind.WRITE_OFF_REFUSAL, now, detail=detail)
            await uow.commit()
            return _summary(case, retiree)

    # ------------------------------------------------------------------ helpers

    async def _case(
        self, uow: UnitOfWork, staff: StaffMember, case_id: int, *, lock: bool = True
    ) -> tuple[RecoveryCase, Retiree]:
        """The case (its row locked for a step: two staff members' payments never both read
        the same amount recovered), if the staff member's region covers it."""
        case = await (uow.recovery.get_for_update(case_id) if lock else uow.recovery.get(case_id))
        if case is None:
            raise RecoveryRefused(Refusal.NOT_FOUND, case_id)
        if not covers(staff.region_code, case.region):
            raise NotStaff(staff.staff_number)
        return case, await uow.retirees.existing(case.retiree_id)

    async def _step(
        self,
        uow: UnitOfWork,
        staff: StaffMember,
        case: RecoveryCase,
        retiree: Retiree,
        kind: StepKind,
        at: datetime,
        *,
        amount_fen: int | None = None,
        detail: dict[str, Any],
    ) -> RecoveryStep:
        step = RecoveryStep(
            case_id=case.id, kind=kind.value, at=at, staff_id=staff.id, amount_fen=amount_fen, detail=detail
        )
        uow.recovery.add(step)
        await uow.flush()
        # The record and the audit carry codes and amounts only: a reason stays on the step.
        facts: dict[str, Any] = {
            "case_id": case.id,
            "step_id": step.id,
            "step": kind.value,
            "state": case.state,
        }
        if amount_fen is not None:
            facts["amount_fen"] = amount_fen
        await _audited(uow, staff, case, retiree, f"recovery_{kind.value}", "recovery_step", facts, at)
        return step

    async def _close(
        self,
        uow: UnitOfWork,
        staff: StaffMember,
        case: RecoveryCase,
        retiree: Retiree,
        state: RecoveryState,
        at: datetime,
    ) -> None:
        case.state, case.closed_at = state.value, at
        facts = {
            "case_id": case.id,
            "state": state.value,
            "overpaid_fen": case.overpaid_fen,
            "recovered_fen": case.recovered_fen,
            "written_off_fen": case.overpaid_fen - case.recovered_fen
            if state == RecoveryState.WRITTEN_OFF
            else 0,
        }
        await _audited(uow, staff, case, retiree, "recovery_closed", "recovery_closed", facts, at)

    async def _view(self, uow: UnitOfWork, case: RecoveryCase, retiree: Retiree) -> CaseView:
        steps = tuple(
            StepView(
                StepKind(s.kind),
                as_utc(s.at).astimezone(self._zone),
                s.staff_id,
                s.amount_fen,
                dict(s.detail or {}),
            )
            for s in await uow.recovery.steps(case.id)
        )
        plans = [s for s in steps if s.kind is StepKind.PLAN]
        plan = tuple(
            Instalment(date.fromisoformat(item["due_on"]), int(item["amount_fen"]))
            for item in (plans[-1].detail.get("instalments", []) if plans else [])
        )
        requests = [s for s in steps if s.kind is StepKind.WRITE_OFF_REQUEST]
        requested_by = (
            requests[-1].staff_id if requests and case.state == RecoveryState.WRITE_OFF_REQUESTED else None
        )
        masked = mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted))
        return CaseView(_summary(case, retiree), masked, steps, plan, requested_by)

    def _today(self, now: datetime) -> date:
        return as_utc(now).astimezone(self._zone).date()


def _summary(case: RecoveryCase, retiree: Retiree) -> CaseSummary:
    return CaseSummary(
        case_id=case.id,
        retiree_id=retiree.id,
        retiree_name=retiree.name,
        region=case.region,
        state=RecoveryState(case.state),
        entitlement_ended_on=case.entitlement_ended_on,
        months=tuple(case.overpaid_months or ()),
        monthly_fen=case.monthly_fen,
        overpaid_fen=case.overpaid_fen,
        recovered_fen=case.recovered_fen,
        opened_at=as_utc(case.opened_at),
        after_death=case.death_record_id is not None,
    )


def _refuse_if_closed(case: RecoveryCase) -> None:
    if case.state in CLOSED_STATES:
        raise RecoveryRefused(Refusal.CLOSED, case.id)


async def _staff(uow: UnitOfWork, who: StaffKey) -> StaffMember:
    """The active staff member: by Telegram user id (the bot) or staff number (the console)."""
    if isinstance(who, str):
        staff = await uow.staff.by_number(who)
        staff = staff if staff is not None and staff.active else None
    else:
        staff = await uow.staff.by_telegram_user(who)
    if staff is None:
        raise NotStaff(who)
    return staff


async def _audited(
    uow: UnitOfWork,
    staff: StaffMember,
    case: RecoveryCase,
    retiree: Retiree,
    action: str,
    event: str,
    facts: dict[str, Any],
    at: datetime,
) -> None:
    """What a staff member did to a case: an audit entry, and the record in the paying
    region's chain (codes and amounts only)."""
    uow.audit.add(
        AuditEntry(at=at, actor=f"staff:{staff.id}", action=action, retiree_id=retiree.id, detail=facts)
    )
    await append_record(
        uow,
        region=case.region,
        event=event,
        retiree=retiree,
        method=RECORD_METHOD,
        at=at,
        staff_id=staff.id,
        detail=facts,
    )
