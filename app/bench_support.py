"""What the benches that run the product as processes share (app/fault_bench.py,
app/scale_bench.py): a fresh PostgreSQL database each, quiet logs about killed clients, and a
person's steps in a chat of the stand-in."""

from __future__ import annotations

import contextlib
import logging
import uuid

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Bot

from app.settings import new_personal_data_keys
from demo.standin.client import StandinClient
from storage.models.certification import BindingCode
from web.webhook import register_webhook

SETUP_WAIT = 90.0  # seconds for one set-up reply: the bot may still be starting


def fresh_key_environment() -> dict[str, str]:
    """DATA_KEY and ID_HASH_KEY, new, for a fresh database and every process given it."""
    keys = new_personal_data_keys()
    return {"DATA_KEY": keys["data_key"], "ID_HASH_KEY": keys["id_hash_key"]}


async def point_webhook(bot_base_url: str, token: str, url: str, secret: str) -> None:
    """Sets the stand-in's webhook to `url` (an ingress's address) as the product does."""
    async with Bot(token, base_url=bot_base_url) as bot:
        await register_webhook(bot, url, secret)


class BenchUnavailable(RuntimeError):
    """What the bench needs is missing (the database server): said in one line."""


async def fresh_database(admin_url: str, purpose: str) -> tuple[str, str]:
    url = make_url(admin_url)
    name = f"pb_bench_{uuid.uuid4().hex[:10]}_{purpose}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - told in one line
        raise BenchUnavailable(
            f"cannot create a database on {url.render_as_string(hide_password=True)} "
            f"({type(error).__name__}); start PostgreSQL or pass --database-url"
        ) from error
    finally:
        await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


async def drop_database(admin_url: str, name: str) -> None:
    admin = create_async_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@contextlib.asynccontextmanager
async def quiet_about_killed_clients():
    """The stand-in's server logs a traceback for every request cut off by a SIGKILL of the
    bot or the sender: here that is the point, not news."""
    server_log = logging.getLogger("aiohttp.server")
    level = server_log.level
    server_log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        server_log.setLevel(level)


async def last_id(client: StandinClient, chat_id: int) -> int:
    messages = await client.messages(chat_id)
    return messages[-1]["message_id"] if messages else 0


async def say(client: StandinClient, chat_id: int, words: str) -> None:
    sent = await client.send_text(chat_id, words)
    await client.wait_for_bot_messages(chat_id, sent["message"]["message_id"], timeout=SETUP_WAIT)


async def tap(client: StandinClient, chat_id: int, label: str) -> None:
    before = await last_id(client, chat_id)
    await client.press(chat_id, label)
    await client.wait_for_bot_messages(chat_id, before, timeout=SETUP_WAIT)


async def binding_code(uow, vault, retiree_id: int) -> str:
    """The code printed on the retiree's letter (kept encrypted for re-printing)."""
    query = (
        select(BindingCode)
        .where(BindingCode.retiree_id == retiree_id, BindingCode.used_at.is_(None))
        .order_by(BindingCode.id.desc())
    )
    code = (await uow.session.execute(query)).scalars().first()
    return vault.decrypt_text(code.code_encrypted)
