"""`pension-bot bench year`: a simulated year for a roster of made-up retirees, week by week,
through the product's own feed import, cycle sweeps, recovery and coverage count.

The people: due dates spread over the year (each certified a year before), a monthly pension
of 2,000 to 6,000 yuan. A share (`--coverage`) sees a doctor now and then: their medical
settlements arrive in a weekly feed. Those the feeds do not certify certify themselves by
video in the month before their due date (`--self-service`; the video pipeline is not run
here: its certification, cycle move and verification record are written directly, as the
certification service writes them), the rest are suspended by the cycle's sweep. Some die in
the year (`--deaths`); the household registration's death feed brings most deaths a week or
six later. A share of those deaths (`--fraud`) are hidden by someone who goes on drawing the
pension: they use the dead person's medical card and certify in their place, and the death
surfaces only in the cremation records, two to eight months later. The bench prints what the
product made of it: how many were certified without doing anything, how fast deaths stopped
payment, what was overpaid, how many planted false claims were flagged, and the coverage per
quarter against the 60 % target.
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from kernel.figures import percentile
from storage.protection import PersonalDataVault

REGION = "440300"


@dataclass
class Person:
    index: int
    number: str
    due_on: date
    died_on: date | None = None
    registered_on: date | None = None  # when the death reaches a death feed
    fraud: bool = False
    covered: bool = False
    active_after_death: bool = False  # a certification or a card use in a dead person's name


@dataclass
class YearOptions:
    retirees: int = 100_000
    year: int = 2026
    coverage: float = 0.6
    visits_per_year: float = 8.0
    self_service: float = 0.93
    deaths: float = 0.012
    fraud: float = 0.1
    seed: int = 2026


@dataclass
class YearResult:
    seconds: float = 0.0
    silent: int = 0
    self_service: int = 0
    suspended_not_certified: int = 0
    deaths: int = 0
    deaths_caught: int = 0
    days_to_suspension: list[int] = field(default_factory=list)
    overpaid_fen: list[int] = field(default_factory=list)
    planted: int = 0
    planted_found: int = 0
    planted_surfaced: int = 0  # hidden deaths whose cremation record arrived within the year
    planted_detectable: int = 0  # of those, with a certification or a card use after the death
    flagged_not_planted: int = 0
    coverage: list[Any] = field(default_factory=list)


class SimClock:
    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, 4, tzinfo=UTC)  # noon in Shanghai


def people(options: YearOptions) -> list[Person]:
    from app.signals_bench import person_number

    rng = random.Random(options.seed)
    start = date(options.year, 1, 1)
    crowd = []
    for index in range(options.retirees):
        person = Person(index, person_number(index), start + timedelta(days=rng.randrange(365)))
        person.covered = rng.random() < options.coverage
        if rng.random() < options.deaths:
            person.died_on = start + timedelta(days=rng.randrange(365))
            person.fraud = rng.random() < options.fraud
            delay = rng.randrange(60, 240) if person.fraud else rng.randrange(3, 45)
            person.registered_on = person.died_on + timedelta(days=delay)
        crowd.append(person)
    return crowd


async def run_year(url: str, options: YearOptions, folder: Path) -> YearResult:
    from cryptography.fernet import Fernet
    from sqlalchemy import select

    from app.signals_bench import add_roster
    from storage.db import create_engine, create_session_factory
    from storage.models import Retiree
    from storage.models.certification import Suspension
    from storage.models.recovery import RecoveryCase
    from storage.models.signals import DeathRecord, SuspectedFalseClaim
    from storage.schema import ensure_schema
    from storage.uow import unit_of_work_factory
    from verification.checkplan.service import CheckPlanService
    from verification.cycle.policies import load_cycle_policies
    from verification.cycle.service import CycleService
    from verification.signals.service import FeedImporter
    from verification.signals.sources import SignalSources

    rng = random.Random(options.seed + 1)
    vault = PersonalDataVault(Fernet.generate_key(), os.urandom(32))  # throwaway: made-up people
    crowd = people(options)
    start = date(options.year, 1, 1)
    clock = SimClock(start)
    engine = create_engine(url)
    result = YearResult()
    try:
        await ensure_schema(engine)
        uow_factory = unit_of_work_factory(create_session_factory(engine))
        await add_roster(
            uow_factory,
            vault,
            options.retirees,
            start,
            due_dates=[p.due_on for p in crowd],
            residence=REGION,
        )
        policies = load_cycle_policies()
        cycle = CycleService(uow_factory, policies, "Asia/Shanghai", clock, region_code=REGION)
        feeds = FeedImporter(
            uow_factory, vault, SignalSources.load(), policies, clock=clock, region_code=REGION
        )
        by_index = {p.index: p for p in crowd}
        started = time.perf_counter()
        week = 0
        while (week_end := start + timedelta(days=7 * (week + 1) - 1)) <= date(
            options.year, 12, 31
        ) + timedelta(days=6):
            clock.day = week_end
            week_start = week_end - timedelta(days=6)
            # Life signals of the week: the covered living, and the card of a hidden death.
            rows = []
            for person in crowd:
                alive = person.died_on is None or person.died_on > week_end
                uses_card = person.covered and (alive or (person.fraud and rng.random() < 0.5))
                if uses_card and rng.random() < options.visits_per_year / 52:
                    day = week_start + timedelta(days=rng.randrange(7))
                    rows.append((person.number, day.isoformat()))
                    # Seen by the check only when imported before the death record (same week or earlier).
                    person.active_after_death |= (
                        person.died_on is not None
                        and day > person.died_on
                        and person.registered_on is not None
                        and person.registered_on >= week_start
                    )
            if rows:
                result.silent += (
                    await feeds.import_file(_feed(folder, f"yb{week}.csv", rows), "medical_settlement")
                ).certified
            result.self_service += await _self_service(
                uow_factory, clock, policies, week_end, by_index, options, rng
            )
            for source, fraud in (("death_household", False), ("death_cremation", True)):
                registered = [
                    (p.number, p.died_on.isoformat())
                    for p in crowd
                    if p.registered_on is not None
                    and p.died_on is not None
                    and p.fraud == fraud
                    and week_start <= p.registered_on <= week_end
                ]
                if registered:
                    await feeds.import_file(
                        _feed(folder, f"{source}{week}.csv", registered, death=True), source
                    )
            await cycle.sweep_suspensions()
            week += 1
        result.seconds = time.perf_counter() - started

        async with uow_factory() as uow:
            index_of = {
                rid: int(name.removeprefix("退休人员"))
                for rid, name in (await uow.session.execute(select(Retiree.id, Retiree.name))).all()
            }
            deaths = (await uow.session.execute(select(DeathRecord))).scalars().all()
            suspensions = (await uow.session.execute(select(Suspension))).scalars().all()
            recoveries = (await uow.session.execute(select(RecoveryCase))).scalars().all()
            flagged = (await uow.session.execute(select(SuspectedFalseClaim))).scalars().all()
        first_stop: dict[int, date] = {}
        for suspension in suspensions:
            first_stop.setdefault(suspension.retiree_id, suspension.suspended_on)
            if suspension.reason == "not_certified":
                result.suspended_not_certified += 1
        result.deaths = sum(1 for p in crowd if p.died_on is not None)
        result.planted = sum(1 for p in crowd if p.fraud)
        last_day = date(options.year, 12, 31) + timedelta(days=6)
        surfaced = [
            p for p in crowd if p.fraud and p.registered_on is not None and p.registered_on <= last_day
        ]
        result.planted_surfaced = len(surfaced)
        result.planted_detectable = sum(1 for p in surfaced if p.active_after_death)
        for death in deaths:
            result.deaths_caught += 1
            stopped = first_stop.get(death.retiree_id)
            if stopped is not None:
                result.days_to_suspension.append((stopped - death.died_on).days)
        result.overpaid_fen = [case.overpaid_fen for case in recoveries]
        for suspicion in flagged:
            if by_index[index_of[suspicion.retiree_id]].fraud:
                result.planted_found += 1
            else:
                result.flagged_not_planted += 1
        clock.day = date(options.year, 12, 31)
        plan = CheckPlanService(uow_factory, vault, cycle, clock=clock, region_code=REGION)
        result.coverage = (await plan.coverage(options.year, REGION))[0].quarters
    finally:
        await engine.dispose()
    return result


def _feed(folder: Path, name: str, rows: list[tuple[str, str]], death: bool = False) -> Path:
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("身份证号码", "死亡日期" if death else "结算日期"))
        writer.writerows(rows)
    return path


async def _self_service(uow_factory, clock, policies, week_end, by_index, options, rng) -> int:
    """Retirees due within 30 days and not certified by a feed: most certify by video this
    week (once); for a hidden death, the person drawing the pension does it in their place."""
    from sqlalchemy import select

    from storage.models import Retiree
    from verification.cycle.rules import next_due_date
    from verification.records.chain import RecordDraft, append_records

    now = clock()
    async with uow_factory() as uow:
        query = select(Retiree).where(
            Retiree.due_on <= week_end + timedelta(days=30), Retiree.payment_state == "active"
        )
        due = (await uow.session.execute(query)).scalars().all()
        certifications, moves, drafts = [], [], []
        for retiree in due:
            person = by_index[int(retiree.name.removeprefix("退休人员"))]
            dead = person.died_on is not None and person.died_on <= week_end
            if dead and not person.fraud:
                continue
            if rng.random() > options.self_service / 4:  # over the four weeks before the due date
                continue
            day = week_end - timedelta(days=rng.randrange(7))
            person.active_after_death |= dead and day > person.died_on
            due_on = next_due_date(day, retiree.birth_date, policies.for_region(retiree.pension_region))
            certifications.append(
                {
                    "retiree_id": retiree.id,
                    "certified_at": now,
                    "certified_on": day,
                    "valid_until": due_on,
                    "method": "self_video",
                }
            )
            moves.append({"rid": retiree.id, "due_on": due_on, "certified_on": day})
            drafts.append(RecordDraft("certified", retiree, "self_video", now))
        await uow.signals.insert_certifications(certifications)
        await uow.signals.move_cycles(moves)
        await append_records(uow, drafts, region=REGION)
        await uow.commit()
    return len(certifications)


def report_lines(label: str, options: YearOptions, result: YearResult) -> list[str]:
    certified = result.silent + result.self_service
    lines = [
        f"{label}: a year of {options.retirees:,} retirees simulated in {result.seconds:.0f} s"
        f" (feed coverage {options.coverage:.0%}, deaths {options.deaths:.1%},"
        f" hidden deaths {options.fraud:.0%} of them)",
        f"  certified with no action (from data): {result.silent:,} of {certified:,} certifications"
        f" = {result.silent / certified:.1%}"
        if certified
        else "  no certifications",
        f"  certified by video: {result.self_service:,};"
        f" suspended for not certifying: {result.suspended_not_certified:,}",
        f"  deaths: {result.deaths}, caught by the feeds within the year: {result.deaths_caught}",
    ]
    if result.days_to_suspension:
        days = sorted(result.days_to_suspension)
        lines.append(
            f"  days from death to suspension: median {statistics.median(days):.0f},"
            f" 95th percentile {percentile(days, 0.95):.0f}, max {days[-1]}"
        )
    if result.overpaid_fen:
        mean = statistics.mean(result.overpaid_fen) / 100
        lines.append(
            f"  overpaid after a death: {len(result.overpaid_fen)} recovery cases,"
            f" {mean:,.2f} yuan each on average, {sum(result.overpaid_fen) / 100:,.2f} yuan in all"
        )
    lines.append(
        f"  suspected false claims: {result.planted_found} of {result.planted} planted found;"
        f" {result.planted_surfaced} planted deaths surfaced in a death feed within the year, of which"
        f" {result.planted_detectable} showed a certification or a card use after the death;"
        f" {result.flagged_not_planted} flagged that were not planted"
    )
    for quarter in result.coverage:
        lines.append(
            f"  {quarter.quarter}: {quarter.checked:,} of {quarter.roster:,} checked = {quarter.share:.1%}"
            f" (target {quarter.target:.0%}: {'met' if quarter.share >= quarter.target else 'not yet'})"
        )
    return lines
