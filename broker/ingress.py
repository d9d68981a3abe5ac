"""The ingress side: an update the webhook accepted is published to its chat's partition, and
the webhook answers 200 only once the broker confirmed it (publisher confirms, persistent
messages, mandatory routing). An ingress process keeps no state: any number can run behind a
load balancer."""

from __future__ import annotations

import json

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustConnection
from telegram import Update

from bot.inbox import chat_of
from broker.metrics import BrokerMetrics
from broker.topology import Connected, UpdateTopology

PUBLISH_TIMEOUT = 10.0  # seconds; past it the webhook answers 503 and Telegram retries


class UpdatePublisher(Connected):
    def __init__(self, url: str, topology: UpdateTopology, metrics: BrokerMetrics | None = None) -> None:
        self._url = url
        self.topology = topology
        self.metrics = metrics or BrokerMetrics()
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        channel = await self._connection.channel(publisher_confirms=True)
        self._exchange, _ = await self.topology.declare(channel)

    async def publish(self, payload: dict, chat_id: int | None) -> None:
        """Returns once the broker has the update on disk; raises otherwise (not started, the
        broker away, a nack, no queue bound): the caller answers 503 and Telegram retries."""
        if self._exchange is None:
            raise RuntimeError("the publisher was not started")
        update_id = int(payload["update_id"])
        message = aio_pika.Message(
            json.dumps(payload, ensure_ascii=False).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(update_id),
        )
        routing_key = str(self.topology.partition_of(chat_id, update_id))
        await self._exchange.publish(message, routing_key, mandatory=True, timeout=PUBLISH_TIMEOUT)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = self._exchange = None

    async def deliver(self, update: Update, payload: dict) -> None:
        """The webhook's delivery (web/webhook.py `Deliver`) onto the broker."""
        try:
            await self.publish(payload, chat_of(update))
        except Exception:
            self.metrics.publish_errors.inc()
            raise
        self.metrics.published.inc()
