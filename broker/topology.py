"""Where updates go on the broker: one direct exchange and a fixed number of partition queues.

A chat's updates always go to the same partition (its id modulo the number of partitions),
and each partition queue has a single active consumer: so one chat's updates are handled one
after another, in the order Telegram sent them, while different chats' updates run in
parallel on as many workers as there are partitions. The queues are quorum queues
(replicated, durable); a message no worker can read goes to the dead-letter queue, never
away. Every process must use the same number of partitions (UPDATE_PARTITIONS): a changed
number moves chats to other partitions, so change it only with the queues drained.
"""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)

DEFAULT_PARTITIONS = 8


@dataclass(frozen=True)
class UpdateTopology:
    partitions: int = DEFAULT_PARTITIONS
    prefix: str = "pension-bot"

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.updates"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}.updates.dead"

    def queue(self, partition: int) -> str:
        return f"{self.prefix}.updates.{partition:03d}"

    def partition_of(self, chat_id: int | None, update_id: int) -> int:
        """The partition of a chat; an update without a chat (a poll's state) has no order to
        keep and is spread by its own id."""
        return (chat_id if chat_id is not None else update_id) % self.partitions

    async def declare(self, channel: AbstractChannel) -> tuple[AbstractExchange, list[AbstractQueue]]:
        """Declares the exchange, the partition queues and the dead-letter queue (idempotent:
        every process declares them at start)."""
        exchange = await channel.declare_exchange(self.exchange, aio_pika.ExchangeType.DIRECT, durable=True)
        dead = await channel.declare_exchange(self.dead_letters, aio_pika.ExchangeType.FANOUT, durable=True)
        dead_queue = await channel.declare_queue(
            self.dead_letters, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead_queue.bind(dead)
        queues = []
        for partition in range(self.partitions):
            queue = await channel.declare_queue(
                self.queue(partition),
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-single-active-consumer": True,
                    "x-dead-letter-exchange": self.dead_letters,
                },
            )
            await queue.bind(exchange, routing_key=str(partition))
            queues.append(queue)
        return exchange, queues

    async def depths(self, connection: AbstractConnection) -> dict[int, int]:
        """Messages waiting in each partition queue, as the broker counts them now."""
        channel = await connection.channel()
        try:
            depths = {}
            for partition in range(self.partitions):
                queue = await channel.declare_queue(self.queue(partition), passive=True)
                depths[partition] = queue.declaration_result.message_count or 0
            return depths
        finally:
            await channel.close()

    async def remove(self, connection: AbstractConnection) -> None:
        """Deletes this deployment's queues and exchanges, the face jobs' too (broker/faces.py
        names them `<prefix>.faces`): for benches and tests, never for a live deployment."""
        channel = await connection.channel()
        try:
            faces = f"{self.prefix}.faces"
            queues = [self.queue(p) for p in range(self.partitions)]
            for name in [*queues, self.dead_letters, faces, f"{faces}.dead"]:
                await channel.queue_delete(name)
            for name in (self.exchange, self.dead_letters, faces):
                await channel.exchange_delete(name)
        finally:
            await channel.close()


class Connected:
    """What the ingress's publisher and a bot worker share: their connection to the broker,
    whether it is up (for /readyz), and the depth of the partition queues (for /metrics)."""

    topology: UpdateTopology
    _connection: AbstractRobustConnection | None = None

    @property
    def ready(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def depths(self) -> dict[int, int]:
        if self._connection is None:
            return {}
        return await self.topology.depths(self._connection)
