"""The scaled-out roles of `pension-bot serve --role` (broker/, deploy/README.md): a stateless
webhook ingress that publishes updates to RabbitMQ, bot workers that handle them, face
workers that take face and liveness jobs from the task queue, and schedulers that run the
bot's timed jobs. `--role all` is the single process of `pension-bot run`.

Every role serves `/healthz`, `/readyz` and `/metrics` on LISTEN_HOST:LISTEN_PORT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from telegram import Bot
from telegram.ext import Application

from app.inbox_poller import update_inbox
from app.settings import Settings
from app.wiring import Runtime
from bot.application import build_application, publish_commands
from broker.ingress import UpdatePublisher
from broker.metrics import BrokerMetrics
from broker.token_bucket import RedisTokenBucket
from broker.topology import UpdateTopology
from broker.worker import UpdateConsumer
from storage.errors import record_error
from web.health import Depths, add_health_routes
from web.webhook import create_webhook_app, register_webhook

logger = logging.getLogger(__name__)


class RoleNotConfigured(SystemExit):
    """A role started without a setting it needs: one line, no traceback."""


def check_settings(role: str, settings: Settings) -> None:
    """Refuses a role whose settings are missing, before anything is opened."""
    queued_faces = role == "faces" or settings.face_queue == "broker"
    if (role in ("ingress", "worker") or queued_faces) and settings.broker_url is None:
        raise RoleNotConfigured(f"The {role} role needs BROKER_URL (amqp://user:password@host:5672/).")
    if role == "ingress" and settings.webhook_secret is None:
        raise RoleNotConfigured("The ingress role needs WEBHOOK_SECRET, the same in every replica.")
    if role in ("worker", "scheduler") and settings.telegram_token is None:
        raise RoleNotConfigured(f"The {role} role needs TELEGRAM_TOKEN.")
    if queued_faces and settings.redis_url is None:
        raise RoleNotConfigured(
            f"Face work on the task queue ({role}) needs REDIS_URL (redis://host:6379/0)."
        )
    if queued_faces and settings.load_personal_data_keys() is None:
        raise RoleNotConfigured("Face work on the task queue needs DATA_KEY (it seals the messages).")
    if role == "worker" and settings.worker_index >= settings.workers:
        raise RoleNotConfigured(f"WORKER_INDEX must be below WORKERS ({settings.workers}).")


def topology_of(settings: Settings) -> UpdateTopology:
    return UpdateTopology(partitions=settings.update_partitions, prefix=settings.broker_prefix)


def broker_url_of(settings: Settings) -> str:
    assert settings.broker_url is not None  # check_settings
    return settings.broker_url.get_secret_value()


async def _no_queues() -> dict[int, int]:
    return {}


@contextlib.asynccontextmanager
async def served(
    settings: Settings,
    metrics: BrokerMetrics,
    ready: Callable[[], bool],
    depths: Depths = _no_queues,
    app: web.Application | None = None,
) -> AsyncIterator[None]:
    """`app` (or an empty one) with the health routes, on LISTEN_HOST:LISTEN_PORT."""
    app = app if app is not None else web.Application()
    add_health_routes(app, metrics, ready, depths)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
        yield
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def shared_rate(settings: Settings) -> AsyncIterator[Callable[[], Awaitable[None]] | None]:
    """The deployment's sending limit in Redis (broker/token_bucket.py) when REDIS_URL is set;
    else None, and each process keeps Telegram's limit on its own."""
    if settings.redis_url is None:
        yield None
        return
    key = f"{settings.broker_prefix}.telegram-rate"
    bucket = RedisTokenBucket.from_url(settings.redis_url.get_secret_value(), key)
    try:
        yield bucket.take
    finally:
        await bucket.close()


@contextlib.asynccontextmanager
async def started(application: Application) -> AsyncIterator[Application]:
    """The application initialised and started (its job queue running), no updates fetched."""
    async with application:
        await application.start()
        try:
            yield application
        finally:
            await application.stop()


def bot_application(runtime: Runtime, rate: Callable[[], Awaitable[None]] | None, **options) -> Application:
    """The PTB Application of a worker or a scheduler, drawing on the shared sending limit."""
    settings = runtime.settings
    assert settings.telegram_token is not None  # check_settings
    return build_application(
        settings.telegram_token.get_secret_value(),
        runtime.bot_services,
        base_url=settings.bot_api_base_url,
        shared_rate=rate,
        **options,
    )


async def ingress_until(runtime: Runtime, stop: asyncio.Event) -> None:
    """The webhook, publishing each update before answering 200. Every ingress replica must
    share WEBHOOK_SECRET (Telegram sends one secret to all)."""
    settings = runtime.settings
    assert settings.webhook_secret is not None  # check_settings
    publisher = UpdatePublisher(broker_url_of(settings), topology_of(settings))
    await publisher.start()

    async def record_refusal(code: str, detail: str) -> None:
        logger.warning("webhook request refused: %s", code)
        await record_error(runtime.uow_factory, "webhook", code, detail)

    secret = settings.webhook_secret.get_secret_value()
    webhook = create_webhook_app(publisher.deliver, secret, record_refusal)
    try:
        async with served(settings, publisher.metrics, lambda: publisher.ready, publisher.depths, webhook):
            if settings.webhook_url and settings.telegram_token is not None:
                # Idempotent: every replica sets the same address and secret.
                api = settings.bot_api_base_url or "https://api.telegram.org/bot"
                async with Bot(settings.telegram_token.get_secret_value(), base_url=api) as bot:
                    await register_webhook(bot, settings.webhook_url, secret)
            await stop.wait()
    finally:
        await publisher.close()


async def worker_until(runtime: Runtime, stop: asyncio.Event) -> None:
    """The PTB Application on the updates of the broker; no polling and no timed jobs (those
    are the schedulers')."""
    settings = runtime.settings
    inbox = update_inbox(runtime)

    async def record(code: str, detail: str) -> None:
        await record_error(runtime.uow_factory, "broker", code, detail)

    async with shared_rate(settings) as rate:
        application = bot_application(runtime, rate, inbox=inbox, schedule_jobs=False)
        consumer = UpdateConsumer(
            application,
            inbox,
            broker_url_of(settings),
            topology_of(settings),
            index=settings.worker_index,
            workers=settings.workers,
            record_error=record,
        )

        def ready() -> bool:
            return consumer.ready and application.running

        async with served(settings, consumer.metrics, ready, consumer.depths), started(application):
            await publish_commands(application)
            await consumer.start()
            logger.info("bot worker %s of %s consuming", settings.worker_index, settings.workers)
            try:
                await stop.wait()
            finally:
                await consumer.stop()


async def scheduler_until(runtime: Runtime, stop: asyncio.Event) -> None:
    """The bot's timed jobs (bot/application.py schedules them) without handling updates. Any
    number may run: each job runs in one process at a time (bot/alone.py)."""
    settings = runtime.settings
    async with shared_rate(settings) as rate:
        application = bot_application(runtime, rate)
        async with served(settings, BrokerMetrics(), lambda: application.running), started(application):
            await stop.wait()


async def faces_until(settings: Settings, stop: asyncio.Event) -> None:
    """A face worker: FACE_WORKERS processes of this machine running the face jobs of the task
    queue (broker/faces.py). It needs no database."""
    from taskiq.acks import AcknowledgeType
    from taskiq.api import run_receiver_task

    from app.wiring import face_broker_of, local_face_pool
    from verification.faces.thresholds import configured_policy

    policy = configured_policy(settings.face_engine_spec(), settings.face_thresholds_path())
    pool = local_face_pool(settings, policy)
    broker = face_broker_of(settings, prefetch=settings.face_workers)
    broker.state.face_pool = pool
    await pool.start()  # models loaded before the first job is taken
    receiving = asyncio.create_task(
        run_receiver_task(
            broker,
            max_async_tasks=settings.face_workers,
            run_startup=True,
            ack_time=AcknowledgeType.WHEN_SAVED,  # a worker killed mid-job: the job goes to another
        ),
        name="face-jobs",
    )
    try:
        async with served(settings, BrokerMetrics(), lambda: not receiving.done()):
            logger.info("face worker with %s processes taking jobs", settings.face_workers)
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([receiving, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
    finally:
        receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiving
        await broker.shutdown()
        await pool.shutdown()
