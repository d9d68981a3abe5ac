"""Retirees with valid ID numbers (feeds check them), feed files, and the importer."""

from __future__ import annotations

import csv
import itertools
from datetime import date
from pathlib import Path

from storage.models import Retiree
from tests.cycle.factories import FakeClock
from verification.cycle.policies import load_cycle_policies
from verification.roster.synthetic import synthetic_id_number
from verification.signals.service import FeedImporter
from verification.signals.sources import SignalSources

RESIDENCE = "440300"  # this office: the retirees live here, and are paid by Beijing
_sequence = itertools.count(1)


async def add_retiree(
    uow_factory,
    vault,
    *,
    name: str = "王秀兰",
    birth_date: date = date(1955, 7, 14),
    due_on: date | None = None,
    last_certified_on: date | None = None,
    payment_state: str = "active",
    monthly_pension_fen: int | None = None,
    opted_out: bool = False,
) -> tuple[int, str]:
    """The retiree's id and ID number."""
    number = synthetic_id_number("110105", birth_date, next(_sequence) % 1000)
    async with uow_factory() as uow:
        retiree = Retiree(
            id_number_hash=vault.lookup_hash(number),
            id_number_encrypted=vault.encrypt(number),
            name=name,
            birth_date=birth_date,
            pension_region="110000",
            residence_region=RESIDENCE,
            pension_start=date(2015, 8, 1),
            last_certified_on=last_certified_on,
            due_on=due_on,
            payment_state=payment_state,
            monthly_pension_fen=monthly_pension_fen,
            data_matching_opted_out_at=FakeClock(date(2026, 1, 1))() if opted_out else None,
        )
        uow.session.add(retiree)
        await uow.commit()
        return retiree.id, number


def write_feed(
    path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("身份证号码", "结算日期")
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def importer(uow_factory, vault, clock: FakeClock, **options) -> FeedImporter:
    return FeedImporter(
        uow_factory,
        vault,
        SignalSources.load(),
        load_cycle_policies(),
        clock=clock,
        region_code=RESIDENCE,
        **options,
    )
