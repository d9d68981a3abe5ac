"""Durable updates (issue 12, finding 3 and the first half of finding 4).

A video note or a question that reached the bot must not be lost to a crash (kill -9 after
the update was fetched, before it was handled) nor to a database outage, and must not be
handled twice; the bot tells the person only what is true. The real PTB Application runs
against the stand-in Bot API on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import event, func, select
from sqlalchemy import exc as sa_exc
from telegram.ext import ApplicationBuilder

from app.inbox_poller import update_inbox
from app.serve import serving
from app.settings import Settings
from app.wiring import open_runtime
from bot.application import build_application
from bot.inbox import InboxApplication, UpdateInbox, is_transient
from content.i18n import Translator
from demo.standin.client import StandinClient
from demo.standin.server import running_standin
from storage.models.durability import InboxUpdate
from storage.models.employer import EmployerQuestion
from storage.repositories.inbox import IncomingUpdate
from tests.e2e.harness import TOKEN, ChatUser
from web.webhook import WEBHOOK_PATH, create_webhook_app, into_application

zh = Translator("zh_Hans")
QUESTION = "我们单位年会抽奖的奖品应该怎么选？"  # one the bot is not sure about: queued
T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


class Outage:
    """The database unreachable while `down`: every statement fails as a refused connection
    does (sqlalchemy.exc.OperationalError), on whichever dialect."""

    def __init__(self, engine) -> None:
        self.down = False
        self.refused = 0
        self._engine = engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._refuse)

    def _refuse(self, *_args) -> None:
        if self.down:
            self.refused += 1
            raise sa_exc.OperationalError("(outage)", None, ConnectionRefusedError(111, "refused"))

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._refuse)


async def _until(condition, what: str, wait: float = 20) -> None:
    for _ in range(int(wait / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@asynccontextmanager
async def _bot(runtime, standin):
    application = build_application(
        TOKEN,
        runtime.bot_services,
        base_url=standin.bot_base_url,
        base_file_url=standin.file_base_url,
        inbox=update_inbox(runtime),
        schedule_jobs=False,
    )
    async with serving(application, polling={"poll_interval": 0, "timeout": 1}):
        yield application


def _settings(database_url: str, var_dir: Path) -> Settings:
    return Settings(database_url=database_url, var_dir=var_dir, inbox_sweep_seconds=0.2)


async def _employer(client: StandinClient, chat_id: int, runtime) -> ChatUser:
    user = ChatUser(client, chat_id)
    await user.say("/start")
    await user.tap("简体中文")
    await user.tap("🏢 我是用人单位经办人")
    await _until(lambda: _nothing_pending(runtime), "the set-up updates to be marked done")
    return user


async def _nothing_pending(runtime) -> bool:
    async with runtime.uow_factory() as uow:
        return not await uow.inbox.pending(max_tries=100)


async def _questions(runtime, chat_id: int) -> list[EmployerQuestion]:
    async with runtime.uow_factory() as uow:
        query = select(EmployerQuestion).where(EmployerQuestion.chat_id == chat_id)
        return list((await uow.session.execute(query)).scalars())


async def _inbox_row(runtime, update_id: int) -> InboxUpdate | None:
    async with runtime.uow_factory() as uow:
        return await uow.inbox.get(update_id)


async def _bot_messages(client: StandinClient, chat_id: int, after_id: int) -> list[dict]:
    return [m for m in await client.messages(chat_id, after_id=after_id) if m["from_bot"]]


# ------------------------------------------------------------------ the repository


async def test_the_inbox_stores_once_marks_and_lists_what_is_pending(uow_factory):
    def incoming(update_id: int) -> IncomingUpdate:
        return IncomingUpdate(update_id, 7, {"update_id": update_id, "message": {"text": "你好"}})

    async with uow_factory() as uow:
        assert await uow.inbox.store([incoming(3), incoming(1), incoming(3)], T0) == {1, 3}
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.inbox.store([incoming(1), incoming(2)], T0 + timedelta(seconds=1)) == {2}
        await uow.commit()
    async with uow_factory() as uow:
        assert [row.update_id for row in await uow.inbox.pending(max_tries=3)] == [1, 3, 2]
        await uow.inbox.mark_done(1, T0 + timedelta(seconds=2))
        assert await uow.inbox.mark_retry(3, "OperationalError", T0, max_tries=2) == "pending"
        await uow.inbox.mark_failed(2, "KeyError", T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert [row.update_id for row in await uow.inbox.pending(max_tries=3)] == [3]
        assert [row.update_id for row in await uow.inbox.pending(max_tries=1)] == []
        assert await uow.inbox.mark_retry(3, "OperationalError", T0, max_tries=2) == "failed"
        await uow.commit()
    async with uow_factory() as uow:
        rows = {row.update_id: row for row in (await uow.session.execute(select(InboxUpdate))).scalars()}
        assert {k: (r.state, r.tries, r.last_error) for k, r in rows.items()} == {
            1: ("done", 0, None),
            2: ("failed", 1, "KeyError"),
            3: ("failed", 2, "OperationalError"),
        }
        assert await uow.inbox.purge_done(T0 + timedelta(days=6), older_than_days=7) == 0
        assert await uow.inbox.purge_done(T0 + timedelta(days=8), older_than_days=7) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.inbox.get(1) is None and await uow.inbox.get(2) is not None


def test_transient_failures_are_told_from_the_others():
    refused = sa_exc.OperationalError("select 1", None, ConnectionRefusedError())
    assert is_transient(refused) and is_transient(ConnectionResetError()) and is_transient(TimeoutError())
    assert not is_transient(KeyError("x")) and not is_transient(ValueError("x"))
    assert not is_transient(sa_exc.IntegrityError("insert", None, Exception("unique")))


# ------------------------------------------------------------------ finding 3: a crash


async def test_an_update_fetched_before_a_crash_is_handled_once_after_the_restart(database_url, tmp_path):
    settings = _settings(database_url, tmp_path / "var")
    chat = 880001
    async with running_standin(tokens=[TOKEN]) as standin, StandinClient(standin.base_url) as client:
        # The first run: the question is fetched and stored, then the process dies while its
        # handler runs (kill -9: no graceful stop, nothing marked, nothing answered).
        async with open_runtime(settings) as runtime:
            entered, handling = asyncio.Event(), []

            async def stuck(*_args, **_kwargs):
                handling.append(asyncio.current_task())
                entered.set()
                await asyncio.Event().wait()

            async with _bot(runtime, standin):
                user = await _employer(client, chat, runtime)
                runtime.bot_services.employer.ask = stuck
                sent = await client.send_text(chat, QUESTION)
                update_id = sent["update_id"]
                await asyncio.wait_for(entered.wait(), 20)
                # Telegram was told the update arrived (the offset moved past it) ...
                await _until(lambda: _confirmed(standin, update_id), "the offset to be confirmed")
                payload = (await _inbox_row(runtime, update_id)).payload
                handling[0].cancel()  # ... and the process died here
                await asyncio.sleep(0)
            assert (await _inbox_row(runtime, update_id)).state == "pending"
            assert await _bot_messages(client, chat, sent["message"]["message_id"]) == []

        # Telegram may deliver it again too (had the offset not reached it): still once.
        standin.state.updates.pending.append(payload)
        standin.state.updates.signal.fire()

        async with open_runtime(settings) as runtime, _bot(runtime, standin):
            [answer] = await user.client.wait_for_bot_messages(
                chat, sent["message"]["message_id"], timeout=20
            )
            assert answer["text"] not in (zh("error.transient"), zh("error.generic"))
            await _until(lambda: _state_is(runtime, update_id, "done"), "the update to be marked done")
            [question] = await _questions(runtime, chat)
            assert question.source_key == f"tg:{chat}:{sent['message']['message_id']}"
            await asyncio.sleep(0.5)  # a second sweep would have handed it over again by now
            assert len(await _bot_messages(client, chat, sent["message"]["message_id"])) == 1
            assert len(await _questions(runtime, chat)) == 1


async def _confirmed(standin, update_id: int) -> bool:
    return all(update["update_id"] != update_id for update in standin.state.updates.pending)


async def _state_is(runtime, update_id: int, state: str) -> bool:
    row = await _inbox_row(runtime, update_id)
    return row is not None and row.state == state


# ------------------------------------------------------------------ finding 4: an outage


async def test_a_question_sent_while_the_database_is_down_is_stored_once_it_is_back(database_url, tmp_path):
    chat = 880002
    settings = _settings(database_url, tmp_path / "var")
    async with (
        running_standin(tokens=[TOKEN]) as standin,
        StandinClient(standin.base_url) as client,
        open_runtime(settings) as runtime,
        _bot(runtime, standin),
    ):
        user = await _employer(client, chat, runtime)
        outage = Outage(runtime.engine)
        try:
            outage.down = True
            sent = await client.send_text(chat, QUESTION)
            # The inbox cannot store it: Telegram is not told it arrived, and the person is
            # told nothing (nothing false): the bot fetches it again after a back-off.
            await _until(lambda: _refused_at_least(outage, 6), "stores to be refused")
            assert not await _confirmed(standin, sent["update_id"])
            assert await _bot_messages(client, chat, sent["message"]["message_id"]) == []
            outage.down = False
            [answer] = await user.client.wait_for_bot_messages(
                chat, sent["message"]["message_id"], timeout=20
            )
            assert answer["text"] != zh("error.transient")
            [question] = await _questions(runtime, chat)
            assert question.source_key == f"tg:{chat}:{sent['message']['message_id']}"
            await _until(lambda: _state_is(runtime, sent["update_id"], "done"), "the update to be done")
        finally:
            outage.close()


async def test_a_question_stored_before_the_outage_is_handled_after_it_with_a_true_apology(
    database_url, tmp_path
):
    chat = 880003
    settings = _settings(database_url, tmp_path / "var")
    async with (
        running_standin(tokens=[TOKEN]) as standin,
        StandinClient(standin.base_url) as client,
        open_runtime(settings) as runtime,
        _bot(runtime, standin),
    ):
        user = await _employer(client, chat, runtime)
        outage = Outage(runtime.engine)
        employer = runtime.bot_services.employer
        ask = employer.ask

        async def ask_as_the_database_goes_away(*args, **kwargs):
            outage.down = True  # the update is in the inbox; the database goes now
            return await ask(*args, **kwargs)

        try:
            employer.ask = ask_as_the_database_goes_away
            sent = await client.send_text(chat, QUESTION)
            [apology] = await user.client.wait_for_bot_messages(
                chat, sent["message"]["message_id"], timeout=20
            )
            assert apology["text"] == zh("error.transient")  # "saved, answered once we are back"
            employer.ask = ask
            refused = outage.refused
            await _until(lambda: _refused_at_least(outage, refused + 3), "sweeps to fail")
            outage.down = False
            [_, answer] = await user.client.wait_for_bot_messages(
                chat, sent["message"]["message_id"], count=2, timeout=20
            )
            assert answer["text"] not in (zh("error.transient"), zh("error.generic"))
            await _until(lambda: _state_is(runtime, sent["update_id"], "done"), "the update to be done")
            await asyncio.sleep(0.5)  # sweeps run every 0.2 s: none hands it over again
            assert len(await _questions(runtime, chat)) == 1
            assert len(await _bot_messages(client, chat, sent["message"]["message_id"])) == 2
        finally:
            outage.close()


async def _refused_at_least(outage: Outage, count: int) -> bool:
    return outage.refused >= count


# ------------------------------------------------------------------ the webhook


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_webhook_update_is_answered_200_once_stored_and_503_when_it_cannot_be(uow_factory, engine):
    inbox = UpdateInbox(uow_factory)
    application = (
        ApplicationBuilder().application_class(InboxApplication, {"inbox": inbox}).token(TOKEN).updater(None)
    ).build()

    async def record_refusal(code: str, detail: str) -> None:
        pass

    port = _free_port()
    runner = web.AppRunner(
        create_webhook_app(into_application(application), "s3cret", record_refusal, bot=application.bot)
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    outage = Outage(engine)
    url, headers = f"http://127.0.0.1:{port}{WEBHOOK_PATH}", {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}

    def update(update_id: int) -> dict:
        chat = {"id": 5, "type": "private"}
        person = {"id": 5, "is_bot": False, "first_name": "A"}
        message = {"message_id": update_id, "date": 0, "chat": chat, "text": "你好", "from": person}
        return {"update_id": update_id, "message": message}

    async def count() -> int:
        async with uow_factory() as uow:
            return (await uow.session.execute(select(func.count()).select_from(InboxUpdate))).scalar_one()

    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update(41), headers=headers) as response:
                assert response.status == 200
                assert await count() == 1  # stored before the answer
            async with http.post(url, json=update(41), headers=headers) as response:  # a retry
                assert response.status == 200
            assert await count() == 1 and application.update_queue.qsize() == 1
            outage.down = True
            async with http.post(url, json=update(42), headers=headers) as response:
                assert response.status == 503  # Telegram delivers it again later
            assert application.update_queue.qsize() == 1
            outage.down = False
            async with http.post(url, json=update(42), headers=headers) as response:
                assert response.status == 200
            assert await count() == 2 and application.update_queue.qsize() == 2
            async with uow_factory() as uow:
                row = await uow.inbox.get(42)
            assert row.state == "pending" and row.chat_id == 5 and row.payload["message"]["text"] == "你好"
    finally:
        outage.close()
        await runner.cleanup()
