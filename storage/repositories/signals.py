"""Repositories of life-signal feeds (imports, signals, death records, suspected false claims)
and of the chat notices left for the bot. The feed's writes are set-based (one statement a
batch), since a feed can hold a million rows."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, cast

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


_MATCH_SQL = (
    "SELECT id, id_number_hash, birth_date, pension_region, residence_region, due_on,"
    " last_certified_on, payment_state, data_matching_opted_out_at IS NOT NULL, monthly_pension_fen"
    " FROM retirees WHERE {where}"
)
_SIGNAL_COLUMNS = ("retiree_id", "source", "observed_on", "in_person", "import_id", "certification_id")
_ON_CONFLICT = " ON CONFLICT (retiree_id, source, observed_on) DO NOTHING"
_SIGNALS_VALUES = (
    f"INSERT INTO life_signals ({', '.join(_SIGNAL_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)" + _ON_CONFLICT
)
_SIGNALS_FROM_ARRAYS = (
    f"INSERT INTO life_signals ({', '.join(_SIGNAL_COLUMNS)})"
    " SELECT * FROM unnest($1::int[], $2::varchar[], $3::date[], $4::bool[], $5::int[], $6::int[])"
    + _ON_CONFLICT
)


def _day(value: Any) -> date | None:
    """A date column read with plain SQL: SQLite gives its ISO text, PostgreSQL a date."""
    return date.fromisoformat(value) if isinstance(value, str) else value


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
        """The retirees these lookup hashes name (those not on the roster are left out).

        The hot path of a feed (a million rows): plain SQL and plain tuples, no ORM and no
        result processing; one array parameter on PostgreSQL, an IN list on SQLite."""
        if not hashes:
            return {}
        connection = await self._session.connection()
        params: tuple[Any, ...]
        if connection.dialect.name == "postgresql":
            sql, params = _MATCH_SQL.format(where="id_number_hash = ANY($1::varchar[])"), (list(hashes),)
        else:
            marks = ",".join("?" * len(hashes))
            sql, params = _MATCH_SQL.format(where=f"id_number_hash IN ({marks})"), tuple(hashes)
        rows = cast(Sequence[tuple[Any, ...]], (await connection.exec_driver_sql(sql, params)).all())
        # A recorded death suspends payment, so only retirees not paid now can have one.
        deaths = await self._deaths_of([row[0] for row in rows if row[7] != "active"])
        return {
            row[1]: MatchedRetiree(
                row[0],
                row[1],
                date.fromisoformat(row[2]) if isinstance(row[2], str) else row[2],
                row[3],
                row[4],
                _day(row[5]),
                _day(row[6]),
                row[7],
                bool(row[8]),
                row[9],
                deaths.get(row[0]),
            )
            for row in rows
        }

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
        (the same feed again) is skipped, not counted twice. Plain SQL, as `retirees_by_hash`:
        one statement of arrays on PostgreSQL, one executemany on SQLite (which counts it)."""
        if not rows:
            return 0
        connection = await self._session.connection()
        columns = _SIGNAL_COLUMNS
        if connection.dialect.name == "postgresql":
            arrays = tuple([row.get(column) for row in rows] for column in columns)
            result = await connection.exec_driver_sql(_SIGNALS_FROM_ARRAYS, arrays)
        else:
            values = [
                (
                    row["retiree_id"],
                    row["source"],
                    row["observed_on"].isoformat(),
                    int(row["in_person"]),
                    row.get("import_id"),
                    row.get("certification_id"),
                )
                for row in rows
            ]
            result = await connection.exec_driver_sql(_SIGNALS_VALUES, values)
        return int(result.rowcount)

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
