"""Coverage reconciles exactly with the verification records: a small population certified by
every means through the real services (and a record received from another region), counted by
the service and, independently, from the records themselves; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select

from storage.models.checkplan import CheckResult
from storage.models.records import OutboxEntry, ReceivedRecord, VerificationRecord
from tests.checkplan.helpers import (
    CHAIN,
    FAR,
    HOME,
    NEIGHBOUR,
    PAID_BY,
    SHANGHAI,
    STAFF_USER,
    add_retiree,
    add_staff,
    approve_by_review,
    certify_by_video,
    certify_in_person,
    chain_record,
    home_visit_found_nobody,
    stack,
)
from verification.checkplan.quarters import Quarter
from verification.records.chain import verify_chain

USERS = {serial: 1000 + serial for serial in range(1, 16)}
OLD = date(1931, 2, 1)  # 95 on the planning day: the riskiest, proposed first


async def _population(uow_factory, vault):
    """Returns the stack and {serial: retiree id}; the comments say what each one went through."""
    s = stack(uow_factory, vault)
    await add_staff(uow_factory)
    ids = {}
    for serial in range(1, 16):
        residence = {10: FAR, 15: NEIGHBOUR}.get(serial, HOME)
        born = OLD if serial in (9, 11) else date(1950, 3, 4)
        ids[serial] = await add_retiree(
            uow_factory, vault, serial, residence=residence, born=born, user=USERS[serial]
        )
    # 2025: r14 certified last year only (not counted this year).
    s.clock.at(date(2025, 12, 20))
    await chain_record(s, uow_factory, ids[14], "certified", "self_video")
    # Q1: r1 by video note, r2 in person at a service point, r10 (lives far away) and r15 (the
    # neighbouring county) by video note.
    s.clock.at(date(2026, 2, 10))
    await certify_by_video(s, USERS[1], 1)
    await certify_in_person(s, ids[2], "service_point", 2)
    await certify_by_video(s, USERS[10], 1)
    await certify_by_video(s, USERS[15], 1)
    # Half an hour into 1 April in Shanghai (still 31 March in UTC): r3 silently from data, Q2.
    s.clock.at(date(2026, 4, 1), hour=0, minute=30)
    await chain_record(s, uow_factory, ids[3], "certified", "data", {"source": "medical_settlement"})
    # Q2: r4 photographed at home, r5 approved by staff review, r1 again (counted once).
    s.clock.at(date(2026, 5, 5))
    await certify_in_person(s, ids[4], "home_visit", 4)
    await approve_by_review(s, uow_factory, ids[5])
    await certify_by_video(s, USERS[1], 2)
    # Q3: assistance answers: r6 seen alive (counted), r7 not found (not counted); a home visit
    # found nobody at r8's (not counted).
    s.clock.at(date(2026, 8, 20))
    for serial, finding in ((6, "seen_not_certified"), (7, "not_found")):
        detail = {"assistance": {"request_id": str(uuid.uuid4()), "finding": finding, "note": ""}}
        await chain_record(s, uow_factory, ids[serial], "assisted_visit", "assistance", detail)
    await home_visit_found_nobody(s, uow_factory, vault, ids[8])
    # Q4: two checks on site (the two oldest are proposed): r9 seen, r11 not found; and r12
    # certified where they stay now, the record received from that region.
    s.clock.at(date(2026, 11, 3))
    [proposal] = await s.plan.propose(Quarter(2026, 4), region=HOME, count=2)
    async with uow_factory() as uow:
        checks = {check.retiree_id: check.id for check in await uow.check_plan.checks(quarter="2026Q4")}
    assert set(checks) == {ids[9], ids[11]} and sorted(proposal.created) == sorted(checks.values())
    for serial, result in ((9, CheckResult.SEEN), (11, CheckResult.NOT_FOUND)):
        assert (await s.plan.assign(checks[ids[serial]], "S1")).outcome == "assigned"
        assert (await s.plan.record(STAFF_USER, checks[ids[serial]], result)).outcome == result.value
    async with uow_factory() as uow:
        r12 = await uow.retirees.existing(ids[12])
        uow.session.add(
            ReceivedRecord(
                origin_region="500000",
                record_uid=str(uuid.uuid4()),
                retiree_hash=r12.id_number_hash,
                event="certified",
                occurred_at="2026-11-04T02:00:00+00:00",
                body={"method": "self_video", "detail": {}, "event": "certified"},
            )
        )
        await uow.commit()
    # r13: nothing at all.
    return s, ids


def _independent_count(records, roster_hashes: set[str], quarter: Quarter) -> set[str]:
    """Who the records show checked in 2026 up to the quarter's end, counted here apart from
    the service: each moment read as a Shanghai date."""
    seen = set()
    for retiree_hash, event, method, detail, occurred_at in records:
        day = datetime.fromisoformat(occurred_at).astimezone(SHANGHAI).date()
        if retiree_hash not in roster_hashes or day.year != 2026 or day >= quarter.end:
            continue
        finding = (detail.get("assistance") or {}).get("finding")
        if event in ("certified", "review_approved") or (
            event == "assisted_visit" and method == "assistance" and finding == "seen_not_certified"
        ):
            seen.add(retiree_hash)
    return seen


async def test_coverage_reconciles_exactly_with_the_verification_records(uow_factory, vault):
    s, ids = await _population(uow_factory, vault)
    s.clock.at(date(2026, 12, 4))

    [home] = await s.plan.coverage(2026, HOME)
    assert [(q.quarter, q.roster, q.checked, q.checked_in_quarter) for q in home.quarters] == [
        ("2026Q1", 13, 2, 2),
        ("2026Q2", 13, 5, 4),
        ("2026Q3", 13, 6, 1),
        ("2026Q4", 13, 8, 2),
    ]
    q4 = home.quarters[-1]
    assert q4.by_means == {
        "self_service": 2,  # r1 (twice, counted once) and r12 (received)
        "in_person": 1,
        "home_visit": 1,
        "staff_review": 1,
        "data": 1,
        "assistance": 1,
        "onsite_check": 1,
        "other": 0,
    }
    assert (q4.target_count, q4.shortfall, round(q4.share, 4)) == (8, 0, round(8 / 13, 4))

    # The same figures, counted independently from every record in the database.
    async with uow_factory() as uow:
        own = (
            await uow.session.execute(
                select(
                    VerificationRecord.retiree_hash,
                    VerificationRecord.event,
                    VerificationRecord.method,
                    VerificationRecord.detail,
                    VerificationRecord.occurred_at,
                )
            )
        ).all()
        received = [
            (r.retiree_hash, r.event, r.body["method"], r.body["detail"], r.occurred_at)
            for r in (await uow.session.execute(select(ReceivedRecord))).scalars()
        ]
        roster = {
            (await uow.retirees.existing(retiree_id)).id_number_hash: serial
            for serial, retiree_id in ids.items()
        }
        chain = await verify_chain(uow, CHAIN)
    assert chain.intact and chain.records == len(own)
    home_hashes = {h for h, serial in roster.items() if serial not in (10, 15)}
    for number, figures in enumerate(home.quarters, start=1):
        counted = _independent_count([*own, *received], home_hashes, Quarter(2026, number))
        assert figures.checked == len(counted), figures.quarter
    assert {roster[h] for h in _independent_count([*own, *received], home_hashes, Quarter(2026, 4))} == {
        1, 2, 3, 4, 5, 6, 9, 12,
    }  # fmt: skip

    # A prefecture covers both counties; another region counts only its own.
    [prefecture] = await s.plan.coverage(2026, "110100")
    assert (prefecture.quarters[-1].roster, prefecture.quarters[-1].checked) == (14, 9)
    [far] = await s.plan.coverage(2026, FAR)
    assert [(q.roster, q.checked) for q in far.quarters] == [(1, 1)] * 4
    everyone = {region.region: region for region in await s.plan.coverage(2026)}
    assert set(everyone) == {HOME, NEIGHBOUR, FAR} and everyone[HOME] == home

    # The on-site certification went to the paying region, like every other record.
    async with uow_factory() as uow:
        onsite = (
            (
                await uow.session.execute(
                    select(VerificationRecord).where(VerificationRecord.method == "onsite_check")
                )
            )
            .scalars()
            .all()
        )
        outbox = {
            row.record_id: row.dest_region
            for row in (await uow.session.execute(select(OutboxEntry))).scalars()
        }
    assert sorted((r.event, r.detail.get("found")) for r in onsite) == [
        ("assisted_visit", False),
        ("certified", None),
    ]
    assert all(outbox[r.id] == PAID_BY for r in onsite)


async def test_a_year_not_begun_and_an_empty_roster(uow_factory, vault):
    s = stack(uow_factory, vault)
    s.clock.at(date(2026, 12, 4))
    assert await s.plan.coverage(2026) == []
    [empty] = await s.plan.coverage(2027, HOME)
    assert [(q.quarter, q.roster, q.checked, q.share, q.target_count) for q in empty.quarters] == [
        ("2027Q1", 0, 0, 0.0, 0)
    ]
