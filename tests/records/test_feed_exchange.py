"""What a feed does where the retiree lives reaches the region that pays the pension, through
the signed exchange: a silent certification, and a recorded death with its suspension."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.models import Retiree
from storage.models.records import ReceivedRecord
from tests.records.regions import BJ, SZ
from tests.signals.factories import write_feed
from verification.cycle.policies import load_cycle_policies
from verification.roster.synthetic import synthetic_id_number
from verification.signals.service import FeedImporter
from verification.signals.sources import SignalSources


async def _both_rosters(regions, vault, number: str) -> None:
    for region in regions:
        async with region.uow_factory() as uow:
            uow.session.add(
                Retiree(
                    id_number_hash=vault.lookup_hash(number),
                    id_number_encrypted=b"x",
                    name="郑秀珍",
                    birth_date=date(1950, 2, 3),
                    pension_region=BJ,
                    residence_region=SZ,
                    pension_start=date(2010, 3, 1),
                    due_on=date(2027, 1, 10),
                )
            )
            await uow.commit()


async def test_a_silent_certification_and_a_death_reach_the_paying_region(regions, vault, tmp_path):
    sz, bj = regions
    alive = synthetic_id_number("440305", date(1950, 2, 3), 21)
    dead = synthetic_id_number("440305", date(1950, 2, 3), 23)
    await _both_rosters(regions, vault, alive)
    await _both_rosters(regions, vault, dead)
    feeds = FeedImporter(
        sz.uow_factory, vault, SignalSources.load(), load_cycle_policies(), clock=sz.clock, region_code=SZ
    )
    await feeds.import_file(write_feed(tmp_path / "yb.csv", [(alive, "2026-11-20")]), "medical_settlement")
    await feeds.import_file(
        write_feed(tmp_path / "hk.csv", [(dead, "2026-10-30")], header=("身份证号码", "死亡日期")),
        "death_household",
    )
    assert (await sz.dispatcher.drain()).delivered == 3
    async with bj.uow_factory() as uow:
        got = (await uow.session.execute(select(ReceivedRecord).order_by(ReceivedRecord.id))).scalars().all()
    assert [(r.origin_region, r.event, r.body["method"]) for r in got] == [
        (SZ, "certified", "data"),
        (SZ, "death_reported", "data"),
        (SZ, "suspended", "data"),
    ]
    assert (
        got[0].retiree_hash == vault.lookup_hash(alive)
        and got[0].body["detail"]["source"] == "medical_settlement"
    )
    assert got[1].body["detail"] == {
        "died_on": "2026-10-30",
        "source": "death_household",
        "suspected_false_claim": False,
    }
