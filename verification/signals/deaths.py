"""A death another agency recorded (household registration cancelled, cremation, death
certificate), taken in from a feed.

In the feed batch's ONE transaction: the death record; payment suspended at once (a pension
paid after a death is false claiming, 社会保险法 Art. 88), with the audit entry and the
verification records `death_reported` (method "data") and `suspended`, which reach the paying
region through the outbox; a review case for staff, as a life-event report of kind "death"
whose source is the feed, so that staff confirm it (payment stays stopped, the bindings end)
or find it wrong (payment resumes, the stopped months are paid back) exactly as they decide a
relative's report; a notice to the retiree's chats, worded with care (a wrong record stops a
living person's pension: the retiree's own chat is told how to put it right); and, when the
retiree has a monthly amount on file, the recovery case for what was paid after the death.

The most important fraud signal: a death dated BEFORE a certification or a life signal on file
means someone proved the life of a person already dead. That is flagged as a suspected false
claim with the evidence side by side (verification/signals/suspicions.py shows it to staff).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from storage.models import Retiree
from storage.models.care import LifeEventReport
from storage.models.certification import AuditEntry, ReviewCase, Suspension
from storage.models.signals import ChatNotice, DeathRecord, SuspectedFalseClaim
from storage.uow import UnitOfWork
from verification.cycle.rules import SUSPENDED
from verification.records.chain import append_record
from verification.recovery.cases import open_recovery_case

DEATH_REPORTED = "death_reported"  # the review case's and the suspension's reason, as for a relative's report
DEATH_RECORDED = "death_recorded"  # the ChatNotice kind


@dataclass(frozen=True)
class DeathOutcome:
    death_record_id: int
    review_case_id: int
    suspected_false_claim: bool
    recovery_case_id: int | None


async def record_death(
    uow: UnitOfWork,
    retiree: Retiree,
    *,
    source: str,
    died_on: date,
    import_id: int | None,
    now: datetime,
    today: date,
    region_code: str | None,
) -> DeathOutcome:
    """Everything a recorded death does, inside the caller's unit of work (not committed)."""
    case = ReviewCase(retiree_id=retiree.id, opened_at=now, opened_because=DEATH_REPORTED)
    uow.reviews.add(case)
    await uow.flush()
    report = LifeEventReport(
        retiree_id=retiree.id,
        kind="death",
        event_date=died_on,
        reported_at=now,
        reporter_user_id=None,
        reporter_relation="",
        source=source,
        review_case_id=case.id,
        state="pending",
    )
    uow.life_events.add(report)
    await uow.flush()
    death = DeathRecord(
        retiree_id=retiree.id,
        source=source,
        died_on=died_on,
        recorded_at=now,
        import_id=import_id,
        life_event_id=report.id,
    )
    uow.signals.add(death)
    await uow.flush()

    evidence = await _evidence_of_life_after(uow, retiree.id, died_on)
    if evidence:
        uow.signals.add(
            SuspectedFalseClaim(
                retiree_id=retiree.id,
                death_record_id=death.id,
                region=retiree.residence_region,
                opened_at=now,
                evidence=evidence,
            )
        )
    await append_record(
        uow,
        region=region_code,
        event="death_reported",
        retiree=retiree,
        method="data",
        at=now,
        detail={
            "died_on": died_on.isoformat(),
            "source": source,
            "suspected_false_claim": bool(evidence),
        },
    )
    stopped_on = await _suspend(uow, retiree, source, now, today, region_code)
    recovery = await open_recovery_case(
        uow,
        retiree,
        entitlement_ended_on=died_on,
        payment_stopped_on=stopped_on,
        death_record_id=death.id,
        at=now,
    )
    uow.audit.add(
        AuditEntry(
            at=now,
            actor=f"feed:{source}",
            action="death_recorded",
            retiree_id=retiree.id,
            detail={
                "death_record_id": death.id,
                "case_id": case.id,
                "died_on": died_on.isoformat(),
                "suspected_false_claim": bool(evidence),
                "recovery_case_id": recovery.id if recovery else None,
            },
        )
    )
    for binding in await uow.bindings.active_for_retiree(retiree.id):
        uow.notices.add(
            ChatNotice(
                chat_id=binding.chat_id,
                retiree_id=retiree.id,
                kind=DEATH_RECORDED,
                params={"died_on": died_on.isoformat(), "source": source},
                for_helper=binding.kind == "helper",
                created_at=now,
            )
        )
    return DeathOutcome(death.id, case.id, bool(evidence), recovery.id if recovery else None)


async def _evidence_of_life_after(uow: UnitOfWork, retiree_id: int, died_on: date) -> list[dict[str, Any]]:
    """What on file says the retiree was alive after `died_on`: certifications and signals."""
    evidence: list[dict[str, Any]] = [
        {
            "kind": "certification",
            "id": certification.id,
            "on": certification.certified_on.isoformat(),
            "method": certification.method,
            "attempt_id": certification.attempt_id,
        }
        for certification in await uow.signals.certifications_after(retiree_id, died_on)
    ]
    evidence += [
        {"kind": "signal", "id": signal.id, "on": signal.observed_on.isoformat(), "source": signal.source}
        for signal in await uow.signals.signals_after(retiree_id, died_on)
    ]
    return evidence


async def _suspend(
    uow: UnitOfWork, retiree: Retiree, source: str, now: datetime, today: date, region_code: str | None
) -> date:
    """Stop payment now; returns the day it stopped (an earlier suspension's day, if payment
    was already stopped for want of certification)."""
    if retiree.payment_state == SUSPENDED:
        open_suspension = await uow.suspensions.open_for_retiree(retiree.id)
        return open_suspension.suspended_on if open_suspension else today
    retiree.payment_state = SUSPENDED
    uow.suspensions.add(Suspension(retiree_id=retiree.id, suspended_on=today, reason=DEATH_REPORTED))
    uow.audit.add(
        AuditEntry(
            at=now,
            actor=f"feed:{source}",
            action="payment_suspended",
            retiree_id=retiree.id,
            detail={"reason": DEATH_REPORTED, "source": source},
        )
    )
    await append_record(
        uow,
        region=region_code,
        event="suspended",
        retiree=retiree,
        method="data",
        at=now,
        detail={"reason": DEATH_REPORTED, "source": source},
    )
    return today
