"""A bot worker: consumes the partition queues and hands each update to the PTB Application
(`Application.process_update`), acknowledging it to the broker only once the inbox says it
was handled.

Each partition is consumed on its own channel with one unacknowledged message at a time, so
a chat's updates are handled in order. Worker i of M subscribes first to its home partitions
(p % M == i) and, `standby_after` seconds later, to all the others: a queue's single active
consumer is the first one subscribed, so each partition is handled by its home worker while
the others wait as standbys, and one of them takes the partition over the moment its home
worker dies; the broker then delivers again what the dead one had not acknowledged (the
partition stays with the standby until that one stops). The inbox (bot/inbox.py) makes
that harmless: an update already handled is acknowledged without running again, and the
effects a handler writes are idempotent where a second run after a crash could repeat them.
A transient failure (the database away) is retried here, holding the partition, so later
updates of the chat wait for it rather than overtake it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from telegram import Update
from telegram.ext import Application

from bot.inbox import UpdateInbox, is_transient
from broker.metrics import BrokerMetrics
from broker.topology import Connected, UpdateTopology
from storage.repositories.inbox import PENDING

logger = logging.getLogger(__name__)

RecordError = Callable[[str, str], Awaitable[None]]
DUPLICATE = "duplicate"  # handled before; acknowledged without running again


class UpdateConsumer(Connected):
    def __init__(
        self,
        application: Application,
        inbox: UpdateInbox,
        url: str,
        topology: UpdateTopology,
        *,
        index: int = 0,
        workers: int = 1,
        standby_after: float = 5.0,
        record_error: RecordError | None = None,
        retry_pause: float = 1.0,
        metrics: BrokerMetrics | None = None,
    ) -> None:
        if not 0 <= index < workers:
            raise ValueError(f"worker index {index} is not in 0..{workers - 1}")
        self.application = application
        self.inbox = inbox
        self.topology = topology
        self._url = url
        self._record_error = record_error
        self._retry_pause = retry_pause
        self.metrics = metrics or BrokerMetrics()
        self.home = [p for p in range(topology.partitions) if p % workers == index]
        self._standby_after = standby_after
        self._standby: asyncio.Task | None = None
        self._connection: AbstractRobustConnection | None = None
        self._consuming: list[tuple[AbstractQueue, str]] = []
        self._busy: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._connection = connection = await aio_pika.connect_robust(self._url)
        await self.topology.declare(await connection.channel())
        for partition in self.home:
            await self._subscribe(partition)
        others = [p for p in range(self.topology.partitions) if p not in self.home]
        if others:
            self._standby = asyncio.create_task(self._stand_by(others), name="broker-standby")

    async def _stand_by(self, partitions: list[int]) -> None:
        await asyncio.sleep(self._standby_after)  # the home workers subscribe first
        for partition in partitions:
            await self._subscribe(partition)

    async def _subscribe(self, partition: int) -> None:
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=1)
        queue = await channel.get_queue(self.topology.queue(partition))
        self._consuming.append((queue, await queue.consume(self._on_message)))

    async def stop(self, grace: float = 30.0) -> None:
        """Stops taking updates, lets the ones being handled finish (up to `grace` seconds),
        and disconnects; what was not acknowledged goes to another worker."""
        if self._standby is not None:
            self._standby.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._standby
        for queue, tag in self._consuming:
            try:
                await queue.cancel(tag)
            except Exception as error:  # noqa: BLE001 - the connection may be gone already
                logger.info("consumer cancel failed (%s)", type(error).__name__)
        self._consuming.clear()
        if self._busy:
            await asyncio.wait(self._busy, timeout=grace)
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)
        try:
            await self._handle(message)
        finally:
            if task is not None:
                self._busy.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        received = time.monotonic()
        try:
            payload = json.loads(message.body)
            update = Update.de_json(payload, self.application.bot)
        except Exception as error:  # noqa: BLE001 - kept on the dead-letter queue, not lost
            await self._note("unreadable_update", type(error).__name__)
            await message.reject(requeue=False)
            self.metrics.handled.labels("unreadable").inc()
            return
        while True:
            try:
                outcome = await self.handle(update, payload)
            except Exception as error:  # noqa: BLE001 - sorted below
                if not is_transient(error):
                    await self._note("update_not_stored", type(error).__name__)
                    await message.reject(requeue=False)
                    self.metrics.handled.labels("not_stored").inc()
                    return
                outcome = PENDING
            if outcome != PENDING:
                break
            await asyncio.sleep(self._retry_pause)  # the database is away: the partition waits
        await message.ack()
        self.metrics.handled.labels(outcome).inc()
        self.metrics.handling_seconds.observe(time.monotonic() - received)

    async def handle(self, update: Update, payload: dict) -> str:
        """Stores the update (once) and runs the handlers unless it was handled before.
        Returns the inbox's state afterwards (pending: try again), or DUPLICATE when it had
        been handled before (delivered again after a worker died before acknowledging)."""
        fresh = await self.inbox.store([update], [payload])
        if update.update_id not in fresh:
            state = await self.inbox.state(update.update_id)
            if state != PENDING:
                return DUPLICATE
        self.inbox.in_flight.add(update.update_id)
        await self.application.process_update(update)  # marks the inbox (InboxApplication)
        return await self.inbox.state(update.update_id) or PENDING

    async def _note(self, code: str, detail: str) -> None:
        logger.error("broker update refused: %s (%s)", code, detail)
        if self._record_error is not None:
            try:
                await self._record_error(code, detail)
            except Exception as error:  # noqa: BLE001 - the record is best effort
                logger.warning("could not record %s (%s)", code, type(error).__name__)
