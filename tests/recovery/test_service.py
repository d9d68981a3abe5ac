"""Recovery cases on SQLite and PostgreSQL: opening one in the death's transaction, and the
staff's steps (notice, letter, plan, payments, write-off with a second staff member), each
audited and recorded in the paying region's chain; and the bad inputs refused."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from kernel.permissions import NotStaff
from storage.models.certification import AuditEntry
from storage.models.records import OutboxEntry, VerificationRecord
from storage.models.recovery import RecoveryCase, RecoveryState
from storage.models.signals import ChatNotice
from tests.recovery.helpers import (
    CLERK,
    CLERK_NUMBER,
    FAR,
    HELPER_CHAT,
    PAYING,
    SECOND,
    add_retiree,
    add_staff,
    open_case,
    service,
)
from verification.records.chain import verify_chain
from verification.recovery.service import RecoveryRefused, Refusal, StepKind

FOUR_MONTHS = 4 * 325050  # died 20 July 2026, stopped 26 November, pay day 10


async def _count(uow_factory, model, *where) -> int:
    async with uow_factory() as uow:
        return (await uow.session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_a_case_is_opened_with_its_months_audit_and_local_record(uow_factory, vault):
    retiree_id = await add_retiree(uow_factory, vault)
    case_id = await open_case(uow_factory, retiree_id)
    assert case_id is not None
    async with uow_factory() as uow:
        case = await uow.recovery.get(case_id)
        assert case.overpaid_months == ["2026-08", "2026-09", "2026-10", "2026-11"]
        assert (case.monthly_fen, case.overpaid_fen, case.recovered_fen) == (325050, FOUR_MONTHS, 0)
        assert case.region == PAYING and case.state == RecoveryState.OPEN
        records = (await uow.session.execute(select(VerificationRecord))).scalars().all()
        assert [(r.region, r.event) for r in records] == [(PAYING, "recovery_opened")]
        assert records[0].detail["overpaid_fen"] == FOUR_MONTHS
        assert (await verify_chain(uow, PAYING)).intact
    assert await _count(uow_factory, AuditEntry, AuditEntry.action == "recovery_opened") == 1
    assert await _count(uow_factory, OutboxEntry) == 0  # kept in this region's chain


async def test_no_case_without_an_amount_or_an_overpayment_or_while_one_is_open(uow_factory, vault):
    no_amount = await add_retiree(uow_factory, vault, serial=2, monthly_fen=None)
    assert await open_case(uow_factory, no_amount) is None
    in_time = await add_retiree(uow_factory, vault, serial=3)
    assert (
        await open_case(uow_factory, in_time, died_on=date(2026, 11, 3), stopped_on=date(2026, 11, 20))
        is None
    )
    twice = await add_retiree(uow_factory, vault, serial=4)
    assert await open_case(uow_factory, twice) is not None
    assert await open_case(uow_factory, twice) is None
    assert await _count(uow_factory, RecoveryCase) == 1
    assert await _count(uow_factory, VerificationRecord) == 1


async def test_paid_back_in_instalments_until_recovered(uow_factory, vault):
    await add_staff(uow_factory)
    case_id = await open_case(uow_factory, await add_retiree(uow_factory, vault))
    recovery = service(uow_factory, vault)

    (listed,) = await recovery.open_cases(CLERK)
    assert listed.case_id == case_id and listed.outstanding_fen == FOUR_MONTHS
    assert listed.retiree_name not in repr(listed)

    sent = await recovery.send_notice(CLERK, case_id)
    assert sent.chats == 1
    async with uow_factory() as uow:
        (notice,) = (await uow.session.execute(select(ChatNotice))).scalars().all()
    assert (notice.chat_id, notice.kind, notice.for_helper) == (HELPER_CHAT, "recovery_notice", True)
    assert notice.params == {"case_id": case_id, "amount_fen": FOUR_MONTHS, "months": 4}

    view = await recovery.agree_plan(CLERK, case_id, 3, date(2026, 12, 31))
    assert view.summary.state is RecoveryState.AGREED
    assert [i.amount_fen for i in view.plan] == [433400, 433400, 433400]
    assert [i.due_on for i in view.plan] == [date(2026, 12, 31), date(2027, 1, 31), date(2027, 2, 28)]

    first = await recovery.record_payment(CLERK, case_id, 433400)
    assert first.recovered_fen == 433400 and first.state is RecoveryState.AGREED
    last = await recovery.record_payment(CLERK_NUMBER, case_id, FOUR_MONTHS - 433400, note="counter")
    assert last.state is RecoveryState.RECOVERED and last.outstanding_fen == 0
    assert await recovery.open_cases(CLERK) == []

    view = await recovery.case(SECOND, case_id)
    assert [s.kind for s in view.steps] == [
        StepKind.NOTICE,
        StepKind.PLAN,
        StepKind.PAYMENT,
        StepKind.PAYMENT,
    ]
    async with uow_factory() as uow:
        case = await uow.recovery.get(case_id)
        assert case.closed_at is not None
        events = [r.event for r in (await uow.session.execute(select(VerificationRecord))).scalars()]
        assert (await verify_chain(uow, PAYING)).intact
    assert events == ["recovery_opened", *["recovery_step"] * 4, "recovery_closed"]
    actions = {a for (a,) in (await _sessions(uow_factory, select(AuditEntry.action)))}
    assert {"recovery_notice", "recovery_plan", "recovery_payment", "recovery_closed"} <= actions
    with pytest.raises(RecoveryRefused) as refused:
        await recovery.record_payment(CLERK, case_id, 1)
    assert refused.value.reason is Refusal.CLOSED


async def _sessions(uow_factory, query):
    async with uow_factory() as uow:
        return (await uow.session.execute(query)).all()


async def test_bad_payments_are_refused_and_change_nothing(uow_factory, vault):
    await add_staff(uow_factory)
    case_id = await open_case(uow_factory, await add_retiree(uow_factory, vault))
    recovery = service(uow_factory, vault)
    for amount, reason in (
        (FOUR_MONTHS + 1, Refusal.AMOUNT_OVER_OWED),
        (0, Refusal.AMOUNT_NOT_POSITIVE),
        (-500, Refusal.AMOUNT_NOT_POSITIVE),
    ):
        with pytest.raises(RecoveryRefused) as refused:
            await recovery.record_payment(CLERK, case_id, amount)
        assert refused.value.reason is reason
    await recovery.record_payment(CLERK, case_id, 100)
    with pytest.raises(RecoveryRefused) as refused:
        await recovery.record_payment(CLERK, case_id, FOUR_MONTHS)  # 1 yuan already paid back
    assert refused.value.reason is Refusal.AMOUNT_OVER_OWED
    for count in (0, 121):
        with pytest.raises(RecoveryRefused) as refused:
            await recovery.agree_plan(CLERK, case_id, count, date(2027, 1, 10))
        assert refused.value.reason is Refusal.BAD_INSTALMENTS
    with pytest.raises(RecoveryRefused) as refused:
        await recovery.case(CLERK, 99999)
    assert refused.value.reason is Refusal.NOT_FOUND
    summary = (await recovery.case(CLERK, case_id)).summary
    assert summary.recovered_fen == 100 and summary.state is RecoveryState.OPEN
    assert await _count(uow_factory, VerificationRecord) == 2  # opened, one payment


async def test_a_write_off_needs_a_second_staff_member(uow_factory, vault):
    await add_staff(uow_factory)
    case_id = await open_case(uow_factory, await add_retiree(uow_factory, vault))
    recovery = service(uow_factory, vault)
    await recovery.agree_plan(CLERK, case_id, 2, date(2027, 1, 10))
    await recovery.record_payment(CLERK, case_id, 50000)
    with pytest.raises(RecoveryRefused) as refused:
        await recovery.request_write_off(CLERK, case_id, "   ")
    assert refused.value.reason is Refusal.NO_REASON
    with pytest.raises(RecoveryRefused) as refused:
        await recovery.approve_write_off(SECOND, case_id)
    assert refused.value.reason is Refusal.NO_WRITE_OFF_REQUEST

    asked = await recovery.request_write_off(CLERK, case_id, "no estate, family cannot be reached")
    assert asked.state is RecoveryState.WRITE_OFF_REQUESTED
    assert (await recovery.case(CLERK, case_id)).write_off_requested_by is not None
    for step in (
        lambda: recovery.approve_write_off(CLERK, case_id),
        lambda: recovery.approve_write_off(CLERK_NUMBER, case_id),
        lambda: recovery.refuse_write_off(CLERK, case_id, "changed my mind"),
    ):
        with pytest.raises(RecoveryRefused) as refused:
            await step()
        assert refused.value.reason is Refusal.SAME_STAFF
    with pytest.raises(RecoveryRefused) as refused:
        await recovery.request_write_off(SECOND, case_id, "again")
    assert refused.value.reason is Refusal.WRITE_OFF_PENDING
    with pytest.raises(RecoveryRefused) as refused:
        await recovery.refuse_write_off(SECOND, case_id, "")
    assert refused.value.reason is Refusal.NO_REASON

    back = await recovery.refuse_write_off(SECOND, case_id, "the heir has been found")
    assert back.state is RecoveryState.AGREED  # where it was before the request

    await recovery.request_write_off(SECOND, case_id, "the heir refuses the estate")
    with pytest.raises(RecoveryRefused) as refused:  # a second staff member, but no supervisor
        await recovery.approve_write_off(CLERK, case_id)
    assert refused.value.reason is Refusal.NOT_SUPERVISOR
    async with uow_factory() as uow:  # the office makes the clerk a supervisor
        (await uow.staff.by_number(CLERK_NUMBER)).role = "supervisor"
        await uow.commit()
    done = await recovery.approve_write_off(CLERK, case_id)
    assert done.state is RecoveryState.WRITTEN_OFF and done.recovered_fen == 50000
    async with uow_factory() as uow:
        (closed,) = (
            (
                await uow.session.execute(
                    select(VerificationRecord).where(VerificationRecord.event == "recovery_closed")
                )
            )
            .scalars()
            .all()
        )
        assert closed.detail["written_off_fen"] == FOUR_MONTHS - 50000
        assert (await verify_chain(uow, PAYING)).intact
    # a reason typed by staff stays on the step: never in the chain
    async with uow_factory() as uow:
        details = [r.detail for r in (await uow.session.execute(select(VerificationRecord))).scalars()]
    assert not any("heir" in str(detail) for detail in details)


async def test_staff_of_another_region_and_strangers_are_refused(uow_factory, vault):
    await add_staff(uow_factory)
    case_id = await open_case(uow_factory, await add_retiree(uow_factory, vault))
    recovery = service(uow_factory, vault)
    assert await recovery.open_cases(FAR) == []
    for who in (FAR, 123456789, "nobody"):
        with pytest.raises(NotStaff):
            await recovery.record_payment(who, case_id, 100)
    with pytest.raises(NotStaff):
        await recovery.letter_data(FAR, case_id)
    with pytest.raises(NotStaff):
        await recovery.send_notice(FAR, case_id)
    assert (await recovery.case(CLERK, case_id)).steps == ()


async def test_no_family_chat_means_no_notice(uow_factory, vault):
    await add_staff(uow_factory)
    case_id = await open_case(uow_factory, await add_retiree(uow_factory, vault, helper_chat=None))
    with pytest.raises(RecoveryRefused) as refused:
        await service(uow_factory, vault).send_notice(CLERK, case_id)
    assert refused.value.reason is Refusal.NO_FAMILY_CHAT
    assert await _count(uow_factory, ChatNotice) == 0
