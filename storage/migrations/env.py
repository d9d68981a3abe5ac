"""Alembic environment. Called with a connection (storage.schema.upgrade) or, from the
alembic command line, with `-x url=...` / DATABASE_URL."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import storage.models.care  # noqa: F401  (registers its tables)
import storage.models.certification  # noqa: F401  (registers its tables)
import storage.models.checkplan  # noqa: F401  (registers its tables)
import storage.models.console  # noqa: F401  (registers its tables)
import storage.models.durability  # noqa: F401  (registers its tables)
import storage.models.employer  # noqa: F401  (registers its tables)
import storage.models.liveness  # noqa: F401  (registers its tables)
import storage.models.publicity  # noqa: F401  (registers its tables)
import storage.models.records  # noqa: F401  (registers its tables)
import storage.models.recovery  # noqa: F401  (registers its tables)
import storage.models.signals  # noqa: F401  (registers its tables)
import storage.models.training  # noqa: F401  (registers its tables)
from storage.models import Base

target_metadata = Base.metadata


def run_with_connection(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_url(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(run_with_connection)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_with_connection(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "DATABASE_URL", "sqlite+aiosqlite:///./var/pension_bot.db"
    )
    asyncio.run(run_with_url(url))
