"""Proposing checks (ranked from the database, idempotently), assigning them, and recording
each result, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kernel.permissions import NotStaff
from storage.models.care import LifeEventReport
from storage.models.certification import (
    AuditEntry,
    Binding,
    Certification,
    PassAudit,
    ReviewCase,
    Suspension,
)
from storage.models.checkplan import CheckResult, OnSiteCheck
from storage.models.records import OutboxEntry, VerificationRecord
from storage.models.signals import LifeSignal
from tests.audits.helpers import note
from tests.checkplan.helpers import (
    COLLEAGUE_USER,
    FAR_STAFF_USER,
    HOME,
    PAID_BY,
    STAFF_USER,
    add_retiree,
    add_staff,
    certify_by_video,
    stack,
)
from verification.checkplan.quarters import Quarter
from verification.checkplan.service import NOT_FOUND_CASE

Q4 = Quarter(2026, 4)
PLANNING_DAY = date(2026, 10, 8)


async def _rows(uow_factory, model, *where):
    async with uow_factory() as uow:
        found = (await uow.session.execute(select(model).where(*where).order_by(model.id))).scalars().all()
        uow.session.expunge_all()
        return list(found)


async def test_the_ranking_reads_every_reason_from_the_database(uow_factory, vault):
    s = stack(uow_factory, vault)
    await add_staff(uow_factory)
    s.clock.at(date(2026, 1, 20))
    plain = await add_retiree(uow_factory, vault, 1)
    seen_at_bank = await add_retiree(uow_factory, vault, 2)
    helped = await add_retiree(uow_factory, vault, 3, user=5003, kind="helper")
    # One helper account certified three elders by video note last November: not checked this
    # year, and within a year of the planning day.
    elders = [await add_retiree(uow_factory, vault, 10 + n, user=5100, kind="helper") for n in range(3)]
    s.clock.at(date(2025, 11, 20))
    for n, elder in enumerate(elders):
        await s.certification.start(5100, elder)
        result = await s.certification.submit_video(note(5100, n, elder))
        assert result.outcome == "certified"
    old = await add_retiree(uow_factory, vault, 4, born=date(1934, 1, 1))
    risky_pass = await add_retiree(uow_factory, vault, 5)
    async with uow_factory() as uow:
        uow.session.add(
            LifeSignal(retiree_id=seen_at_bank, source="bank_counter", observed_on=date(2026, 6, 1))
        )
        uow.session.add(PassAudit(retiree_id=risky_pass, region=HOME, score=6, reasons=[], state="confirmed"))
        await uow.commit()

    ranked = await s.plan.ranking(Q4, HOME, on=PLANNING_DAY)
    reasons = {c.retiree_id: {r.code: r.points for r in c.risk.reasons} for c in ranked}
    assert reasons[plain] == {"no_life_signal": 3}
    assert reasons[seen_at_bank] == {}
    assert reasons[helped] == {"no_life_signal": 3, "helper_only": 2}
    assert reasons[old] == {"no_life_signal": 3, "age": 3}
    assert reasons[risky_pass] == {"no_life_signal": 3, "pass_score": 3}
    for elder in elders:  # (and the score their own passes got from the real pass audit)
        assert {"no_life_signal": 3, "helper_only": 2, "shared_account": 3}.items() <= reasons[elder].items()
    # Riskiest first, then the oldest, then the roster's order; the one seen at the bank last.
    order = [c.retiree_id for c in ranked]
    assert set(order[:3]) == set(elders) and order[3:] == [old, risky_pass, helped, plain, seen_at_bank]


async def test_proposing_again_adds_nothing_and_skips_the_checked_the_planned_and_the_dead(
    uow_factory, vault
):
    s = stack(uow_factory, vault)
    ids = [await add_retiree(uow_factory, vault, n, user=6000 + n) for n in range(1, 11)]
    s.clock.at(date(2026, 3, 2))
    await certify_by_video(s, 6001, 1)  # checked this year: never proposed
    async with uow_factory() as uow:
        uow.session.add(
            LifeEventReport(
                retiree_id=ids[1],
                kind="death",
                event_date=date(2026, 9, 1),
                reporter_user_id=1,
                state="pending",
            )
        )
        await uow.commit()
    s.clock.at(PLANNING_DAY)

    # 10 on the roster, 1 checked: 60 % needs 6, so 5 more, all in this last quarter.
    [first] = await s.plan.propose(Q4, region=HOME)
    assert (first.wanted, first.existing, len(first.created), first.eligible) == (5, 0, 5, 8)
    [again] = await s.plan.propose(Q4, region=HOME)
    assert (again.wanted, again.existing, again.created) == (5, 5, [])
    [more] = await s.plan.propose(Q4, region=HOME, count=7)
    assert (more.existing, len(more.created), more.eligible) == (5, 2, 3)
    checks = await _rows(uow_factory, OnSiteCheck)
    assert len(checks) == len({c.retiree_id for c in checks}) == 7
    assert not {ids[0], ids[1]} & {c.retiree_id for c in checks}
    assert {(c.state, c.quarter, c.region) for c in checks} == {("proposed", "2026Q4", HOME)}
    assert all(
        c.score == 3 and c.reasons == [{"code": "no_life_signal", "points": 3, "value": 12}] for c in checks
    )
    # A quarter later (next year) they may be proposed again; in this year, never twice.
    [next_year] = await s.plan.propose(Quarter(2027, 1), region=HOME, count=20)
    assert len(next_year.created) == 9  # all but the one reported dead
    audits = await _rows(uow_factory, AuditEntry, AuditEntry.action == "onsite_checks_proposed")
    assert [len(a.detail["check_ids"]) for a in audits] == [5, 2, 9]
    with pytest.raises(ValueError):
        await s.plan.propose(Q4, count=-1)


async def test_assignment_to_staff_of_another_region_is_refused(uow_factory, vault):
    s = stack(uow_factory, vault)
    staff = await add_staff(uow_factory)
    await add_retiree(uow_factory, vault, 1)
    s.clock.at(PLANNING_DAY)
    [proposal] = await s.plan.propose(Q4, count=1)
    [check_id] = proposal.created

    assert (await s.plan.assign(check_id, "S3")).outcome == "other_region"  # Shanghai staff
    assert (await s.plan.assign(check_id, "S9")).outcome == "no_staff"
    assert (await s.plan.assign(check_id + 100, "S1")).outcome == "no_check"
    with pytest.raises(NotStaff):  # a staff member of another region cannot assign it in the bot
        await s.plan.assign_to(check_id, staff["S3"], by_user=FAR_STAFF_USER)
    with pytest.raises(NotStaff):
        await s.plan.assign_to(check_id, staff["S2"], by_user=424242)
    assert [c.staff_number for c in await s.plan.colleagues(STAFF_USER, check_id)] == ["S1", "S2"]
    assert [c.check_id for c in await s.plan.unassigned(COLLEAGUE_USER)] == [check_id]
    assert await s.plan.unassigned(FAR_STAFF_USER) == []

    done = await s.plan.assign_to(check_id, staff["S2"], by_user=STAFF_USER)
    assert (done.outcome, done.staff_number) == ("assigned", "S2")
    [mine] = await s.plan.my_checks(COLLEAGUE_USER)
    assert (mine.check_id, mine.retiree_name, mine.masked_id_number[:4]) == (check_id, "老人1", "1101")
    assert await s.plan.my_checks(STAFF_USER) == [] and await s.plan.unassigned(STAFF_USER) == []
    [row] = await s.plan.list_checks(quarter=Q4, region=HOME)
    assert (row.state, row.staff_number, row.reasons) == ("assigned", "S2", ["no_life_signal"])
    assert "老人" not in repr(row) and "老人" not in repr(mine)  # names stay out of logs
    [audit] = await _rows(uow_factory, AuditEntry, AuditEntry.action == "onsite_check_assigned")
    assert (audit.actor, audit.detail["staff_id"]) == (f"staff:{staff['S1']}", staff["S2"])

    assert (await s.plan.record(COLLEAGUE_USER, check_id, CheckResult.DECEASED)).outcome == "deceased"
    assert (await s.plan.assign(check_id, "S1")).outcome == "done"


async def _assigned(s, uow_factory, vault, serial: int, **fields) -> tuple[int, int]:
    retiree_id = await add_retiree(uow_factory, vault, serial, **fields)
    async with uow_factory() as uow:
        check = OnSiteCheck(retiree_id=retiree_id, region=HOME, quarter="2026Q4", score=3, reasons=[])
        uow.check_plan.add(check)
        await uow.commit()
    assert (await s.plan.assign(check.id, "S1")).outcome == "assigned"
    return retiree_id, check.id


async def test_seen_certifies_on_site_and_resumes_a_suspended_payment(uow_factory, vault):
    s = stack(uow_factory, vault)
    staff = await add_staff(uow_factory)
    s.clock.at(date(2026, 11, 3))
    retiree_id, check_id = await _assigned(s, uow_factory, vault, 1)
    async with uow_factory() as uow:
        retiree = await uow.retirees.existing(retiree_id)
        retiree.payment_state = "suspended"
        uow.suspensions.add(
            Suspension(retiree_id=retiree_id, suspended_on=date(2026, 9, 1), reason="not_certified")
        )
        await uow.commit()

    assert (await s.plan.record(COLLEAGUE_USER, check_id, CheckResult.SEEN)).outcome == "not_yours"
    recorded = await s.plan.record(STAFF_USER, check_id, CheckResult.SEEN)
    assert (recorded.outcome, recorded.resumed, recorded.retiree_name) == ("seen", True, "老人1")
    assert recorded.valid_until is not None and recorded.valid_until > date(2026, 11, 3)
    assert (await s.plan.record(STAFF_USER, check_id, CheckResult.NOT_FOUND)).outcome == "done"

    [certification] = await _rows(uow_factory, Certification)
    assert (certification.method, certification.staff_id, certification.certified_on) == (
        "onsite_check",
        staff["S1"],
        date(2026, 11, 3),
    )
    [check] = await _rows(uow_factory, OnSiteCheck)
    assert (check.state, check.result, check.certification_id) == ("done", "seen", certification.id)
    async with uow_factory() as uow:
        retiree = await uow.retirees.existing(retiree_id)
        assert (retiree.payment_state, retiree.due_on, retiree.last_certified_on) == (
            "active",
            recorded.valid_until,
            date(2026, 11, 3),
        )
    records = await _rows(uow_factory, VerificationRecord)
    assert [(r.event, r.method) for r in records] == [("resumed", "cycle"), ("certified", "onsite_check")]
    assert (
        records[1].detail == {"check_id": check_id, "quarter": "2026Q4"}
        and records[1].staff_id == staff["S1"]
    )
    assert {o.dest_region for o in await _rows(uow_factory, OutboxEntry)} == {PAID_BY}
    [audit] = await _rows(uow_factory, AuditEntry, AuditEntry.action == "onsite_check_seen")
    assert audit.detail["certification_id"] == certification.id


async def test_not_found_opens_a_review_case_and_deceased_asks_for_a_death_report(uow_factory, vault):
    s = stack(uow_factory, vault)
    staff = await add_staff(uow_factory)
    s.clock.at(date(2026, 11, 3))
    missing_id, missing_check = await _assigned(s, uow_factory, vault, 1)
    dead_id, dead_check = await _assigned(s, uow_factory, vault, 2)
    reported_id, reported_check = await _assigned(s, uow_factory, vault, 3)
    async with uow_factory() as uow:
        uow.session.add(
            LifeEventReport(
                retiree_id=reported_id, kind="death", event_date=date(2026, 10, 1), reporter_user_id=1
            )
        )
        uow.bindings.add(Binding(telegram_user_id=1, chat_id=1, retiree_id=missing_id, kind="helper"))
        await uow.commit()

    recorded = await s.plan.record(STAFF_USER, missing_check, CheckResult.NOT_FOUND)
    [case] = await _rows(uow_factory, ReviewCase)
    assert (recorded.outcome, recorded.review_case_id) == ("not_found", case.id)
    assert (case.retiree_id, case.opened_because, case.status) == (missing_id, NOT_FOUND_CASE, "pending")
    [record] = await _rows(uow_factory, VerificationRecord)
    assert (record.event, record.method, record.staff_id) == ("assisted_visit", "onsite_check", staff["S1"])
    assert record.detail == {
        "check_id": missing_check,
        "quarter": "2026Q4",
        "outcome": "not_home",
        "found": False,
    }
    [pending] = await s.review.pending(STAFF_USER)  # staff see the case among those to review
    assert (pending.case_id, pending.opened_because) == (case.id, NOT_FOUND_CASE)

    assert (await s.plan.record(STAFF_USER, dead_check, CheckResult.DECEASED)).outcome == "deceased"
    assert len(await _rows(uow_factory, VerificationRecord)) == 1  # no record: the death report follows
    assert (await s.plan.record(STAFF_USER, reported_check, CheckResult.SEEN)).outcome == "death_reported"
    assert await s.plan.record(STAFF_USER, 999, CheckResult.SEEN) == type(recorded)("no_check", 999)
    with pytest.raises(NotStaff):
        await s.plan.record(424242, dead_check, CheckResult.SEEN)

    checks = {c.id: c for c in await _rows(uow_factory, OnSiteCheck)}
    assert [(checks[i].state, checks[i].result) for i in (missing_check, dead_check, reported_check)] == [
        ("done", "not_found"),
        ("done", "deceased"),
        ("assigned", None),
    ]
    actions = [a.action for a in await _rows(uow_factory, AuditEntry) if a.action.startswith("onsite_check_")]
    assert actions.count("onsite_check_not_found") == 1 and actions.count("onsite_check_deceased") == 1
    assert dead_id != missing_id
