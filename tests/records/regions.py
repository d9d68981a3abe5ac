"""Two regions for the exchange tests and the bench: each its own SQLite database, key,
receiver, outbox worker and (when started) aiohttp server on loopback."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from storage.db import create_engine, create_session_factory
from storage.models import Retiree
from storage.schema import upgrade
from storage.uow import unit_of_work_factory
from verification.records.assistance import AssistanceService
from verification.records.chain import append_record
from verification.records.exchange import (
    ExchangeReceiver,
    OutboxDispatcher,
    Peer,
    PeerRegistry,
    generate_private_key,
)
from web.exchange import HttpTransport, create_exchange_app, running_exchange

SZ, BJ = "440300", "110000"
BJ_PAID = [f"{n:064x}" for n in range(1, 21)]  # live in Shenzhen, paid by Beijing
SZ_PAID = [f"{n:064x}" for n in range(101, 106)]  # live in Beijing, paid by Shenzhen


class Clock:
    # A fixed start, late in a UTC day (early morning of the next day in Shanghai), so a
    # mix-up of the two calendars fails here rather than in production.
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Region:
    code: str
    engine: object
    uow_factory: object
    peers: PeerRegistry
    clock: Clock
    key: object = field(default_factory=generate_private_key)
    url: str | None = None
    _server: AsyncExitStack | None = None

    def __post_init__(self) -> None:
        self.receiver = ExchangeReceiver(self.uow_factory, self.code, self.peers, self.clock)
        self.assistance = AssistanceService(self.uow_factory, self.code, self.clock)
        self.transport = HttpTransport(timeout=10)
        self.dispatcher = OutboxDispatcher(
            self.uow_factory, self.code, self.peers, self.key, self.transport, self.clock, base_delay=0.0
        )

    async def start(self, others: list[Region]) -> None:
        self._server = AsyncExitStack()
        self.url = await self._server.enter_async_context(
            running_exchange(create_exchange_app(self.receiver, self.assistance))
        )
        for other in others:
            other.peers.peers[self.code] = Peer(self.code, self.url, self.key.public_key())

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.aclose()
            self._server = None

    async def close(self) -> None:
        await self.stop()
        await self.transport.close()
        await self.engine.dispose()


async def open_region(code: str, path, clock: Clock | None = None) -> Region:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    return Region(
        code, engine, unit_of_work_factory(create_session_factory(engine)), PeerRegistry(), clock or Clock()
    )


async def add_retirees(region: Region, hashes: list[str], pension_region: str, residence_region: str) -> None:
    async with region.uow_factory() as uow:
        for number, id_hash in enumerate(hashes):
            uow.session.add(
                Retiree(
                    id_number_hash=id_hash,
                    id_number_encrypted=b"x",
                    name=f"r{number}",
                    birth_date=date(1955, 1, 1),
                    pension_region=pension_region,
                    residence_region=residence_region,
                    pension_start=date(2015, 1, 1),
                )
            )
        await uow.commit()


async def certify_many(region: Region, hashes: list[str], per_retiree: int = 1, batch: int = 1000) -> None:
    """Append `certified` records (and their outbox rows) for retirees in this region's roster."""
    from sqlalchemy import select

    async with region.uow_factory() as uow:
        rows = list(
            (await uow.session.execute(select(Retiree).where(Retiree.id_number_hash.in_(hashes)))).scalars()
        )
    by_hash = {r.id_number_hash: r for r in rows}
    todo = [by_hash[h] for _ in range(per_retiree) for h in hashes]
    for start in range(0, len(todo), batch):
        async with region.uow_factory() as uow:
            for retiree in todo[start : start + batch]:
                await append_record(
                    uow,
                    region=region.code,
                    event="certified",
                    retiree=retiree,
                    method="self_photo",
                    at=region.clock(),
                )
            await uow.commit()
