"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from storage.text_guard import guard, json_dumps


def create_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a failed statement's message must not carry personal data into logs.
        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30}, json_serializer=json_dumps
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        connect_args: dict[str, object] = {}
        if url.get_driver_name() == "asyncpg":
            # No JIT: the queries are OLTP and small reports, on which PostgreSQL's JIT costs more
            # to compile than it saves (the console's overview ran about three times slower).
            # Custom plans only: asyncpg prepares every statement, and after five runs PostgreSQL
            # may plan it once for any parameters; how many rows a region or a period selects
            # decides the plan (the overview's count of checks went from 90 ms to 250 ms on the
            # sixth run), and planning the app's statements anew costs well under a millisecond.
            connect_args["server_settings"] = {"jit": "off", "plan_cache_mode": "force_custom_plan"}
        engine = create_async_engine(
            url,
            echo=echo,
            hide_parameters=True,
            pool_pre_ping=True,
            json_serializer=json_dumps,
            connect_args=connect_args,
        )
    guard(engine.sync_engine)  # no control characters in any text written (storage/text_guard.py)
    return engine


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets the bot read while an import writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
