"""Repositories: the only place that writes queries; services see plain methods. Here the
repositories of what every feature shares (bot users, retirees, error records, roster
imports); each feature's in a module beside it, named as its models' module is."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, Result, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BotUser, ErrorRecord, Retiree, RosterImport

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched. `Session.execute` is typed as returning a
    `Result` whatever the statement; for DML it is a `CursorResult`, which has the count."""
    return cast(CursorResult[Any], result).rowcount


class BotUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, telegram_user_id: int) -> BotUser | None:
        return await self._session.get(BotUser, telegram_user_id)

    def add(self, user: BotUser) -> None:
        self._session.add(user)


class RetireeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_id_hash(self, id_number_hash: str) -> Retiree | None:
        result = await self._session.execute(select(Retiree).where(Retiree.id_number_hash == id_number_hash))
        return result.scalar_one_or_none()

    async def get(self, retiree_id: int) -> Retiree | None:
        return await self._session.get(Retiree, retiree_id)

    async def existing(self, retiree_id: int) -> Retiree:
        """The retiree with this id, for a caller that knows it exists: a stored row names it
        (a binding's, a case's, an audit's `retiree_id` foreign key) or an earlier step found it.
        Retirees are never deleted, so unlike `get` this does not answer None; LookupError if
        the id is nobody's after all."""
        retiree = await self._session.get(Retiree, retiree_id)
        if retiree is None:
            raise LookupError(f"no retiree {retiree_id}")
        return retiree

    async def count(self) -> int:
        return (await self._session.execute(select(func.count()).select_from(Retiree))).scalar_one()

    async def hashes_paid_by(self, pension_region: str, id_number_hashes: Collection[str]) -> set[str]:
        """Those of `id_number_hashes` that are retirees whose pension `pension_region` pays."""
        return set(
            (
                await self._session.execute(
                    select(Retiree.id_number_hash).where(
                        Retiree.id_number_hash.in_(id_number_hashes), Retiree.pension_region == pension_region
                    )
                )
            ).scalars()
        )

    async def upsert_many(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert retirees, or update the ones whose `id_number_hash` exists; returns how many
        were new. The rows must have distinct hashes (a row cannot be upserted twice at once).

        Each mapping holds the Retiree columns (without `id`). On update `created_at` is kept;
        an empty phone, photo or monthly pension in the roster keeps what is stored (staff may
        have enrolled a face since), and `last_certified_on` never moves back: a certification
        done through the bot must not be undone by re-importing an older roster.
        """
        if not rows:
            return 0
        dialect = self._session.get_bind().dialect.name
        insert: Callable[[type[Retiree]], postgresql.Insert | sqlite.Insert]
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

            insert = postgresql_insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            insert = sqlite_insert
        else:  # pragma: no cover - only the two supported databases
            raise NotImplementedError(f"upsert is not implemented for {dialect}")
        statement = insert(Retiree)
        new = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[Retiree.id_number_hash],
            set_={
                "id_number_encrypted": new.id_number_encrypted,
                "name": new.name,
                "birth_date": new.birth_date,
                "pension_region": new.pension_region,
                "residence_region": new.residence_region,
                "pension_start": new.pension_start,
                "last_certified_on": case(
                    (new.last_certified_on.is_(None), Retiree.last_certified_on),
                    (Retiree.last_certified_on.is_(None), new.last_certified_on),
                    (new.last_certified_on > Retiree.last_certified_on, new.last_certified_on),
                    else_=Retiree.last_certified_on,
                ),
                "phone_encrypted": func.coalesce(new.phone_encrypted, Retiree.phone_encrypted),
                "reference_photo_path": func.coalesce(new.reference_photo_path, Retiree.reference_photo_path),
                "monthly_pension_fen": func.coalesce(new.monthly_pension_fen, Retiree.monthly_pension_fen),
                "updated_at": new.updated_at,
            },
        )
        # An inserted row still has created_at == updated_at (both set to this batch's time);
        # an updated one keeps its older created_at. Same answer on SQLite and PostgreSQL,
        # and RETURNING lets SQLAlchemy send the batch as multi-row VALUES statements.
        returning = statement.returning(Retiree.created_at == Retiree.updated_at)
        # Core on the session's connection: no ORM objects for 1,000 rows.
        connection = await self._session.connection()
        result = await connection.execute(returning, [dict(row) for row in rows])
        return sum(1 for inserted in result.scalars() if inserted)


class ErrorRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, record: ErrorRecord) -> None:
        self._session.add(record)

    async def list(self, source: str | None = None, limit: int = 100) -> Sequence[ErrorRecord]:
        query = select(ErrorRecord).order_by(ErrorRecord.id.desc()).limit(limit)
        if source:
            query = query.where(ErrorRecord.source == source)
        return (await self._session.execute(query)).scalars().all()


class RosterImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, roster_import: RosterImport) -> None:
        self._session.add(roster_import)

    async def get(self, import_id: int) -> RosterImport | None:
        return await self._session.get(RosterImport, import_id)
