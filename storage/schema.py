"""Schema versions with Alembic: upgrade at start-up, or refuse an old or unknown schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class SchemaOutOfDate(RuntimeError):
    """The database is at another schema version than this code expects."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    # None only for a migrations directory without revisions; this package ships them.
    assert head is not None, "storage/migrations has no revisions"
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync_connection: MigrationContext.configure(sync_connection).get_current_revision()
        )


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def run(sync_connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def ensure_schema(engine: AsyncEngine, *, auto_upgrade: bool = True) -> str:
    """Bring the schema to head, or explain why not. Returns the revision in use."""
    head = head_revision()
    current = await current_revision(engine)
    if current == head:
        return head
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        raise SchemaOutOfDate(
            f"The database is at schema version {current}, which this version of pension-bot does not "
            f"know (it expects {head}). It was probably written by a newer release: run that release, "
            "or restore a backup."
        )
    if not auto_upgrade:
        raise SchemaOutOfDate(
            f"The database schema is at {current or 'an empty database'}, this release needs {head}. "
            "Run `pension-bot db upgrade` (after a backup), then start again."
        )
    await upgrade(engine)
    return head
