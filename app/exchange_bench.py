"""`pension-bot bench exchange`: two regions on loopback, each its own SQLite database.

Records for retirees paid by region B are appended in region A while B is down, then B
starts and A's outbox worker catches up; then more records are sent with B up. Prints the
append rate, the catch-up time and the records per second delivered.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from storage.db import create_engine, create_session_factory
from storage.models import Retiree
from storage.models.records import ReceivedRecord
from storage.schema import upgrade
from storage.uow import unit_of_work_factory
from verification.records.chain import append_record
from verification.records.exchange import (
    ExchangeReceiver,
    OutboxDispatcher,
    Peer,
    PeerRegistry,
    generate_private_key,
)
from web.exchange import HttpTransport, create_exchange_app, running_exchange

A, B = "440300", "110000"


@dataclass(frozen=True)
class ExchangeBench:
    records: int
    append_per_second: float
    catch_up_seconds: float
    catch_up_per_second: float
    live_records: int
    live_per_second: float
    received: int


def _clock() -> datetime:
    return datetime.now(UTC)


async def _roster(uow_factory, hashes: list[str]) -> None:
    rows = [
        dict(
            id_number_hash=h, id_number_encrypted=b"x", name="bench", birth_date=date(1955, 1, 1),
            pension_region=B, residence_region=A, pension_start=date(2015, 1, 1), payment_state="active",
        )
        for h in hashes
    ]  # fmt: skip
    async with uow_factory() as uow:
        for start in range(0, len(rows), 5000):
            await uow.session.execute(insert(Retiree), rows[start : start + 5000])
        await uow.commit()


async def _append(uow_factory, count: int, retirees: int) -> None:
    async with uow_factory() as uow:
        people = list(
            (await uow.session.execute(select(Retiree).order_by(Retiree.id).limit(retirees))).scalars()
        )
    for start in range(0, count, 2000):
        async with uow_factory() as uow:
            for n in range(start, min(count, start + 2000)):
                await append_record(
                    uow,
                    region=A,
                    event="certified",
                    retiree=people[n % len(people)],
                    method="self_photo",
                    at=_clock(),
                )
            await uow.commit()


async def run_exchange_bench(
    records: int, live: int, batch_size: int, workdir: Path | None = None
) -> ExchangeBench:
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        engines = {code: create_engine(f"sqlite+aiosqlite:///{Path(tmp) / code}.db") for code in (A, B)}
        async with AsyncExitStack() as stack:
            for engine in engines.values():
                stack.push_async_callback(engine.dispose)
                await upgrade(engine)
            uows = {code: unit_of_work_factory(create_session_factory(e)) for code, e in engines.items()}
            retirees = min(10_000, max(records, live, 1))
            hashes = [f"{n:064x}" for n in range(1, retirees + 1)]
            for code in (A, B):
                await _roster(uows[code], hashes)
            keys = {code: generate_private_key() for code in (A, B)}
            peers_a, peers_b = PeerRegistry(), PeerRegistry()
            peers_b.peers[A] = Peer(A, "http://127.0.0.1:9", keys[A].public_key())
            transport = HttpTransport(timeout=60)
            stack.push_async_callback(transport.close)
            dispatcher = OutboxDispatcher(
                uows[A], A, peers_a, keys[A], transport, _clock, batch_size=batch_size, base_delay=0.0
            )
            # B is down: records queue up in A's outbox.
            started = time.perf_counter()
            await _append(uows[A], records, retirees)
            append_seconds = time.perf_counter() - started
            receiver = ExchangeReceiver(uows[B], B, peers_b, _clock)
            url = await stack.enter_async_context(running_exchange(create_exchange_app(receiver)))
            peers_a.peers[B] = Peer(B, url, keys[B].public_key())
            started = time.perf_counter()
            report = await dispatcher.drain()
            catch_up = time.perf_counter() - started
            assert report.delivered == records, report
            # B up: a second lot, appended then delivered.
            await _append(uows[A], live, retirees)
            started = time.perf_counter()
            report = await dispatcher.drain()
            live_seconds = time.perf_counter() - started
            async with uows[B]() as uow:
                got = (
                    await uow.session.execute(select(func.count()).select_from(ReceivedRecord))
                ).scalar_one()
            per_second = records / catch_up if catch_up else 0.0
            live_rate = live / live_seconds if live_seconds else 0.0
            append_rate = records / append_seconds if append_seconds else 0.0
            return ExchangeBench(records, append_rate, catch_up, per_second, live, live_rate, got)
