"""A death feed on SQLite and PostgreSQL: payment stopped at once with its records, a case for
staff, the family told with care, recovery, and the false claim a death before a certification
reveals."""

from __future__ import annotations

from datetime import date

import pytest

from storage.models import ErrorRecord, Retiree
from storage.models.care import LifeEventReport
from storage.models.certification import Certification, ReviewCase, Suspension
from storage.models.records import OutboxEntry, VerificationRecord
from storage.models.recovery import RecoveryCase
from storage.models.signals import ChatNotice, DeathRecord, SuspectedFalseClaim
from tests.care.helpers import add_staff, rows
from tests.cycle.factories import FakeClock, bind
from tests.signals.factories import RESIDENCE, add_retiree, importer, write_feed
from verification.certification.review import DecisionOutcome, ReviewService
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService
from verification.records.chain import verify_chain
from verification.signals.service import FeedRefused

TODAY = date(2026, 11, 20)
DEATH_HEADER = ("公民身份号码", "死亡日期")


@pytest.fixture
def clock():
    return FakeClock(TODAY)


async def test_a_recorded_death_stops_payment_opens_a_case_and_tells_the_family(
    uow_factory, vault, clock, tmp_path
):
    retiree_id, number = await add_retiree(
        uow_factory, vault, due_on=date(2027, 5, 1), monthly_pension_fen=325_050
    )
    await bind(uow_factory, retiree_id, 601, kind="helper")
    await bind(uow_factory, retiree_id, 602)
    feed = write_feed(tmp_path / "hk.csv", [(number, "2026-09-15")], header=DEATH_HEADER)

    report = await importer(uow_factory, vault, clock).import_file(feed, "death_household")

    assert (report.deaths, report.suspected_false_claims, report.refused) == (1, 0, [])
    retiree = (await rows(uow_factory, Retiree))[0]
    assert retiree.payment_state == "suspended"
    [suspension] = await rows(uow_factory, Suspension)
    assert (suspension.suspended_on, suspension.reason) == (TODAY, "death_reported")
    [death] = await rows(uow_factory, DeathRecord)
    [report_row] = await rows(uow_factory, LifeEventReport)
    [case] = await rows(uow_factory, ReviewCase)
    assert death.life_event_id == report_row.id and report_row.review_case_id == case.id
    assert (report_row.kind, report_row.source, report_row.reporter_user_id) == (
        "death",
        "death_household",
        None,
    )
    records = await rows(uow_factory, VerificationRecord)
    assert [(r.event, r.method) for r in records] == [
        ("death_reported", "data"),
        ("suspended", "data"),
        ("recovery_opened", "recovery"),  # kept in this region's chain only
    ]
    assert records[0].detail == {
        "died_on": "2026-09-15",
        "source": "death_household",
        "suspected_false_claim": False,
    }
    assert len(await rows(uow_factory, OutboxEntry)) == 2  # the death and the suspension reach the payer
    notices = await rows(uow_factory, ChatNotice)
    assert sorted((n.chat_id, n.kind, n.for_helper) for n in notices) == [
        (601, "death_recorded", True),
        (602, "death_recorded", False),
    ]
    [recovery] = await rows(uow_factory, RecoveryCase)
    assert recovery.death_record_id == death.id
    assert recovery.overpaid_fen == len(recovery.overpaid_months) * 325_050 > 0
    async with uow_factory() as uow:
        assert (await verify_chain(uow, RESIDENCE)).intact

    # Staff confirm it as they confirm a relative's report: the bindings end.
    await add_staff(uow_factory, 7900, RESIDENCE, "S-1")
    cycle = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock)
    review = ReviewService(uow_factory, vault, cycle, clock=clock, region_code=RESIDENCE)
    decision = await review.decide(7900, case.id, True, "户籍注销记录核实无误")
    assert decision is not None and decision.outcome is DecisionOutcome.DEATH_CONFIRMED
    assert decision.notify_chat_ids == []  # no reporter in the chat to tell


async def test_a_wrong_death_record_rejected_by_staff_resumes_payment(uow_factory, vault, clock, tmp_path):
    retiree_id, number = await add_retiree(uow_factory, vault, due_on=date(2027, 5, 1))
    feed = write_feed(tmp_path / "hk.csv", [(number, "2026-11-01")], header=DEATH_HEADER)
    await importer(uow_factory, vault, clock).import_file(feed, "death_cremation")
    await add_staff(uow_factory, 7900, RESIDENCE, "S-1")
    cycle = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock)
    review = ReviewService(uow_factory, vault, cycle, clock=clock, region_code=RESIDENCE)
    [case] = await rows(uow_factory, ReviewCase)
    decision = await review.decide(7900, case.id, False, "本人到社区现场核实健在，火化记录张冠李戴")
    assert decision is not None and decision.outcome is DecisionOutcome.DEATH_REJECTED
    assert (await rows(uow_factory, Retiree))[0].payment_state == "active"


async def test_a_death_before_a_certification_is_a_suspected_false_claim(uow_factory, vault, clock, tmp_path):
    retiree_id, number = await add_retiree(uow_factory, vault, due_on=date(2026, 12, 1))
    async with uow_factory() as uow:  # a video certification in October...
        uow.certifications.add(
            Certification(
                retiree_id=retiree_id,
                certified_on=date(2026, 10, 8),
                valid_until=date(2027, 10, 8),
                method="video_note",
            )
        )
        await uow.commit()
    # ...and a bank counter visit in November, both after the death in August.
    await importer(uow_factory, vault, clock).import_file(
        write_feed(tmp_path / "bank.csv", [(number, "2026-11-02")]), "bank_counter"
    )
    report = await importer(uow_factory, vault, clock).import_file(
        write_feed(tmp_path / "death.csv", [(number, "2026-08-03")], header=DEATH_HEADER), "death_certificate"
    )
    assert report.suspected_false_claims == 1
    [suspicion] = await rows(uow_factory, SuspectedFalseClaim)
    assert suspicion.state == "open" and suspicion.region == RESIDENCE
    assert [(e["kind"], e["on"], e.get("method") or e.get("source")) for e in suspicion.evidence] == [
        ("certification", "2026-10-08", "video_note"),
        ("certification", "2026-11-02", "data"),  # the bank visit certified silently
        ("signal", "2026-11-02", "bank_counter"),
    ]
    death_record = [r for r in await rows(uow_factory, VerificationRecord) if r.event == "death_reported"][0]
    assert death_record.detail["suspected_false_claim"] is True


async def test_bad_death_rows_are_named_and_nothing_is_recorded_twice(uow_factory, vault, clock, tmp_path):
    _, first = await add_retiree(uow_factory, vault, due_on=date(2027, 5, 1))
    _, second = await add_retiree(uow_factory, vault, due_on=date(2027, 5, 1))
    feed = write_feed(
        tmp_path / "d1.csv",
        [(first, "2026-10-01"), (first, "2026-10-02"), (second, "2027-01-01"), (second, "1930-05-05")],
        header=DEATH_HEADER,
    )
    report = await importer(uow_factory, vault, clock).import_file(feed, "death_household")
    assert report.deaths == 1
    assert sorted((r.row, r.code) for r in report.refused) == [
        (3, "duplicate_row"),  # the same person twice in one feed
        (4, "date_in_future"),
        (5, "date_before_birth"),
    ]
    with pytest.raises(FeedRefused):
        await importer(uow_factory, vault, clock).import_file(feed, "death_household")
    # Another agency records the same death: already dead, not a second suspension or case.
    other = await importer(uow_factory, vault, clock).import_file(
        write_feed(tmp_path / "d2.csv", [(first, "2026-10-01")], header=DEATH_HEADER), "death_cremation"
    )
    assert [(r.row, r.code) for r in other.refused] == [(2, "already_dead")]
    assert len(await rows(uow_factory, Suspension)) == 1
    assert len(await rows(uow_factory, ReviewCase)) == 1
    assert {e.code for e in await rows(uow_factory, ErrorRecord)} == {
        "duplicate_row",
        "date_in_future",
        "date_before_birth",
        "already_dead",
    }
    # A life signal dated after the recorded death is not kept: it goes to staff as an error.
    late = await importer(uow_factory, vault, clock).import_file(
        write_feed(tmp_path / "late.csv", [(first, "2026-11-05")]), "medical_settlement"
    )
    assert [(r.row, r.code) for r in late.refused] == [(2, "after_recorded_death")]
