"""The demo's year of a region's work (demo/history.py): written through the real roster import
and hash chain, all before the demo's day, checking about 55-70 % of the region's retirees by
the current quarter, and seeded only once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from demo.history import HISTORY_REGIONS, HISTORY_RETIREES, seed_history, simulate
from storage.models import Retiree
from storage.models.certification import Certification, PassAudit, ReviewCase
from storage.models.records import AssistanceRequest, VerificationRecord
from storage.models.signals import DeathRecord
from verification.checkplan.means import means_of
from verification.checkplan.quarters import Quarter, instant
from verification.records.chain import verify_chain
from verification.reporting.service import QuarterlyReportService

TODAY = date(2026, 11, 20)
REGION = "110000"  # the deployment's region: its chain holds the records


async def _counts(uow_factory) -> dict[str, int]:
    counted = {}
    async with uow_factory() as uow:
        for name, model in (
            ("retirees", Retiree),
            ("records", VerificationRecord),
            ("certifications", Certification),
            ("reviews", ReviewCase),
            ("audits", PassAudit),
            ("assistance", AssistanceRequest),
            ("deaths", DeathRecord),
        ):
            counted[name] = await uow.session.scalar(select(func.count()).select_from(model))
    return counted


async def test_a_year_of_history_checks_the_chain_and_is_seeded_once(uow_factory, vault, tmp_path):
    report = await seed_history(uow_factory, vault, tmp_path / "demo", today=TODAY, region_code=REGION)
    assert report.seeded and report.retirees == HISTORY_RETIREES
    assert 0.55 <= report.coverage <= 0.70, report
    assert 3 <= report.reviews_open <= 5 and report.audits_open == 2
    assert report.assistance_open == 2 and report.deaths == 1

    async with uow_factory() as uow:
        chain = await verify_chain(uow, REGION)
        assert chain.intact, chain
        assert chain.records == report.records
        records = (await uow.session.execute(select(VerificationRecord))).scalars().all()
        retirees = (await uow.session.execute(select(Retiree))).scalars().all()
        reviews = (await uow.session.execute(select(ReviewCase))).scalars().all()
        certifications = (await uow.session.execute(select(Certification))).scalars().all()

    # Every record before the demo's day began in Shanghai (earlier than midnight in UTC).
    assert max(r.occurred_at for r in records) < instant(TODAY, ZoneInfo("Asia/Shanghai"))
    assert {r.event for r in records} >= {
        "certified",
        "review_approved",
        "suspended",
        "resumed",
        "death_reported",
    }
    assert all(r.residence_region in HISTORY_REGIONS for r in retirees)

    # Coverage counted from the records as the check plan counts it: each retiree once.
    year_start = datetime(2025, 12, 31, 16, tzinfo=UTC).isoformat(timespec="seconds")  # 1 January, Shanghai
    checked = {
        r.retiree_hash
        for r in records
        if r.occurred_at >= year_start and means_of(r.event, r.method, r.detail) is not None
    }
    assert len(checked) == report.checked_this_year
    assert 0.55 <= len(checked) / len(retirees) <= 0.70
    # A check by each means the real features write.
    means = {means_of(r.event, r.method, r.detail) for r in records} - {None}
    assert {m.value for m in means} == {"self_service", "data", "in_person", "home_visit", "staff_review"}

    # The certifications agree with the records, the cycles with the certifications.
    certified = [r for r in records if means_of(r.event, r.method, r.detail) is not None]
    assert len(certifications) == len(certified)
    by_id = {r.id: r for r in retirees}
    for certification in certifications:
        retiree = by_id[certification.retiree_id]
        assert retiree.last_certified_on == certification.certified_on
        assert retiree.due_on == certification.valid_until > TODAY
    assert sum(1 for r in retirees if r.payment_state == "suspended") == report.suspended
    overdue = [r for r in retirees if r.due_on < TODAY and r.payment_state == "active"]
    assert overdue  # staff have someone to chase
    assert sum(1 for case in reviews if case.status == "pending") == report.reviews_open

    # Seeding again finds the history and adds nothing.
    before_again = await _counts(uow_factory)
    again = await seed_history(uow_factory, vault, tmp_path / "demo", today=TODAY, region_code=REGION)
    assert not again.seeded
    assert await _counts(uow_factory) == before_again


async def test_the_quarterly_report_shows_coverage_climbing(uow_factory, vault, tmp_path):
    await seed_history(uow_factory, vault, tmp_path / "demo", today=TODAY, region_code=REGION)
    noon = datetime.combine(TODAY, time(4), UTC)  # noon in Shanghai
    service = QuarterlyReportService(uow_factory, clock=lambda: noon, own_region=REGION)
    figures = await service.figures("110100", Quarter(2026, 4))
    assert figures.value("retirees") == HISTORY_RETIREES
    assert 0.55 <= figures.share <= 0.70
    shares = [share for _, share in figures.monthly_coverage]
    assert shares == sorted(shares) and shares[2] < 0.3 < shares[-1]
    assert figures.value("overdue") > 0 and figures.value("suspended") > 0
    assert figures.value("reviews_open") >= 3 and figures.value("audits_open") == 2
    assert figures.value("assistance_open") == 2 and figures.value("deaths") == 1
    assert figures.value("resumed") + figures.value("certified") > 0


def test_the_simulation_is_the_same_for_the_same_year():
    first, second = simulate(TODAY, REGION), simulate(date(2026, 3, 1), REGION)
    assert [p.id_number for p in first] == [p.id_number for p in second]
    assert len({p.id_number for p in first}) == HISTORY_RETIREES


async def test_the_staff_console_shows_the_history(uow_factory, vault, tmp_path):
    from tests.checkplan.helpers import STAFF_USER
    from tests.console.helpers import serve_console

    async with serve_console(uow_factory, vault) as console, console.browser() as http:
        console.stack.clock.at(TODAY, 12)
        await seed_history(uow_factory, vault, tmp_path / "demo", today=TODAY, region_code=REGION)
        async with uow_factory() as uow:
            cases = (
                await uow.session.execute(select(ReviewCase.id).where(ReviewCase.status == "pending"))
            ).all()
            audits = (await uow.session.execute(select(PassAudit.id))).all()
            someone = await uow.session.scalar(select(Retiree.id).where(Retiree.residence_region == "110106"))
        await console.signed_in(http, STAFF_USER)  # the prefecture 110100
        paths = [
            "/console/?quarter=2026Q4",
            "/console/?quarter=2026Q2",
            "/console/retirees?status=all",
            "/console/cases",
            "/console/audits",
            f"/console/retirees/{someone}",
            *(f"/console/cases/{case_id}" for (case_id,) in cases),
            *(f"/console/audits/{audit_id}" for (audit_id,) in audits),
        ]
        for path in paths:
            async with http.get(console.url + path) as response:
                assert response.status == 200, (path, await response.text())
        async with http.get(console.url + "/console/report.pdf?quarter=2026Q4") as response:
            assert response.status == 200 and len(await response.read()) > 1000
