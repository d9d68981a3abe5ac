"""Repositories of verification records (the hash chain per region), their signed
checkpoints, the heads of other regions' chains, and the region exchange: the outbox,
the records received from other regions, and seen nonces."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base, Retiree
from storage.models.records import (
    ChainCheckpoint,
    ChainHead,
    OutboxEntry,
    PeerChainHead,
    ReceivedRecord,
    SeenNonce,
    VerificationRecord,
)
from storage.repositories import affected_rows


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, row: Base) -> None:
        self._session.add(row)

    async def _insert_many(
        self, model: type[Base], rows: Sequence[dict[str, Any]], key: str
    ) -> dict[Any, int]:
        """Insert rows in multi-row statements; returns {the row's `key` value: its id}.
        (Asking for the ids in the order given instead would make SQLite insert one row at a
        time: it cannot promise RETURNING's order.)"""
        if not rows:
            return {}
        table = model.__table__
        statement = insert(model).returning(table.c[key], table.c.id)
        connection = await self._session.connection()
        return {row[0]: row[1] for row in (await connection.execute(statement, list(rows))).all()}


class RecordRepository(_Repository):
    """This region's chains: their heads and the records, in sequence order."""

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Records (column values) appended at once by a feed: {record_uid: id}."""
        return await self._insert_many(VerificationRecord, rows, "record_uid")

    async def chain_head_for_update(self, region: str, genesis_hash: str) -> ChainHead:
        """The region's chain head, locked for this transaction (FOR UPDATE); made, at seq 0
        with `genesis_hash`, for a region without records yet."""
        if self._session.get_bind().dialect.name == "sqlite":
            # Take SQLite's write lock before reading the head (it waits on busy_timeout), so two
            # writers queue up instead of both reading the same head.
            touch = update(ChainHead).where(ChainHead.region == region).values(seq=ChainHead.seq)
            await self._session.execute(touch.execution_options(synchronize_session=False))
        statement = select(ChainHead).where(ChainHead.region == region).with_for_update()
        head = (await self._session.execute(statement)).scalar_one_or_none()
        if head is not None:
            return head
        try:
            async with self._session.begin_nested():
                self._session.add(ChainHead(region=region, seq=0, hash=genesis_hash))
        except IntegrityError:
            pass  # another writer created it first: lock theirs
        return (await self._session.execute(statement.execution_options(populate_existing=True))).scalar_one()

    async def chain_head(self, region: str) -> ChainHead | None:
        return await self._session.get(ChainHead, region)

    async def committed_chain_head(self, region: str) -> ChainHead | None:
        """The head as the database has it now (not as this session loaded it earlier)."""
        return await self._session.get(ChainHead, region, populate_existing=True)

    async def chain_regions(self) -> list[str]:
        return list(
            (await self._session.execute(select(ChainHead.region).order_by(ChainHead.region))).scalars()
        )

    async def after(self, region: str, seq: int, limit: int) -> Sequence[VerificationRecord]:
        """The region's records after `seq`, in sequence order, at most `limit`."""
        return (
            (
                await self._session.execute(
                    select(VerificationRecord)
                    .where(VerificationRecord.region == region, VerificationRecord.seq > seq)
                    .order_by(VerificationRecord.seq)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )

    async def between(self, region: str, first: int, last: int, limit: int) -> Sequence[VerificationRecord]:
        """The region's records `first` to `last` (both included), in sequence order, at most `limit`."""
        return (
            (
                await self._session.execute(
                    select(VerificationRecord)
                    .where(
                        VerificationRecord.region == region,
                        VerificationRecord.seq >= first,
                        VerificationRecord.seq <= last,
                    )
                    .order_by(VerificationRecord.seq)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )

    async def hash_at(self, region: str, seq: int) -> str | None:
        return (
            await self._session.execute(
                select(VerificationRecord.hash).where(
                    VerificationRecord.region == region, VerificationRecord.seq == seq
                )
            )
        ).scalar_one_or_none()

    async def hashes_at(self, region: str, seqs: Sequence[int]) -> dict[int, tuple[str, str]]:
        """seq -> (hash, record uid) of the region's records at `seqs` (those that exist)."""
        hashes: dict[int, tuple[str, str]] = {}
        for start in range(0, len(seqs), 500):
            statement = select(
                VerificationRecord.seq, VerificationRecord.hash, VerificationRecord.record_uid
            ).where(
                VerificationRecord.region == region, VerificationRecord.seq.in_(seqs[start : start + 500])
            )
            hashes |= {
                seq: (hash_, uid) for seq, hash_, uid in (await self._session.execute(statement)).all()
            }
        return hashes


class CheckpointRepository(_Repository):
    """Signed checkpoints of this region's chain heads."""

    async def for_region(self, region: str) -> list[ChainCheckpoint]:
        """The region's checkpoints, oldest (lowest seq) first."""
        statement = (
            select(ChainCheckpoint)
            .where(ChainCheckpoint.region == region)
            .order_by(ChainCheckpoint.seq, ChainCheckpoint.id)
        )
        return list((await self._session.execute(statement)).scalars())


class PeerHeadRepository(_Repository):
    """The latest signed chain head seen from each other region."""

    async def for_update(self, origin_region: str) -> PeerChainHead | None:
        return await self._session.get(PeerChainHead, origin_region, with_for_update=True)

    async def all(self) -> list[PeerChainHead]:
        statement = select(PeerChainHead).order_by(PeerChainHead.origin_region)
        return list((await self._session.execute(statement)).scalars())


class NonceRepository(_Repository):
    """Request nonces seen from other regions."""

    async def forget_expired(self, now: datetime) -> None:
        await self._session.execute(delete(SeenNonce).where(SeenNonce.expires_at < now))


class ReceivedRecordRepository(_Repository):
    """Records taken in from other regions."""

    async def uids_from(self, origin_region: str, record_uids: Collection[str]) -> set[str]:
        """Those of `record_uids` taken in from `origin_region` already."""
        return set(
            (
                await self._session.execute(
                    select(ReceivedRecord.record_uid).where(
                        ReceivedRecord.origin_region == origin_region,
                        ReceivedRecord.record_uid.in_(record_uids),
                    )
                )
            ).scalars()
        )

    async def of_event_about(self, event: str, retiree_hashes: Collection[str]) -> Sequence[ReceivedRecord]:
        return (
            (
                await self._session.execute(
                    select(ReceivedRecord).where(
                        ReceivedRecord.event == event,
                        ReceivedRecord.retiree_hash.in_(retiree_hashes),
                    )
                )
            )
            .scalars()
            .all()
        )


class OutboxRepository(_Repository):
    """Records owed to other (paying) regions, and the state of their delivery."""

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            connection = await self._session.connection()
            await connection.execute(insert(OutboxEntry), list(rows))

    async def regions_waiting(self) -> list[str]:
        """The regions with records pending or deferred."""
        return list(
            (
                await self._session.execute(
                    select(OutboxEntry.dest_region)
                    .where(OutboxEntry.state.in_(("pending", "deferred")))
                    .distinct()
                )
            ).scalars()
        )

    @staticmethod
    def _deferred_hashes(region: str) -> Select[str]:
        return (
            select(VerificationRecord.retiree_hash)
            .join(OutboxEntry, OutboxEntry.record_id == VerificationRecord.id)
            .where(OutboxEntry.dest_region == region, OutboxEntry.state == "deferred")
        )

    async def hold_behind_deferred(self, region: str) -> None:
        """Later records about a retiree whose earlier ones wait for a retry wait with them."""
        await self._session.execute(
            update(OutboxEntry)
            .where(
                OutboxEntry.dest_region == region,
                OutboxEntry.state == "pending",
                OutboxEntry.record_id.in_(
                    select(VerificationRecord.id).where(
                        VerificationRecord.retiree_hash.in_(self._deferred_hashes(region))
                    )
                ),
            )
            .values(state="deferred", next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )

    async def deferred_due(
        self, region: str, now: datetime, limit: int
    ) -> Sequence[Row[OutboxEntry, VerificationRecord]]:
        """(entry, record) of the deferred records due again, in outbox order: a retiree's
        waiting records go when the first of them is due (its back-off rules)."""
        firsts = (
            select(func.min(OutboxEntry.id))
            .join(VerificationRecord, VerificationRecord.id == OutboxEntry.record_id)
            .where(OutboxEntry.dest_region == region, OutboxEntry.state == "deferred")
            .group_by(VerificationRecord.retiree_hash)
        )
        due_hashes = self._deferred_hashes(region).where(
            OutboxEntry.id.in_(firsts),
            or_(OutboxEntry.next_attempt_at.is_(None), OutboxEntry.next_attempt_at <= now),
        )
        return (
            await self._session.execute(
                select(OutboxEntry, VerificationRecord)
                .join(VerificationRecord, VerificationRecord.id == OutboxEntry.record_id)
                .where(
                    OutboxEntry.dest_region == region,
                    OutboxEntry.state == "deferred",
                    VerificationRecord.retiree_hash.in_(due_hashes),
                )
                .order_by(OutboxEntry.id)
                .limit(limit)
            )
        ).all()

    async def pending(self, region: str, limit: int) -> Sequence[Row[OutboxEntry, VerificationRecord]]:
        """(entry, record) of the region's pending records, in outbox order."""
        return (
            await self._session.execute(
                select(OutboxEntry, VerificationRecord)
                .join(VerificationRecord, VerificationRecord.id == OutboxEntry.record_id)
                .where(OutboxEntry.dest_region == region, OutboxEntry.state == "pending")
                .order_by(OutboxEntry.id)
                .limit(limit)
            )
        ).all()

    async def pending_count(self) -> int:
        return (
            await self._session.execute(
                select(func.count()).select_from(OutboxEntry).where(OutboxEntry.state == "pending")
            )
        ).scalar_one()

    async def mark(self, entry_id: int, **values: Any) -> None:
        await self._session.execute(update(OutboxEntry).where(OutboxEntry.id == entry_id).values(**values))

    async def mark_all(self, entry_ids: Collection[int], **values: Any) -> None:
        await self._session.execute(update(OutboxEntry).where(OutboxEntry.id.in_(entry_ids)).values(**values))

    async def refusals(
        self, states: Collection[str]
    ) -> Sequence[Row[OutboxEntry, VerificationRecord, int | None]]:
        """(entry, record, this region's retiree id or None) of the entries in `states`, by
        paying region, in outbox order."""
        statement = (
            select(OutboxEntry, VerificationRecord, Retiree.id)
            .join(VerificationRecord, VerificationRecord.id == OutboxEntry.record_id)
            .outerjoin(Retiree, Retiree.id_number_hash == VerificationRecord.retiree_hash)
            .where(OutboxEntry.state.in_(states))
            .order_by(OutboxEntry.dest_region, OutboxEntry.id)
        )
        rows = (await self._session.execute(statement)).all()
        # An outer join: SQLAlchemy's row type does not say that the retiree id may be NULL.
        return cast("Sequence[Row[OutboxEntry, VerificationRecord, int | None]]", rows)

    async def requeue_refused(self, entry_ids: Collection[int]) -> int:
        """Refused entries deferred again, with a new retry period; returns how many."""
        result = await self._session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id.in_(entry_ids), OutboxEntry.state == "refused")
            .values(state="deferred", refused_since=None, next_attempt_at=None, attempts=0)
        )
        return affected_rows(result) or 0
