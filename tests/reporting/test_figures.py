"""The quarterly report's figures reconcile exactly with the rows they are counted from: each
figure is counted again here in Python from every row read back (coverage by the check plan's
own `tally`), on SQLite and PostgreSQL; a figure that disagrees fails the test."""

from __future__ import annotations

from dataclasses import astuple
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from kernel.clock import as_utc
from kernel.regions import covers, region_prefix
from storage.models import Retiree
from storage.models.care import HomeVisitRequest, LifeEventReport
from storage.models.certification import PassAudit, ReviewCase
from storage.models.checkplan import OnSiteCheck
from storage.models.employer import EmployerQuestion
from storage.models.publicity import PublicityDelivery
from storage.models.records import AssistanceRequest, ReceivedRecord, VerificationRecord
from storage.models.recovery import RecoveryCase, RecoveryStep
from storage.models.signals import DeathRecord
from storage.repositories.checkplan import RecordFacts
from tests.checkplan.helpers import HOME, NEIGHBOUR, SHANGHAI, chain_record
from tests.reporting.helpers import Q4, REPORT_NOW, build_world
from verification.checkplan.coverage import tally
from verification.checkplan.means import Means, means_of
from verification.checkplan.quarters import Quarter, instant
from verification.reporting.service import QuarterlyReportService


async def _everything(uow_factory):
    """Every row the report counts from, read back whole."""
    async with uow_factory() as uow:

        async def rows(model):
            return (await uow.session.execute(select(model))).scalars().all()

        chain = await rows(VerificationRecord)
        own = [RecordFacts(r.retiree_hash, r.event, r.method, r.detail or {}, r.occurred_at) for r in chain]
        received = [
            RecordFacts(r.retiree_hash, r.event, str(r.body.get("method", "")), r.body.get("detail") or {},
                        r.occurred_at)
            for r in await rows(ReceivedRecord)
        ]  # fmt: skip
        back_pay = {r.record_uid: r.detail.get("back_pay_months", []) for r in chain}
        return {
            "records": own + received,
            # Where the retiree lived when a chain's record was written (None: received).
            "homes": [r.residence_region for r in chain] + [None] * len(received),
            "resumed": [
                (r.retiree_hash, r.occurred_at, back_pay[r.record_uid], r.residence_region)
                for r in chain
                if r.event == "resumed"
            ],
            "retirees": await rows(Retiree),
            "deaths": await rows(DeathRecord),
            "reports": await rows(LifeEventReport),
            "reviews": await rows(ReviewCase),
            "audits": await rows(PassAudit),
            "requests": await rows(AssistanceRequest),
            "visits": await rows(HomeVisitRequest),
            "questions": await rows(EmployerQuestion),
            "deliveries": await rows(PublicityDelivery),
            "checks": await rows(OnSiteCheck),
            "cases": await rows(RecoveryCase),
            "steps": await rows(RecoveryStep),
        }


def _expected(rows, region: str, quarter: Quarter) -> dict[str, int]:
    """Every figure, counted here from the rows apart from the service."""
    now, today = REPORT_NOW, REPORT_NOW.astimezone(SHANGHAI).date()
    first, end = quarter.first_day, quarter.end
    since = datetime.combine(first, time(), SHANGHAI).astimezone(UTC)
    until = datetime.combine(end, time(), SHANGHAI).astimezone(UTC)
    start_text, end_text = instant(first, SHANGHAI), instant(end, SHANGHAI)

    def mine(code: str) -> bool:
        return region == "" or covers(region, code)

    residents = [r for r in rows["retirees"] if mine(r.residence_region)]
    ids, hashes = {r.id for r in residents}, {r.id_number_hash for r in residents}
    records = _recorded_in(rows, region)
    [coverage] = tally(hashes, records, [quarter], SHANGHAI, 0.6)
    figures = {
        "retirees": len(residents),
        "due": sum(1 for r in residents if r.due_on and first <= r.due_on < end),
        "certified": coverage.checked_in_quarter,
    }
    for means in Means:
        figures[f"certified.{means.value}"] = len(
            {
                r.retiree_hash
                for r in records
                if r.retiree_hash in hashes
                and start_text <= r.occurred_at < end_text
                and means_of(r.event, r.method, r.detail) is means
            }
        )
    resumed = [
        months
        for h, at, months, home in rows["resumed"]
        if h in hashes and mine(home) and start_text <= at < end_text
    ]
    deaths = {d.retiree_id for d in rows["deaths"] if d.retiree_id in ids and first <= d.died_on < end} | {
        e.retiree_id
        for e in rows["reports"]
        if e.retiree_id in ids
        and e.kind == "death"
        and e.state == "confirmed"
        and first <= e.event_date < end
    }
    waiting = [
        q
        for q in rows["requests"]
        if q.state in ("open", "in_progress", "overdue") and (region == "" or q.retiree_hash in hashes)
    ]
    checks = [c for c in rows["checks"] if c.quarter == str(quarter) and mine(c.region)]
    cases = [c for c in rows["cases"] if c.retiree_id in ids]
    figures |= {
        "checked_year": coverage.checked,
        "target_count": coverage.target_count,
        "shortfall": coverage.shortfall,
        "overdue": sum(
            1 for r in residents if r.due_on and r.due_on < min(end, today) and r.payment_state == "active"
        ),
        "suspended": sum(1 for r in residents if r.payment_state == "suspended"),
        "resumed": len(resumed),
        "resumed_back_pay_months": sum(len(months) for months in resumed),
        "deaths": len(deaths),
        "reviews_open": sum(1 for c in rows["reviews"] if c.retiree_id in ids and c.status == "pending"),
        "audits_open": sum(1 for a in rows["audits"] if a.retiree_id in ids and a.state == "open"),
        "assistance_open": len(waiting),
        "assistance_overdue": sum(1 for q in waiting if as_utc(q.due_at) < now),
        "home_visits_requested": sum(
            1 for v in rows["visits"] if mine(v.region_code) and since <= as_utc(v.requested_at) < until
        ),
        "home_visits_done": sum(
            1
            for v in rows["visits"]
            if mine(v.region_code) and v.state == "done" and v.done_at and since <= as_utc(v.done_at) < until
        ),
        "employer_questions_waiting": sum(1 for q in rows["questions"] if q.status == "open"),
        "campaign_reach": sum(
            1
            for d in rows["deliveries"]
            if d.status == "sent" and d.sent_at and since <= as_utc(d.sent_at) < until
        ),
        "onsite_checks_done": sum(1 for c in checks if c.state == "done"),
        "onsite_checks_open": sum(1 for c in checks if c.state in ("proposed", "assigned")),
        "recovery_cases_opened": sum(1 for c in cases if since <= as_utc(c.opened_at) < until),
        "recovery_owed_fen": sum(c.overpaid_fen for c in cases if since <= as_utc(c.opened_at) < until),
        "recovery_repaid_fen": sum(
            s.amount_fen or 0
            for s in rows["steps"]
            if s.kind == "payment" and s.case_id in {c.id for c in cases} and since <= as_utc(s.at) < until
        ),
        # Nobody of this world studies: tests/training/test_report_and_review.py counts training.
        **dict.fromkeys(("training_studied", "training_trained", "training_examined", "training_passed"), 0),
    }
    return figures


def _recorded_in(rows, region: str) -> list[RecordFacts]:
    """The records that count for `region`: a chain's record written while its retiree lived in
    the region, and every received record (matched to the region's retirees by the hash)."""
    return [
        record
        for record, home in zip(rows["records"], rows["homes"], strict=True)
        if home is None or region == "" or covers(region, home)
    ]


def _expected_months(rows, region: str, quarter: Quarter) -> list[tuple[str, float]]:
    hashes = {
        r.id_number_hash for r in rows["retirees"] if region == "" or covers(region, r.residence_region)
    }
    today = REPORT_NOW.astimezone(SHANGHAI).date()
    year_start = instant(date(quarter.year, 1, 1), SHANGHAI)
    months = []
    for month in range(1, 3 * quarter.number + 1):
        if month > 1 and date(quarter.year, month, 1) > today:
            break
        after = instant(date(quarter.year + month // 12, month % 12 + 1, 1), SHANGHAI)
        checked = {
            r.retiree_hash
            for r in _recorded_in(rows, region)
            if r.retiree_hash in hashes
            and year_start <= r.occurred_at < after
            and means_of(r.event, r.method, r.detail) is not None
        }
        months.append((f"{quarter.year}-{month:02d}", len(checked) / len(hashes) if hashes else 0.0))
    return months


def _expected_ages(rows, region: str) -> dict[str, int]:
    ids = {r.id for r in rows["retirees"] if region == "" or covers(region, r.residence_region)}
    opened = [as_utc(c.opened_at) for c in rows["reviews"] if c.retiree_id in ids and c.status == "pending"]
    opened += [as_utc(a.created_at) for a in rows["audits"] if a.retiree_id in ids and a.state == "open"]
    ages = [(REPORT_NOW - at) // timedelta(days=1) for at in opened]
    return {
        "0-7": sum(1 for a in ages if a <= 7),
        "8-30": sum(1 for a in ages if 8 <= a <= 30),
        "31-90": sum(1 for a in ages if 31 <= a <= 90),
        "90+": sum(1 for a in ages if a > 90),
    }


async def test_every_figure_reconciles_with_the_rows_it_is_counted_from(uow_factory, vault):
    world = await build_world(uow_factory, vault)
    service = QuarterlyReportService(uow_factory, clock=lambda: REPORT_NOW, zone=SHANGHAI)
    rows = await _everything(uow_factory)

    report = await service.figures(HOME, Q4)
    # The world as its comments tell it (tests/reporting/helpers.py).
    assert (report.region, report.quarter, report.target) == (HOME, "2026Q4", 0.6)
    assert report.value("retirees") == 15
    assert report.value("certified") == 9  # r2 r3 r4 r5 r6 r7 r9 r12 r15
    assert report.value("checked_year") == 10  # and r1 in Q3
    assert {m.value: report.value(f"certified.{m.value}") for m in Means} == {
        "self_service": 3,
        "in_person": 1,
        "home_visit": 1,
        "staff_review": 1,
        "data": 1,
        "assistance": 1,
        "onsite_check": 1,
        "other": 0,
    }
    assert (report.value("target_count"), report.value("shortfall")) == (9, 0)
    assert (report.value("resumed"), report.value("suspended"), report.value("deaths")) == (1, 1, 2)
    assert report.value("resumed_back_pay_months") == 3  # September to November
    assert (report.value("assistance_open"), report.value("assistance_overdue")) == (1, 1)
    assert (report.value("onsite_checks_done"), report.value("onsite_checks_open")) == (1, 1)
    assert (report.value("employer_questions_waiting"), report.value("campaign_reach")) == (2, 2)
    recovery = ("recovery_cases_opened", "recovery_owed_fen", "recovery_repaid_fen")
    assert [report.value(k) for k in recovery] == [1, 300_000, 50_000]
    # Open: r11's two cases (4 and 156 days), the audits of r3's photo (45) and r12's video (29).
    assert (report.value("reviews_open"), report.value("audits_open")) == (2, 2)
    assert report.backlog_ages == {"0-7": 1, "8-30": 1, "31-90": 1, "90+": 1}
    assert report.monthly_coverage[-1] == ("2026-12", 10 / 15)
    assert len(report.monthly_coverage) == 12
    assert all(figure.source for figure in report.figures.values())

    # Every figure of every region shape, counted again from the rows.
    for region in (HOME, "110100", "110000", "310104", ""):
        report = await service.figures(region, Q4)
        expected = _expected(rows, region, Q4)
        assert {k: report.value(k) for k in expected} == expected, region
        assert set(report.figures) == set(expected), region
        assert report.monthly_coverage == _expected_months(rows, region, Q4), region
        assert report.backlog_ages == _expected_ages(rows, region), region
    # An earlier quarter: its own window, coverage up to its end.
    q3 = await service.figures(HOME, Quarter(2026, 3))
    assert {k: q3.value(k) for k in _expected(rows, HOME, Quarter(2026, 3))} == _expected(
        rows, HOME, Quarter(2026, 3)
    )
    assert q3.value("certified") == 1 and q3.value("checked_year") == 1
    assert world.ids


async def test_the_trace_lists_the_counted_records_without_personal_data(uow_factory, vault):
    await build_world(uow_factory, vault)
    service = QuarterlyReportService(uow_factory, clock=lambda: REPORT_NOW, zone=SHANGHAI)
    traced = await service.trace(HOME, Q4)
    checks = [t for t in traced if t.counted_as != "resumed"]
    # One row per record: r1 in Q3, r2 twice, the rest of the quarter's checks, and r12's resumption.
    assert len(checks) == 11 and [t.counted_as for t in traced].count("resumed") == 1
    assert {t.source for t in traced} == {"chain", "received"}
    assert all("2026-01-01" <= t.occurred_at < "2026-12-31T16:00" for t in traced)
    assert [t.occurred_at for t in traced] == sorted(t.occurred_at for t in traced)
    assert not any("老人" in str(value) for t in traced for value in astuple(t))


def test_a_region_code_covers_what_kernel_regions_covers():
    codes = ("110105", "110100", "110000", "")
    assert [region_prefix(code) for code in codes] == ["110105", "1101", "11", ""]
    for bad in ("11010", "1101055", "ab0105", " 110105"):
        with pytest.raises(ValueError):
            region_prefix(bad)


async def test_a_chain_record_counts_where_the_retiree_lived_when_it_was_written(uow_factory, vault):
    """r13 certified in Q4 while living in NEIGHBOUR, then moved to HOME: the record counts for
    neither (HOME's retirees' records written elsewhere, NEIGHBOUR's record of a retiree living
    elsewhere now), and every figure still reconciles with the rows."""
    world = await build_world(uow_factory, vault)
    service = QuarterlyReportService(uow_factory, clock=lambda: REPORT_NOW, zone=SHANGHAI)
    before = {region: await service.figures(region, Q4) for region in (HOME, NEIGHBOUR, "110100")}
    async with uow_factory() as uow:
        (await uow.retirees.existing(world.ids[13])).residence_region = HOME
        await uow.commit()
    rows = await _everything(uow_factory)
    for region in (HOME, NEIGHBOUR, "110100", ""):
        report = await service.figures(region, Q4)
        expected = _expected(rows, region, Q4)
        assert {k: report.value(k) for k in expected} == expected, region
        assert report.monthly_coverage == _expected_months(rows, region, Q4), region
    home, neighbour = await service.figures(HOME, Q4), await service.figures(NEIGHBOUR, Q4)
    assert home.value("retirees") == before[HOME].value("retirees") + 1
    assert home.value("certified") == before[HOME].value("certified")
    assert neighbour.value("certified") == before[NEIGHBOUR].value("certified") - 1 == 0
    # The prefecture holds both regions: r13's record was written in it, and r13 lives in it.
    assert (await service.figures("110100", Q4)).value("certified") == before["110100"].value("certified")


async def test_a_kind_of_record_new_since_the_last_report_is_counted(uow_factory, vault):
    """The service keeps the kinds of record a region's year holds between calls: a record of a
    kind it has not seen (r1 by a photo sent in the chat, in Q4) is counted at once."""
    world = await build_world(uow_factory, vault)
    service = QuarterlyReportService(uow_factory, clock=lambda: REPORT_NOW, zone=SHANGHAI)
    before = await service.figures(HOME, Q4)
    world.stack.clock.at(date(2026, 11, 10))
    await chain_record(world.stack, uow_factory, world.ids[1], "certified", "self_photo")
    after = await service.figures(HOME, Q4)
    assert after.value("certified") == before.value("certified") + 1
    assert after.value("certified.self_service") == before.value("certified.self_service") + 1
    rows = await _everything(uow_factory)
    expected = _expected(rows, HOME, Q4)
    assert {k: after.value(k) for k in expected} == expected
