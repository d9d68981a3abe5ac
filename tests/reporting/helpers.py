"""A small region world for the quarterly report (2026Q4), written through the real services
where there is one (certifications by every means, a review, a home visit, checks on site, a
resumption of payment) and as plain rows where the report only reads what another feature
keeps (a death, open cases, an assistance request, publicity, employers' questions, recovery).

Retirees (serial: what happens to them), HOME unless said:
 1 video note in Q3 only          2 video note twice in Q4        3 photo at a service point Q4
 4 photo at home Q4               5 approved by review Q4          6 silently from data Q4
 7 assistance answer: seen Q4     8 assistance: not found; home visit found nobody; death reported
 9 certified elsewhere (received) 10 last year only; died (feed + confirmed report); recovery
11 suspended, open review, asked for by another region            12 suspended, then certified: resumed
13 NEIGHBOUR, video Q4            14 FAR, video Q4, died          15, 16 the oldest: checks on site
17 a record just after the quarter (1 January in Shanghai)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from storage.models.care import LifeEventReport
from storage.models.certification import PassAudit, ReviewCase, Suspension
from storage.models.checkplan import CheckResult
from storage.models.employer import EmployerQuestion
from storage.models.publicity import PublicityCampaign, PublicityDelivery
from storage.models.records import AssistanceRequest, ReceivedRecord
from storage.models.recovery import RecoveryCase, RecoveryStep
from storage.models.signals import DeathRecord
from tests.checkplan.helpers import (
    FAR,
    HOME,
    NEIGHBOUR,
    SHANGHAI,
    STAFF_USER,
    Stack,
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

Q4 = Quarter(2026, 4)
USERS = {serial: 2000 + serial for serial in range(1, 18)}
OLD = {15: date(1930, 5, 1), 16: date(1931, 6, 1)}
# The report is made on this moment (Shanghai, 4 December 2026, 10:00).
REPORT_NOW = datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class World:
    stack: Stack
    ids: dict[int, int]  # serial -> retiree id


async def build_world(uow_factory, vault) -> World:
    s = stack(uow_factory, vault)
    staff = await add_staff(uow_factory)
    ids = {}
    for serial in range(1, 18):
        residence = {13: NEIGHBOUR, 14: FAR}.get(serial, HOME)
        born = OLD.get(serial, date(1950, 3, 4))
        ids[serial] = await add_retiree(
            uow_factory, vault, serial, residence=residence, born=born, user=USERS[serial]
        )
    hashes = {}
    async with uow_factory() as uow:
        for serial in (11, 12):
            retiree = await uow.retirees.existing(ids[serial])
            retiree.payment_state = "suspended"
            uow.suspensions.add(
                Suspension(retiree_id=retiree.id, suspended_on=date(2026, 9, 2), reason="not_certified")
            )
        for serial, retiree_id in ids.items():
            hashes[serial] = (await uow.retirees.existing(retiree_id)).id_number_hash
        await uow.commit()

    s.clock.at(date(2025, 12, 20))
    await chain_record(s, uow_factory, ids[10], "certified", "self_video")
    s.clock.at(date(2026, 8, 20))
    await certify_by_video(s, USERS[1], 1)
    # The quarter: every means.
    s.clock.at(date(2026, 11, 3))
    await certify_by_video(s, USERS[2], 1)
    await certify_in_person(s, ids[3], "service_point", 3)
    await certify_in_person(s, ids[4], "home_visit", 4)
    await approve_by_review(s, uow_factory, ids[5])
    await chain_record(s, uow_factory, ids[6], "certified", "data", {"source": "medical_settlement"})
    for serial, finding in ((7, "alive_certified"), (8, "not_found")):
        detail = {"assistance": {"request_id": str(uuid.uuid4()), "finding": finding, "note": ""}}
        await chain_record(s, uow_factory, ids[serial], "assisted_visit", "assistance", detail)
    await home_visit_found_nobody(s, uow_factory, vault, ids[8])
    await certify_by_video(s, USERS[13], 1)
    await certify_by_video(s, USERS[14], 1)
    s.clock.at(date(2026, 11, 5))
    await certify_by_video(s, USERS[2], 2)
    await certify_by_video(s, USERS[12], 1)  # suspended since September: payment resumes
    # Checks on site: the two oldest proposed, one seen.
    [proposal] = await s.plan.propose(Q4, region=HOME, count=2)
    assert len(proposal.created) == 2
    async with uow_factory() as uow:
        checks = {c.retiree_id: c.id for c in await uow.check_plan.checks(quarter=str(Q4))}
    assert set(checks) == {ids[15], ids[16]}
    assert (await s.plan.assign(checks[ids[15]], "S1")).outcome == "assigned"
    assert (await s.plan.record(STAFF_USER, checks[ids[15]], CheckResult.SEEN)).outcome == "seen"
    # Just after the quarter in Shanghai (still 31 December in UTC): not counted in 2026.
    s.clock.now = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    await chain_record(s, uow_factory, ids[17], "certified", "self_video")

    async with uow_factory() as uow:
        session = uow.session
        session.add(
            ReceivedRecord(
                origin_region="500000",
                record_uid=str(uuid.uuid4()),
                retiree_hash=hashes[9],
                event="certified",
                occurred_at="2026-11-04T02:00:00+00:00",
                body={"method": "self_video", "detail": {}, "event": "certified"},
            )
        )
        # Deaths: r10 by a feed and a confirmed report (once), r8 reported and confirmed, r14 far.
        session.add(DeathRecord(retiree_id=ids[10], source="death_household", died_on=date(2026, 10, 15)))
        session.add(DeathRecord(retiree_id=ids[14], source="death_household", died_on=date(2026, 10, 16)))
        for serial, day, state in (
            (10, date(2026, 10, 15), "confirmed"),
            (8, date(2026, 11, 20), "confirmed"),
        ):
            session.add(LifeEventReport(retiree_id=ids[serial], kind="death", event_date=day, state=state))
        session.add(LifeEventReport(retiree_id=ids[11], kind="death", event_date=date(2026, 11, 1)))
        # Open work: a fresh and an old review case of r11, an audit of r3's pass.
        session.add(ReviewCase(retiree_id=ids[11], opened_at=at(date(2026, 11, 30)), opened_because="x"))
        session.add(ReviewCase(retiree_id=ids[11], opened_at=at(date(2026, 7, 1)), opened_because="y"))
        session.add(ReviewCase(retiree_id=ids[14], opened_at=at(date(2026, 11, 30)), opened_because="far"))
        session.add(
            PassAudit(retiree_id=ids[3], region=HOME, created_at=at(date(2026, 10, 20)), score=5, reasons=[])
        )
        # Asked of this region: about r11 (past due), about someone not on the roster.
        for retiree_hash, due in ((hashes[11], date(2026, 11, 20)), ("f" * 64, date(2026, 12, 20))):
            session.add(
                AssistanceRequest(
                    origin_region="500000",
                    request_uid=str(uuid.uuid4()),
                    retiree_hash=retiree_hash,
                    question="请协助核实",
                    opened_at=at(date(2026, 11, 1)),
                    due_at=at(due),
                )
            )
        for status in ("open", "open", "answered"):
            session.add(
                EmployerQuestion(
                    telegram_user_id=77, chat_id=77, language="zh_Hans", question="社保怎么交", status=status
                )
            )
        campaign = PublicityCampaign(topic="certification", text="请按时认证")
        session.add(campaign)
        await session.flush()
        for chat, status, day in (
            (1, "sent", date(2026, 10, 8)),
            (2, "sent", date(2026, 12, 1)),
            (3, "sent", date(2026, 9, 30)),
            (4, "failed", None),
        ):
            session.add(
                PublicityDelivery(
                    campaign_id=campaign.id,
                    chat_id=chat,
                    telegram_user_id=chat,
                    language="zh_Hans",
                    status=status,
                    sent_at=at(day) if day else None,
                )
            )
        case = RecoveryCase(
            retiree_id=ids[10],
            region="440300",
            entitlement_ended_on=date(2026, 10, 31),
            overpaid_months=["2026-11"],
            monthly_fen=300_000,
            overpaid_fen=300_000,
            opened_at=at(date(2026, 10, 20)),
        )
        session.add(case)
        await session.flush()
        for amount, day in ((50_000, date(2026, 11, 10)), (10_000, date(2027, 1, 10))):
            session.add(RecoveryStep(case_id=case.id, kind="payment", amount_fen=amount, at=at(day)))
        session.add(
            RecoveryStep(case_id=case.id, kind="notice", at=at(date(2026, 10, 21)), staff_id=staff["S1"])
        )
        await uow.commit()
    return World(s, ids)
