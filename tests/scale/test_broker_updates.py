"""Webhook updates through RabbitMQ (issue 18, first part): a stateless ingress publishes each
update to its chat's partition before answering 200; bot workers hand them to the real PTB
Application, in order per chat, in parallel across chats; a worker that dies mid-update
loses nothing and doubles nothing. Real parts: the stand-in Bot API delivering to the
webhook over HTTP, the local RabbitMQ, PTB, the inbox on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from contextlib import AsyncExitStack

from aiohttp import web
from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from app.bench_support import point_webhook
from bot.inbox import InboxApplication, UpdateInbox
from broker.ingress import UpdatePublisher
from broker.worker import UpdateConsumer
from demo.standin.client import StandinClient
from demo.standin.server import running_standin
from tests.e2e.harness import TOKEN
from web.webhook import create_webhook_app

SECRET = "broker-s3cret"
CHATS = [101, 102, 103, 104, 105, 106]  # over 4 partitions: both workers get some


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _until(condition, what: str, wait: float = 30) -> None:
    for _ in range(int(wait / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Worker:
    """A bot worker as a process would run it: its own PTB Application (with the inbox) that
    echoes each text, and its consumer. `hold` (a text) makes the handler wait for `release`."""

    def __init__(self, name: str, standin, uow_factory, url, topology, index: int, workers: int) -> None:
        self.name = name
        self.handled: list[str] = []
        self.hold: str | None = None
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.application = (
            ApplicationBuilder()
            .application_class(InboxApplication, {"inbox": UpdateInbox(uow_factory)})
            .token(TOKEN)
            .base_url(standin.bot_base_url)
            .updater(None)
            .build()
        )
        self.application.add_handler(MessageHandler(filters.TEXT, self._echo))
        self.consumer = UpdateConsumer(
            self.application,
            self.application.inbox,
            url,
            topology,
            index=index,
            workers=workers,
            standby_after=0.5,
            retry_pause=0.05,
        )

    async def _echo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        text = update.message.text
        if text == self.hold:
            self.holding.set()
            await self.release.wait()
        await context.bot.send_message(update.effective_chat.id, f"got {text}")
        self.handled.append(text)

    async def __aenter__(self) -> Worker:
        await self.application.initialize()
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.consumer.stop(grace=5)
        await self.application.shutdown()

    async def crash(self) -> None:
        """As SIGKILL would: the handlers stop where they are, the connection drops, nothing
        is acknowledged or marked."""
        for task in list(self.consumer._busy):
            task.cancel()
        if self.consumer._standby is not None:
            self.consumer._standby.cancel()
        await self.consumer._connection.close()
        self.consumer._consuming.clear()
        self.consumer._connection = None


@contextlib.asynccontextmanager
async def _deployment(uow_factory, rabbitmq_url, topology):
    """The stand-in, one ingress (a webhook that publishes) and the stand-in's webhook set."""
    async with AsyncExitStack() as stack:
        standin = await stack.enter_async_context(running_standin([TOKEN]))
        publisher = UpdatePublisher(rabbitmq_url, topology)
        await publisher.start()
        stack.push_async_callback(publisher.close)

        async def record_refusal(code: str, detail: str) -> None:
            raise AssertionError(f"refused {code}: {detail}")

        port = _free_port()
        runner = web.AppRunner(create_webhook_app(publisher.deliver, SECRET, record_refusal))
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, "127.0.0.1", port).start()
        client = await stack.enter_async_context(StandinClient(standin.base_url))
        await point_webhook(standin.bot_base_url, TOKEN, f"http://127.0.0.1:{port}", SECRET)
        yield standin, client


async def _replies(client: StandinClient, chat_id: int) -> list[str]:
    return [m["text"] for m in await client.messages(chat_id) if m["from_bot"]]


async def test_updates_of_a_chat_stay_in_order_and_chats_run_on_both_workers(
    uow_factory, rabbitmq_url, topology
):
    async with _deployment(uow_factory, rabbitmq_url, topology) as (standin, client):
        worker = lambda name, index: Worker(name, standin, uow_factory, rabbitmq_url, topology, index, 2)  # noqa: E731
        async with worker("a", 0) as a, worker("b", 1) as b:
            for n in range(1, 9):
                for chat in CHATS:
                    await client.send_text(chat, f"{chat}-{n}")

            async def all_answered() -> bool:
                return [len(await _replies(client, chat)) for chat in CHATS] == [8] * len(CHATS)

            await _until(all_answered, "every message to be answered")
            for chat in CHATS:
                assert await _replies(client, chat) == [f"got {chat}-{n}" for n in range(1, 9)]
            assert len(a.handled) + len(b.handled) == 48 and a.handled and b.handled
            # each chat stayed with one worker: its partition's single active consumer
            for chat in CHATS:
                mine = [w.name for w in (a, b) for text in w.handled if text.startswith(f"{chat}-")]
                assert len(set(mine)) == 1
        async with uow_factory() as uow:
            assert not await uow.inbox.pending(max_tries=100)


async def test_a_worker_killed_mid_update_loses_nothing_and_doubles_nothing(
    uow_factory, rabbitmq_url, topology
):
    """Worker a dies (1) while its handler runs and (2) after the handler finished and the inbox
    marked the update, before the broker heard: b takes the partition over, handles the first
    again (it never finished) and acknowledges the second without running it again."""
    chat = CHATS[0]  # partition 1 % 4 -> home of worker index 1
    async with _deployment(uow_factory, rabbitmq_url, topology) as (standin, client):
        first = Worker("a", standin, uow_factory, rabbitmq_url, topology, 1, 2)
        second = Worker("b", standin, uow_factory, rabbitmq_url, topology, 0, 2)
        async with first as a, second as b:
            a.hold = f"{chat}-2"
            for n in range(1, 5):
                await client.send_text(chat, f"{chat}-{n}")
            await asyncio.wait_for(a.holding.wait(), 30)
            await a.crash()
            await _until(lambda: _count(client, chat, 4), "b to answer the rest")
            assert await _replies(client, chat) == [f"got {chat}-{n}" for n in range(1, 5)]
            assert a.handled == [f"{chat}-1"] and b.handled == [f"{chat}-{n}" for n in range(2, 5)]

        third = Worker("c", standin, uow_factory, rabbitmq_url, topology, 1, 2)
        fourth = Worker("d", standin, uow_factory, rabbitmq_url, topology, 0, 2)
        marked = asyncio.Event()
        handle = third.consumer.handle

        async def handled_then_die(update, payload):
            state = await handle(update, payload)  # the handlers ran and the inbox says done
            marked.set()
            await asyncio.Event().wait()  # the process dies here, before the ack
            return state

        third.consumer.handle = handled_then_die
        async with third as c, fourth as d:
            await client.send_text(chat, f"{chat}-5")
            await asyncio.wait_for(marked.wait(), 30)
            await c.crash()
            await client.send_text(chat, f"{chat}-6")
            await _until(lambda: _count(client, chat, 6), "d to answer the next message")
            assert await _replies(client, chat) == [f"got {chat}-{n}" for n in range(1, 7)]
            assert c.handled == [f"{chat}-5"] and d.handled == [f"{chat}-6"]  # 5 not run twice


async def _count(client: StandinClient, chat: int, expected: int) -> bool:
    return len(await _replies(client, chat)) >= expected
