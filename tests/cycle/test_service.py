"""The cycle service on SQLite and PostgreSQL, with a fake clock."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from storage.models import ErrorRecord, Retiree
from storage.models.certification import AuditEntry, Certification, Reminder, ReviewCase, Suspension
from tests.cycle.factories import SHANGHAI, FakeClock, add_retiree, bind
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService

POLICIES = load_cycle_policies()
DUE = date(2026, 4, 30)
SELF_USER, HELPER_USER = 5001, 6001


def make_service(uow_factory, clock, **options) -> CycleService:
    return CycleService(uow_factory, POLICIES, "Asia/Shanghai", clock, **options)


async def rows(uow_factory, model, *where):
    async with uow_factory() as uow:
        found = (await uow.session.execute(select(model).where(*where).order_by(model.id))).scalars().all()
        uow.session.expunge_all()  # plain snapshots: the unit of work rolls back on the way out
        return found


async def retiree_row(uow_factory, retiree_id: int) -> Retiree:
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        uow.session.expunge_all()
        return retiree


# --- due dates ----------------------------------------------------------------------------


async def test_refresh_sets_missing_due_dates_in_batches(uow_factory, vault):
    today = date(2026, 3, 10)
    rolling = await add_retiree(uow_factory, vault, last_certified_on=date(2025, 6, 10))
    never = await add_retiree(uow_factory, vault)
    birthday = await add_retiree(
        uow_factory,
        vault,
        birth_date=date(1950, 3, 8),
        last_certified_on=date(2025, 12, 1),
        pension_region="310000",
    )
    kept = await add_retiree(uow_factory, vault, due_on=date(2026, 8, 1), last_certified_on=date(2025, 3, 1))
    newer = await add_retiree(
        uow_factory, vault, due_on=date(2026, 2, 1), last_certified_on=date(2026, 1, 20)
    )
    suspended = await add_retiree(
        uow_factory,
        vault,
        due_on=date(2025, 12, 1),
        last_certified_on=date(2026, 1, 20),
        payment_state="suspended",
    )
    service = make_service(uow_factory, FakeClock(today), batch_size=2)

    assert await service.refresh_due_dates() == 4
    due = {
        rid: (await retiree_row(uow_factory, rid)).due_on for rid in (rolling, never, birthday, kept, newer)
    }
    assert due[rolling] == date(2026, 6, 10)
    assert due[never] == today + timedelta(days=30)  # a first deadline for the never-certified
    assert due[birthday] == date(2027, 2, 28)
    assert due[kept] == date(2026, 8, 1)  # never moved back
    assert due[newer] == date(2027, 1, 20)  # a newer certification from the roster moves it on
    assert (await retiree_row(uow_factory, suspended)).due_on == date(2025, 12, 1)
    assert await service.refresh_due_dates() == 0


# --- reminders ----------------------------------------------------------------------------


async def bound_retiree(uow_factory, vault, **options) -> int:
    retiree_id = await add_retiree(uow_factory, vault, due_on=DUE, **options)
    await bind(uow_factory, retiree_id, SELF_USER, kind="self", language="en")
    await bind(uow_factory, retiree_id, HELPER_USER, kind="helper", language="zh_Hans")
    return retiree_id


async def test_reminders_at_each_threshold_to_retiree_and_helper_once_even_across_restarts(
    uow_factory, vault
):
    retiree_id = await bound_retiree(uow_factory, vault)
    clock = FakeClock(DUE - timedelta(days=40))
    sent: list[tuple[int, int]] = []
    for days_left in range(40, -5, -1):
        clock.set(DUE - timedelta(days=days_left), 9, 30)
        for _ in range(2):  # a restart: a new service on the same database
            service = make_service(uow_factory, clock)
            notices = await service.sweep_reminders()
            for notice in notices:
                assert notice.days_left == days_left and notice.due_on == DUE
                await service.mark_reminder_sent(notice)
                await service.mark_reminder_sent(notice)  # idempotent
                sent.append((notice.days_before, notice.chat_id))
    assert sent == [(d, chat) for d in (30, 14, 7, 1) for chat in (SELF_USER, HELPER_USER)]

    reminders = await rows(uow_factory, Reminder, Reminder.retiree_id == retiree_id)
    assert len(reminders) == 8 and all(r.sent_at is not None for r in reminders)


async def test_a_notice_says_who_gets_it_and_in_what_language(uow_factory, vault):
    await bound_retiree(uow_factory, vault, name="李建国")
    other = await add_retiree(uow_factory, vault, due_on=DUE)  # bound to nobody
    revoked = await add_retiree(uow_factory, vault, due_on=DUE)
    await bind(uow_factory, revoked, 7001, revoked=True)
    no_profile = await add_retiree(uow_factory, vault, due_on=DUE)
    await bind(uow_factory, no_profile, 7002, language=None)
    service = make_service(uow_factory, FakeClock(DUE - timedelta(days=30)))
    notices = {n.chat_id: n for n in await service.sweep_reminders()}
    assert set(notices) == {SELF_USER, HELPER_USER, 7002}
    assert (notices[SELF_USER].for_helper, notices[SELF_USER].language) == (False, "en")
    assert (notices[HELPER_USER].for_helper, notices[HELPER_USER].language) == (True, "zh_Hans")
    assert notices[HELPER_USER].retiree_name == "李建国" and notices[HELPER_USER].days_before == 30
    assert notices[7002].language == "zh_Hans"
    assert other not in {n.retiree_id for n in notices.values()}


async def test_after_downtime_only_the_latest_threshold_goes_out(uow_factory, vault):
    await bound_retiree(uow_factory, vault)
    service = make_service(uow_factory, FakeClock(DUE - timedelta(days=10)))
    notices = await service.sweep_reminders()
    assert sorted((n.days_before, n.chat_id) for n in notices) == [(14, SELF_USER), (14, HELPER_USER)]


@pytest.mark.parametrize(("hour", "minute"), [(21, 0), (23, 59), (3, 0), (7, 59)])
async def test_no_reminders_in_quiet_hours(uow_factory, vault, hour, minute):
    await bound_retiree(uow_factory, vault)
    clock = FakeClock(DUE - timedelta(days=7), hour, minute)
    service = make_service(uow_factory, clock)
    assert await service.sweep_reminders() == []
    clock.set(DUE - timedelta(days=7), 8, 0)  # the quiet hours are over
    assert len(await service.sweep_reminders()) == 2


async def test_quiet_hours_are_local_time(uow_factory, vault):
    await bound_retiree(uow_factory, vault)
    clock = FakeClock(DUE - timedelta(days=7), 22, 0)  # 14:00 UTC: quiet in Shanghai
    assert clock().hour == 14 and clock.local.tzinfo is SHANGHAI
    assert await make_service(uow_factory, clock).sweep_reminders() == []


async def test_no_reminders_after_the_due_date_or_while_suspended(uow_factory, vault):
    await bound_retiree(uow_factory, vault)
    assert await make_service(uow_factory, FakeClock(DUE + timedelta(days=1))).sweep_reminders() == []
    await bound_retiree_suspended(uow_factory, vault)
    notices = await make_service(uow_factory, FakeClock(DUE - timedelta(days=1))).sweep_reminders()
    assert sorted(n.chat_id for n in notices) == [SELF_USER, HELPER_USER]  # not 8001, suspended


async def test_no_reminder_while_staff_decide_a_review_case(uow_factory, vault):
    """A retiree whose certification waits for staff has done their part: no "please certify"
    reminder until the case is decided (a rejected case leaves them to certify again)."""
    retiree_id = await bound_retiree(uow_factory, vault)
    async with uow_factory() as uow:
        case = ReviewCase(retiree_id=retiree_id, opened_because="failed_matches")
        uow.session.add(case)
        await uow.commit()
    clock = FakeClock(DUE - timedelta(days=7))
    assert await make_service(uow_factory, clock).sweep_reminders() == []
    async with uow_factory() as uow:
        (await uow.session.get(ReviewCase, case.id)).status = "rejected"
        await uow.commit()
    notices = await make_service(uow_factory, clock).sweep_reminders()
    assert sorted(n.chat_id for n in notices) == [SELF_USER, HELPER_USER]


async def bound_retiree_suspended(uow_factory, vault) -> int:
    retiree_id = await add_retiree(uow_factory, vault, due_on=DUE, payment_state="suspended")
    await bind(uow_factory, retiree_id, 8001)
    return retiree_id


async def test_a_claimed_reminder_is_not_offered_to_a_second_sweeper(uow_factory, vault):
    await bound_retiree(uow_factory, vault)
    clock = FakeClock(DUE - timedelta(days=7))
    first, second = make_service(uow_factory, clock), make_service(uow_factory, clock)
    claimed = await first.sweep_reminders()
    assert len(claimed) == 2
    assert await second.sweep_reminders() == []


async def test_limit_gives_batches(uow_factory, vault):
    await bound_retiree(uow_factory, vault)
    service = make_service(uow_factory, FakeClock(DUE - timedelta(days=7)))
    assert len(await service.sweep_reminders(limit=1)) == 1
    assert len(await service.sweep_reminders(limit=1)) == 1
    assert await service.sweep_reminders(limit=1) == []


async def test_a_blocked_chat_is_recorded_not_retried_and_a_released_one_comes_back(uow_factory, vault):
    retiree_id = await bound_retiree(uow_factory, vault)
    service = make_service(uow_factory, FakeClock(DUE - timedelta(days=7)))
    notices = {n.chat_id: n for n in await service.sweep_reminders()}
    await service.mark_reminder_failed(notices[HELPER_USER], "blocked")
    await service.release_reminder(notices[SELF_USER])  # a network error: try again later
    again = await service.sweep_reminders()
    assert [n.chat_id for n in again] == [SELF_USER]
    errors = await rows(uow_factory, ErrorRecord, ErrorRecord.source == "cycle_reminder")
    assert [(e.code, e.chat_id) for e in errors] == [("blocked", HELPER_USER)]
    assert errors[0].context == {"retiree_id": retiree_id, "due_on": DUE.isoformat(), "days_before": 7}
    assert "王秀兰" not in repr(errors[0].context) + errors[0].detail


# --- suspension and resumption ------------------------------------------------------------


async def test_suspension_after_the_grace_is_idempotent(uow_factory, vault):
    retiree_id = await add_retiree(uow_factory, vault, due_on=DUE)
    longer_grace = await add_retiree(uow_factory, vault, due_on=DUE, pension_region="440000")
    not_due = await add_retiree(uow_factory, vault, due_on=DUE + timedelta(days=1))
    clock = FakeClock(DUE + timedelta(days=30))
    service = make_service(uow_factory, clock)
    assert await service.sweep_suspensions() == []

    clock.set(DUE + timedelta(days=31))
    assert await service.sweep_suspensions() == [retiree_id]
    assert await service.sweep_suspensions() == []
    assert await make_service(uow_factory, clock).sweep_suspensions() == []

    assert (await retiree_row(uow_factory, retiree_id)).payment_state == "suspended"
    assert (await retiree_row(uow_factory, longer_grace)).payment_state == "active"
    assert (await retiree_row(uow_factory, not_due)).payment_state == "active"
    [suspension] = await rows(uow_factory, Suspension)
    assert (suspension.retiree_id, suspension.suspended_on, suspension.reason) == (
        retiree_id,
        DUE + timedelta(days=31),
        "not_certified",
    )
    [audit] = await rows(uow_factory, AuditEntry)
    assert (audit.action, audit.actor, audit.retiree_id) == ("payment_suspended", "system", retiree_id)

    clock.set(DUE + timedelta(days=61))
    assert await service.sweep_suspensions() == [longer_grace, not_due]


async def test_certifying_again_resumes_with_back_pay_and_an_audit_entry(uow_factory, vault):
    retiree_id = await add_retiree(
        uow_factory, vault, due_on=DUE, last_certified_on=DUE - timedelta(days=365)
    )
    await bind(uow_factory, retiree_id, SELF_USER)
    clock = FakeClock(date(2026, 6, 1))
    service = make_service(uow_factory, clock)
    assert await service.sweep_suspensions() == [retiree_id]

    [suspended] = await service.status_for_user(SELF_USER)
    assert suspended.state == "suspended" and suspended.suspended_on == date(2026, 6, 1)
    assert suspended.back_pay_months == ("2026-06",)

    clock.set(date(2026, 8, 20))
    certified_on = date(2026, 8, 20)
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        change = await service.apply_certification(uow, retiree, certified_on)
        # the certification service writes its own rows in the same unit of work
        retiree.last_certified_on = certified_on
        uow.certifications.add(
            Certification(
                retiree_id=retiree_id,
                certified_on=certified_on,
                valid_until=change.due_on,
                method="self_photo",
            )
        )
        await uow.commit()
    assert change.resumed and change.due_on == date(2027, 8, 20)
    assert change.back_pay_months == ("2026-06", "2026-07", "2026-08")

    retiree = await retiree_row(uow_factory, retiree_id)
    assert (retiree.payment_state, retiree.due_on) == ("active", date(2027, 8, 20))
    [suspension] = await rows(uow_factory, Suspension)
    assert suspension.resumed_on == certified_on
    assert suspension.back_pay_months == ["2026-06", "2026-07", "2026-08"]
    audits = await rows(uow_factory, AuditEntry, AuditEntry.action == "payment_resumed")
    assert len(audits) == 1 and audits[0].detail["back_pay_months"] == ["2026-06", "2026-07", "2026-08"]

    [status] = await service.status_for_user(SELF_USER)
    assert (status.state, status.payment_state, status.last_certified_on) == ("valid", "active", certified_on)
    assert status.back_pay_months == ("2026-06", "2026-07", "2026-08")  # paid with next month's pension
    clock.set(date(2026, 10, 1))
    [status] = await service.status_for_user(SELF_USER)
    assert status.back_pay_months == ()


async def test_certifying_in_time_only_moves_the_due_date(uow_factory, vault):
    retiree_id = await add_retiree(uow_factory, vault, due_on=DUE)
    service = make_service(uow_factory, FakeClock(DUE - timedelta(days=5)))
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        change = await service.apply_certification(uow, retiree, DUE - timedelta(days=5))
        await uow.commit()
    assert (change.resumed, change.back_pay_months, change.due_on) == (False, (), date(2027, 4, 25))
    assert await rows(uow_factory, AuditEntry) == []
    # nothing is written unless the caller commits
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        await service.apply_certification(uow, retiree, date(2027, 4, 1))
    assert (await retiree_row(uow_factory, retiree_id)).due_on == date(2027, 4, 25)


# --- status -------------------------------------------------------------------------------


async def test_status_for_self_and_helper(uow_factory, vault):
    mine = await add_retiree(
        uow_factory, vault, name="王秀兰", due_on=DUE, last_certified_on=date(2025, 4, 30)
    )
    elder = await add_retiree(uow_factory, vault, name="李建国")  # never certified, no due date yet
    await bind(uow_factory, mine, SELF_USER, kind="self")
    await bind(uow_factory, elder, SELF_USER, kind="helper")
    service = make_service(uow_factory, FakeClock(DUE - timedelta(days=10)))
    first, second = await service.status_for_user(SELF_USER)
    assert (first.name, first.for_helper, first.state, first.days_left) == ("王秀兰", False, "due_soon", 10)
    assert first.last_certified_on == date(2025, 4, 30) and first.due_on == DUE
    assert first.suspends_on == DUE + timedelta(days=31)
    assert (second.name, second.for_helper, second.state, second.due_on) == ("李建国", True, "never", None)
    assert await service.status_for_user(99999) == []
