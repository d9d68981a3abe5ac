"""The schema comes from the real migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.db import create_engine
from storage.models import BotUser, ErrorRecord
from storage.schema import SchemaOutOfDate, current_revision, ensure_schema, head_revision


async def test_fresh_database_is_upgraded_to_head(empty_database_url):
    engine = create_engine(empty_database_url)
    try:
        assert await current_revision(engine) is None
        assert await ensure_schema(engine) == head_revision()
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_old_schema_is_refused_when_auto_upgrade_is_off(empty_database_url):
    engine = create_engine(empty_database_url)
    try:
        with pytest.raises(SchemaOutOfDate, match="pension-bot db upgrade"):
            await ensure_schema(engine, auto_upgrade=False)
    finally:
        await engine.dispose()


async def test_unknown_schema_version_is_refused(engine):
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'fromthefuture'"))
    with pytest.raises(SchemaOutOfDate, match="does not know"):
        await ensure_schema(engine)


async def test_unit_of_work_commits_and_rolls_back(uow_factory):
    async with uow_factory() as uow:
        uow.bot_users.add(BotUser(telegram_user_id=1, chat_id=1, language="en"))
        await uow.commit()
    async with uow_factory() as uow:
        uow.errors.add(ErrorRecord(source="test", code="left_uncommitted"))
        # no commit: leaving the block must roll back
    async with uow_factory() as uow:
        assert (await uow.bot_users.get(1)).language == "en"
        assert list(await uow.errors.list()) == []


def test_vault_hides_id_numbers(vault):
    token = vault.encrypt("11010519491231002X")
    assert b"11010519491231002X" not in token
    assert vault.decrypt_text(token) == "11010519491231002X"
    assert vault.lookup_hash("11010519491231002x") == vault.lookup_hash("11010519491231002X")
    assert "11010519491231002X" not in vault.lookup_hash("11010519491231002X")
    assert "key" not in repr(vault).replace("keys hidden", "")
