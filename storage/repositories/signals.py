"""Repositories of life-signal feeds (imports, signals, death records, suspected false claims)
and of the chat notices left for the bot. The feed's writes are set-based (one statement a
batch), since a feed can hold a million rows."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Retiree
from storage.models.care import LifeEventReport
from storage.models.certification import Binding, Certification
from storage.models.signals import (
    ChatNotice,
    DeathRecord,
    LifeSignal,
    SignalImport,
    SuspectedFalseClaim,
)


class MatchedRetiree(NamedTuple):
    """What matching a feed row needs to know of the retiree it names."""

    id: int
    id_number_hash: str
    birth_date: date
    pension_region: str
    residence_region: str
    due_on: date | None
    last_certified_on: date | None
    payment_state: str
    opted_out: bool
    monthly_pension_fen: int | None
    died_on: date | None  # the earliest death another agency recorded, if any


class SignalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, item: SignalImport | DeathRecord | SuspectedFalseClaim) -> None:
        self._session.add(item)

    async def completed_import(self, source: str, file_sha256: str) -> SignalImport | None:
        query = (
            select(SignalImport)
            .where(
                SignalImport.source == source,
                SignalImport.file_sha256 == file_sha256,
                SignalImport.finished_at.is_not(None),
            )
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def retirees_by_hash(self, hashes: Collection[str]) -> dict[str, MatchedRetiree]:
        if not hashes:
            return {}
        query = select(
            Retiree.id,
            Retiree.id_number_hash,
            Retiree.birth_date,
            Retiree.pension_region,
            Retiree.residence_region,
            Retiree.due_on,
            Retiree.last_certified_on,
            Retiree.payment_state,
            Retiree.data_matching_opted_out_at.is_not(None),
            Retiree.monthly_pension_fen,
        ).where(Retiree.id_number_hash.in_(list(hashes)))
        # Tuples, not ORM objects: a feed matches a million rows.
        rows = (await self._session.execute(query)).all()
        # A recorded death suspends payment, so only retirees not paid now can have one.
        deaths = await self._deaths_of([row[0] for row in rows if row[7] != "active"])
        return {row[1]: MatchedRetiree._make((*row, deaths.get(row[0]))) for row in rows}

    async def _deaths_of(self, retiree_ids: list[int]) -> dict[int, date]:
        if not retiree_ids:
            return {}
        query = (
            select(DeathRecord.retiree_id, func.min(DeathRecord.died_on))
            .where(DeathRecord.retiree_id.in_(retiree_ids))
            .group_by(DeathRecord.retiree_id)
        )
        return {retiree_id: day for retiree_id, day in (await self._session.execute(query)).all()}

    async def insert_new_signals(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert the signals not on file yet; returns how many were new. A signal already kept
        (the same feed again) is skipped, not counted twice."""
        if not rows:
            return 0
        table = LifeSignal.__table__
        statement = _insert(self._session, LifeSignal).on_conflict_do_nothing(
            index_elements=["retiree_id", "source", "observed_on"]
        )
        connection = await self._session.connection()
        if connection.dialect.name == "sqlite":
            # One executemany; SQLite counts the rows it inserted across it.
            return (await connection.execute(statement, [dict(row) for row in rows])).rowcount
        # asyncpg does not count an executemany: one multi-row statement, counted by RETURNING.
        returning = statement.returning(table.c.id)
        return len((await connection.execute(returning, [dict(row) for row in rows])).all())

    async def insert_certifications(self, rows: Sequence[Mapping[str, Any]]) -> dict[int, int]:
        """Certification rows, one per retiree; returns {retiree_id: certification id}."""
        if not rows:
            return {}
        statement = _insert(self._session, Certification).returning(
            Certification.retiree_id, Certification.id
        )
        connection = await self._session.connection()
        return {
            row[0]: row[1] for row in (await connection.execute(statement, [dict(row) for row in rows])).all()
        }

    async def move_cycles(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Set `due_on` and `last_certified_on` of retirees ({"rid", "due_on", "certified_on"}),
        except where a newer certification moved them meanwhile."""
        if not rows:
            return
        table = Retiree.__table__
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("rid"),
                or_(
                    table.c.last_certified_on.is_(None), table.c.last_certified_on < bindparam("certified_on")
                ),
            )
            .values(due_on=bindparam("due_on"), last_certified_on=bindparam("certified_on"))
        )
        connection = await self._session.connection()
        await connection.execute(statement, [dict(row) for row in rows])

    async def bound_chats(self, retiree_ids: Collection[int]) -> list[tuple[int, int, str, str | None]]:
        """(retiree_id, chat_id, kind, language) of every active binding of these retirees."""
        if not retiree_ids:
            return []
        from storage.models import BotUser

        query = (
            select(Binding.retiree_id, Binding.chat_id, Binding.kind, BotUser.language)
            .outerjoin(BotUser, BotUser.telegram_user_id == Binding.telegram_user_id)
            .where(Binding.retiree_id.in_(list(retiree_ids)), Binding.revoked_at.is_(None))
            .order_by(Binding.retiree_id, Binding.id)
        )
        return [(r, c, k, lang) for r, c, k, lang in (await self._session.execute(query)).all()]

    async def delete_for_retiree(self, retiree_id: int) -> int:
        """Delete the retiree's kept life signals (data matching withdrawn); how many."""
        from sqlalchemy import delete

        result = await self._session.execute(delete(LifeSignal).where(LifeSignal.retiree_id == retiree_id))
        return int(getattr(result, "rowcount", 0) or 0)

    async def deaths_of(self, retiree_id: int) -> Sequence[DeathRecord]:
        query = select(DeathRecord).where(DeathRecord.retiree_id == retiree_id).order_by(DeathRecord.id)
        return (await self._session.execute(query)).scalars().all()

    async def signals_after(self, retiree_id: int, day: date) -> Sequence[LifeSignal]:
        query = (
            select(LifeSignal)
            .where(LifeSignal.retiree_id == retiree_id, LifeSignal.observed_on > day)
            .order_by(LifeSignal.observed_on, LifeSignal.id)
        )
        return (await self._session.execute(query)).scalars().all()

    async def certifications_after(self, retiree_id: int, day: date) -> Sequence[Certification]:
        query = (
            select(Certification)
            .where(Certification.retiree_id == retiree_id, Certification.certified_on > day)
            .order_by(Certification.certified_on, Certification.id)
        )
        return (await self._session.execute(query)).scalars().all()

    async def open_suspicions(self, limit: int = 500) -> Sequence[SuspectedFalseClaim]:
        query = (
            select(SuspectedFalseClaim)
            .where(SuspectedFalseClaim.state == "open")
            .order_by(SuspectedFalseClaim.opened_at, SuspectedFalseClaim.id)
            .limit(limit)
        )
        return (await self._session.execute(query)).scalars().all()

    async def suspicion(self, suspicion_id: int) -> SuspectedFalseClaim | None:
        return await self._session.get(SuspectedFalseClaim, suspicion_id)

    async def death_report_of(self, record: DeathRecord) -> LifeEventReport | None:
        if record.life_event_id is None:
            return None
        return await self._session.get(LifeEventReport, record.life_event_id)

    async def imports(self, limit: int = 20) -> Sequence[SignalImport]:
        query = select(SignalImport).order_by(SignalImport.id.desc()).limit(limit)
        return (await self._session.execute(query)).scalars().all()

    async def latest_signal_days(self, retiree_ids: Collection[int]) -> dict[int, date]:
        """The day of each retiree's latest life signal (retirees without one are left out)."""
        if not retiree_ids:
            return {}
        query = (
            select(LifeSignal.retiree_id, func.max(LifeSignal.observed_on))
            .where(LifeSignal.retiree_id.in_(list(retiree_ids)))
            .group_by(LifeSignal.retiree_id)
        )
        return {rid: day for rid, day in (await self._session.execute(query)).all()}


class NoticeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            connection = await self._session.connection()
            await connection.execute(_insert(self._session, ChatNotice), [dict(row) for row in rows])

    def add(self, notice: ChatNotice) -> None:
        self._session.add(notice)

    async def pending(self, limit: int) -> list[tuple[ChatNotice, str | None, str | None]]:
        """Unsent notices, oldest first, with the retiree's name (None if gone) and the chat's
        language (None if the person never chose one)."""
        from storage.models import BotUser

        query = (
            select(ChatNotice, Retiree.name, BotUser.language)
            .outerjoin(Retiree, Retiree.id == ChatNotice.retiree_id)
            .outerjoin(BotUser, BotUser.telegram_user_id == ChatNotice.chat_id)
            .where(ChatNotice.sent_at.is_(None))
            .order_by(ChatNotice.id)
            .limit(limit)
        )
        return [
            (notice, name, language) for notice, name, language in (await self._session.execute(query)).all()
        ]

    async def mark(self, notice_ids: Collection[int], state: str, at: datetime) -> None:
        if notice_ids:
            statement = (
                update(ChatNotice).where(ChatNotice.id.in_(list(notice_ids))).values(state=state, sent_at=at)
            )
            await self._session.execute(statement)


def _insert(session: AsyncSession, model: Any) -> Any:
    """The dialect's INSERT (it has ON CONFLICT) for the two supported databases."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
