"""Opening a recovery case inside the caller's transaction (a death record's, mostly).

`open_recovery_case` counts the months paid after entitlement ended (`overpayment`), and when
something was overpaid adds the case, an audit entry and a verification record in the paying
region's chain ("recovery_opened", kept local: peers do not receive it). Nothing is committed
here: the caller commits with the rest of its work.
"""

from __future__ import annotations

from datetime import date, datetime

from storage.models import Retiree
from storage.models.certification import AuditEntry
from storage.models.recovery import RecoveryCase, RecoveryState
from storage.uow import UnitOfWork
from verification.records.chain import append_record
from verification.recovery.overpayment import compute_overpayment, load_pay_days

RECORD_METHOD = "recovery"


async def open_recovery_case(
    uow: UnitOfWork,
    retiree: Retiree,
    *,
    entitlement_ended_on: date,
    payment_stopped_on: date,
    death_record_id: int | None,
    at: datetime,
) -> RecoveryCase | None:
    """The case for what was paid to `retiree` after `entitlement_ended_on` until payment was
    stopped on `payment_stopped_on`; None (nothing added) when the retiree has no monthly
    amount on record, nothing was overpaid, or a case of theirs is still open."""
    pay_day = load_pay_days().for_region(retiree.pension_region)
    overpayment = compute_overpayment(
        entitlement_ended_on, payment_stopped_on, retiree.monthly_pension_fen, pay_day
    )
    if overpayment is None:
        return None
    if await uow.recovery.open_for_retiree(retiree.id) is not None:
        return None
    case = RecoveryCase(
        retiree_id=retiree.id,
        region=retiree.pension_region,
        death_record_id=death_record_id,
        entitlement_ended_on=entitlement_ended_on,
        overpaid_months=list(overpayment.months),
        monthly_fen=overpayment.monthly_fen,
        overpaid_fen=overpayment.total_fen,
        recovered_fen=0,
        state=RecoveryState.OPEN.value,
        opened_at=at,
    )
    uow.recovery.add(case)
    await uow.flush()
    detail = {
        "case_id": case.id,
        "months": overpayment.count,
        "overpaid_fen": overpayment.total_fen,
        "death_record_id": death_record_id,
    }
    uow.audit.add(
        AuditEntry(at=at, actor="system", action="recovery_opened", retiree_id=retiree.id, detail=detail)
    )
    await append_record(
        uow,
        region=retiree.pension_region,
        event="recovery_opened",
        retiree=retiree,
        method=RECORD_METHOD,
        at=at,
        detail=detail,
    )
    return case
