"""`pension-bot bench signals`: import and match a feed of life signals against a roster, on
SQLite and PostgreSQL, and print rows per second.

The roster is written straight into the retirees table (the roster import has its own bench):
N retirees with valid ID numbers, their lookup hashes and encrypted copies made with throwaway
keys, due dates spread over the next twelve months, last certified a year before. The feed
has one medical settlement per retiree on a day in the last 60 days, so about a quarter of
them fall inside the certification window and certify silently: the bench measures the
matching, the silent certifications, their verification records (appended in bulk) and the
notices, not an insert of signals alone.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from storage.protection import PersonalDataVault
from verification.roster.synthetic import synthetic_id_number

TARGET_ROWS_PER_SECOND = 20_000
_REGIONS = ("440305", "440306", "310101", "110105")  # residence; paid by 110000
_FIRST_BIRTH = date(1945, 1, 1)


def person_number(index: int) -> str:
    """A distinct valid ID number for each index below 1,000 × 7,000."""
    birth = _FIRST_BIRTH + timedelta(days=index // 1000)
    return synthetic_id_number(_REGIONS[index % len(_REGIONS)][:6], birth, index % 1000)


def write_feed(path: Path, people: int, rows: int, today: date, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("身份证号码", "结算日期"))
        for row in range(rows):
            index = row % people if rows <= people else rng.randrange(people)
            day = today - timedelta(days=rng.randrange(1, 61))
            writer.writerow((person_number(index), day.isoformat()))


async def add_roster(
    uow_factory,
    vault: PersonalDataVault,
    people: int,
    today: date,
    seed: int = 11,
    *,
    due_dates: list[date] | None = None,
    residence: str | None = None,
) -> None:
    """Made-up retirees straight into the table: due dates spread over the next year (or
    `due_dates`), each certified a year before; a monthly pension of 2,000 to 6,000 yuan."""
    from sqlalchemy import insert

    from storage.models import Retiree

    rng = random.Random(seed)
    now = datetime.now(UTC)
    batch: list[dict[str, object]] = []

    async def flush() -> None:
        async with uow_factory() as uow:
            connection = await uow.session.connection()
            await connection.execute(insert(Retiree), batch)
            await uow.commit()
        batch.clear()

    for index in range(people):
        number = person_number(index)
        due_on = due_dates[index] if due_dates else today + timedelta(days=rng.randrange(0, 365))
        batch.append(
            {
                "id_number_hash": vault.lookup_hash(number),
                "id_number_encrypted": vault.encrypt(number),
                "name": f"退休人员{index}",
                "birth_date": _FIRST_BIRTH + timedelta(days=index // 1000),
                "pension_region": "110000",
                "residence_region": residence or _REGIONS[index % len(_REGIONS)],
                "pension_start": date(2010, 1, 1),
                "last_certified_on": due_on - timedelta(days=365),
                "due_on": due_on,
                "payment_state": "active",
                "monthly_pension_fen": rng.randrange(2000, 6000) * 100,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) == 10_000:
            await flush()
    if batch:
        await flush()


@dataclass
class BenchResult:
    label: str
    rows: int
    seconds: float
    certified: int
    refused: int
    records: int

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


async def run_backend(label: str, url: str, feed: Path, people: int, today: date, progress) -> BenchResult:
    from cryptography.fernet import Fernet
    from sqlalchemy import func, select

    from storage.db import create_engine, create_session_factory
    from storage.models.records import VerificationRecord
    from storage.schema import ensure_schema
    from storage.uow import unit_of_work_factory
    from verification.cycle.policies import load_cycle_policies
    from verification.signals.service import FeedImporter
    from verification.signals.sources import SignalSources

    # Throwaway keys: the people are made up and the database is deleted afterwards.
    vault = PersonalDataVault(Fernet.generate_key(), os.urandom(32))
    engine = create_engine(url)
    try:
        await ensure_schema(engine)
        uow_factory = unit_of_work_factory(create_session_factory(engine))
        started = time.perf_counter()
        await add_roster(uow_factory, vault, people, today)
        print(
            f"{label}: {people:,} retirees written in {time.perf_counter() - started:.1f} s"
            " (setup, not timed)"
        )
        clock = lambda: datetime(today.year, today.month, today.day, 2, tzinfo=UTC)  # noqa: E731
        importer = FeedImporter(
            uow_factory, vault, SignalSources.load(), load_cycle_policies(), clock=clock, region_code="440300"
        )
        started = time.perf_counter()
        report = await importer.import_file(feed, "medical_settlement", progress=progress)
        seconds = time.perf_counter() - started
        async with uow_factory() as uow:
            records = await uow.session.scalar(select(func.count()).select_from(VerificationRecord)) or 0
    finally:
        await engine.dispose()
    return BenchResult(label, report.rows_read, seconds, report.certified, len(report.refused), records)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
