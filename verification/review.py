"""Staff review of doubtful certifications: the pending cases of their region, the evidence,
and a decision with a reason. Every look at evidence and every decision is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kernel.clock import Clock, utc_now
from kernel.idnumber import mask_id_number
from kernel.permissions import NotStaff
from kernel.regions import covers
from storage.certification_models import AuditEntry, Certification
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWorkFactory
from verification.certification import CycleKeeper
from verification.records import append_record


@dataclass(frozen=True)
class AttemptView:
    attempt_id: int
    at: datetime
    outcome: str
    reason: str
    distance: float | None
    has_evidence: bool


@dataclass(frozen=True)
class CaseView:
    case_id: int
    retiree_id: int
    retiree_name: str
    masked_id_number: str
    residence_region: str
    opened_at: datetime
    opened_because: str
    attempts: list[AttemptView]
    reference_photo_path: str | None


@dataclass(frozen=True)
class Decision:
    case_id: int
    approved: bool
    valid_until: object | None
    notify_chat_ids: list[int]
    retiree_name: str


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
    ) -> None:
        self._region_code = region_code  # the chain verification records are appended to
        self._uow_factory = uow_factory
        self._vault = vault
        self._cycle = cycle
        self._zone = ZoneInfo(timezone)
        self._clock = clock

    async def _staff(self, uow, telegram_user_id: int):
        staff = await uow.staff.by_telegram_user(telegram_user_id)
        if staff is None:
            raise NotStaff(telegram_user_id)
        return staff

    async def pending(self, telegram_user_id: int, limit: int = 10) -> list[CaseView]:
        async with self._uow_factory() as uow:
            staff = await self._staff(uow, telegram_user_id)
            views = []
            for case in await uow.reviews.pending(limit=500):
                retiree = await uow.retirees.get(case.retiree_id)
                if not covers(staff.region_code, retiree.residence_region):
                    continue
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
                views.append(
                    CaseView(
                        case.id,
                        retiree.id,
                        retiree.name,
                        mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted)),
                        retiree.residence_region,
                        case.opened_at,
                        case.opened_because,
                        attempts,
                        retiree.reference_photo_path,
                    )
                )
                if len(views) >= limit:
                    break
            return views

    async def evidence(self, telegram_user_id: int, attempt_id: int) -> bytes | None:
        """The photo of an attempt, for a staff member of the retiree's region; audited."""
        async with self._uow_factory() as uow:
            staff = await self._staff(uow, telegram_user_id)
            evidence = await uow.evidence.for_attempt(attempt_id)
            if evidence is None:
                return None
            retiree = await uow.retirees.get(evidence.retiree_id)
            if not covers(staff.region_code, retiree.residence_region):
                raise NotStaff(telegram_user_id)
            uow.audit.add(
                AuditEntry(
                    actor=f"staff:{staff.id}",
                    action="evidence_viewed",
                    retiree_id=retiree.id,
                    detail={"attempt_id": attempt_id},
                )
            )
            await uow.commit()
            return self._vault.decrypt(evidence.data_encrypted)

    async def case_photos(self, telegram_user_id: int, case_id: int) -> list[tuple[datetime, bytes]]:
        """Every photo kept for a case's attempts, oldest first; each look is audited."""
        async with self._uow_factory() as uow:
            attempts = await uow.attempts.for_case(case_id)
        photos = []
        for attempt in attempts:
            data = await self.evidence(telegram_user_id, attempt.id)
            if data is not None:
                photos.append((attempt.at, data))
        return photos

    async def reference_photo(self, telegram_user_id: int, case_id: int) -> bytes | None:
        async with self._uow_factory() as uow:
            staff = await self._staff(uow, telegram_user_id)
            case = await uow.reviews.get(case_id)
            retiree = await uow.retirees.get(case.retiree_id) if case else None
            if retiree is None or not covers(staff.region_code, retiree.residence_region):
                return None
            path = Path(retiree.reference_photo_path) if retiree.reference_photo_path else None
        return path.read_bytes() if path and path.is_file() else None

    async def decide(
        self, telegram_user_id: int, case_id: int, approve: bool, reason: str
    ) -> Decision | None:
        """Approve (the retiree is certified, by staff) or reject, with the reason given.

        None when the case is not pending any more (decided by a colleague meanwhile)."""
        reason = reason.strip()
        if not reason:
            raise ValueError("a decision needs a reason")
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await self._staff(uow, telegram_user_id)
            case = await uow.reviews.get(case_id)
            if case is None or case.status != "pending":
                return None
            retiree = await uow.retirees.get(case.retiree_id)
            if not covers(staff.region_code, retiree.residence_region):
                raise NotStaff(telegram_user_id)
            case.status = "approved" if approve else "rejected"
            case.decided_by, case.decided_at, case.decision_reason = staff.id, now, reason[:1000]
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
            await append_record(
                uow,
                region=self._region_code,
                retiree=retiree,
                method="review",
                at=now,
                event="review_approved" if approve else "review_rejected",
                staff_id=staff.id,
            )
            chats = [binding.chat_id for binding in await uow.bindings.active_for_retiree(retiree.id)]
            await uow.commit()
            return Decision(case.id, approve, valid_until, chats, retiree.name)
