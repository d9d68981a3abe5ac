"""Suspected false claims before staff: a death recorded by another agency, dated before a
certification or a life signal on file (verification/signals/deaths.py flags them).

Staff of the retiree's region see the evidence side by side — the death record (source and
date), each certification after it (how: video, photo, data, in person; the video or photo
itself through the review service's audited `evidence`), each signal after it — and decide:
confirmed (someone drew the pension of a dead person: the recovery case and a referral follow,
社会保险法 Art. 88) or dismissed (explained: a wrong death date corrected at the source, the
signal of another person). Each look and each decision is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kernel.clock import Clock, utc_now
from kernel.idnumber import mask_id_number
from kernel.permissions import NotStaff
from kernel.regions import covers
from storage.models.certification import AuditEntry
from storage.models.signals import SuspicionState
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWorkFactory

DISMISS_REASONS = ("death_date_corrected", "another_person")


@dataclass(frozen=True)
class SuspicionView:
    suspicion_id: int
    retiree_id: int
    retiree_name: str = field(repr=False)
    masked_id_number: str = field(repr=False)
    died_on: date
    death_source: str
    opened_at: datetime
    evidence: list[dict[str, Any]]  # {"kind", "on", "method" | "source", "attempt_id"?}


class SuspicionService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, vault: PersonalDataVault, clock: Clock = utc_now
    ) -> None:
        self._uow_factory = uow_factory
        self._vault = vault
        self._clock = clock

    async def open_for_staff(self, telegram_user_id: int, limit: int = 10) -> list[SuspicionView]:
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            views = []
            for suspicion in await uow.signals.open_suspicions():
                if not covers(staff.region_code, suspicion.region):
                    continue
                retiree = await uow.retirees.existing(suspicion.retiree_id)
                death = next(
                    d for d in await uow.signals.deaths_of(retiree.id) if d.id == suspicion.death_record_id
                )
                views.append(
                    SuspicionView(
                        suspicion.id,
                        retiree.id,
                        retiree.name,
                        mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted)),
                        death.died_on,
                        death.source,
                        suspicion.opened_at,
                        list(suspicion.evidence),
                    )
                )
                uow.audit.add(
                    AuditEntry(
                        at=self._clock(),
                        actor=f"staff:{staff.id}",
                        action="suspicion_viewed",
                        retiree_id=retiree.id,
                        detail={"suspicion_id": suspicion.id},
                    )
                )
                if len(views) >= limit:
                    break
            await uow.commit()
            return views

    async def decide(self, telegram_user_id: int, suspicion_id: int, confirmed: bool, reason: str) -> bool:
        """Confirm or dismiss; False when it was decided already (by a colleague, meanwhile)."""
        if not confirmed and reason not in DISMISS_REASONS:
            raise ValueError(f"a dismissal needs one of the reasons {DISMISS_REASONS}")
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            suspicion = await uow.signals.suspicion(suspicion_id)
            if suspicion is None or not covers(staff.region_code, suspicion.region):
                raise NotStaff(telegram_user_id)  # not a case of this staff member's region
            if suspicion.state != SuspicionState.OPEN:
                return False
            suspicion.state = (SuspicionState.CONFIRMED if confirmed else SuspicionState.DISMISSED).value
            suspicion.decided_by, suspicion.decided_at, suspicion.decision_note = staff.id, now, reason[:500]
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor=f"staff:{staff.id}",
                    action="false_claim_confirmed" if confirmed else "false_claim_dismissed",
                    retiree_id=suspicion.retiree_id,
                    detail={"suspicion_id": suspicion.id, "reason": reason[:500]},
                )
            )
            await uow.commit()
            return True
