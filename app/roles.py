"""The scaled-out roles of `pension-bot serve --role` (broker/): a stateless webhook ingress
that publishes updates to RabbitMQ, bot workers that handle them, and the scheduler that runs
the bot's timed jobs (reminders, sweeps, campaigns). `--role all` is the single process of
`pension-bot run`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web
from telegram import Bot, Update

from app.inbox_poller import update_inbox
from app.settings import Settings
from app.wiring import Runtime
from bot.application import build_application, publish_commands
from broker.ingress import UpdatePublisher
from broker.metrics import BrokerMetrics
from broker.topology import UpdateTopology
from broker.worker import UpdateConsumer
from storage.errors import record_error
from verification.faces.pool import FaceWorkerPool
from web.health import add_health_routes
from web.webhook import WEBHOOK_PATH, create_webhook_app

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


async def ingress_until(runtime: Runtime, stop: asyncio.Event) -> None:
    """The webhook on LISTEN_HOST:LISTEN_PORT, publishing each update before answering 200.
    Every ingress replica must share WEBHOOK_SECRET (Telegram sends one secret to all)."""
    settings = runtime.settings
    assert settings.webhook_secret is not None  # check_settings
    publisher = UpdatePublisher(broker_url_of(settings), topology_of(settings))
    await publisher.start()

    async def record_refusal(code: str, detail: str) -> None:
        logger.warning("webhook request refused: %s", code)
        await record_error(runtime.uow_factory, "webhook", code, detail)

    secret = settings.webhook_secret.get_secret_value()
    site_app = create_webhook_app(publisher.deliver, secret, record_refusal)
    add_health_routes(site_app, publisher.metrics, lambda: publisher.ready, publisher.depths)
    runner = web.AppRunner(site_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
        if settings.webhook_url and settings.telegram_token is not None:
            # Idempotent: every replica sets the same address and secret.
            async with Bot(settings.telegram_token.get_secret_value(), base_url=_bot_api(settings)) as bot:
                await bot.set_webhook(
                    url=settings.webhook_url.rstrip("/") + WEBHOOK_PATH,
                    secret_token=secret,
                    allowed_updates=Update.ALL_TYPES,
                )
        await stop.wait()
    finally:
        await runner.cleanup()
        await publisher.close()


async def worker_until(runtime: Runtime, stop: asyncio.Event) -> None:
    """The PTB Application on the updates of the broker; no polling and no scheduled sweeps
    (those stay with one `run` process)."""
    settings = runtime.settings
    assert settings.telegram_token is not None  # check_settings
    inbox = update_inbox(runtime)
    application = build_application(
        settings.telegram_token.get_secret_value(),
        runtime.bot_services,
        base_url=settings.bot_api_base_url,
        inbox=inbox,
        schedule_jobs=False,
    )

    async def record(code: str, detail: str) -> None:
        await record_error(runtime.uow_factory, "broker", code, detail)

    consumer = UpdateConsumer(
        application,
        inbox,
        broker_url_of(settings),
        topology_of(settings),
        index=settings.worker_index,
        workers=settings.workers,
        record_error=record,
    )
    health = web.Application()

    def ready() -> bool:
        return consumer.ready and application.running

    add_health_routes(health, consumer.metrics, ready, consumer.depths)
    runner = web.AppRunner(health, access_log=None)
    await runner.setup()
    try:
        # Health and metrics on LISTEN_HOST:LISTEN_PORT (a worker serves nothing else).
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
        async with application:
            await application.start()  # the job queue, for jobs a handler schedules
            await publish_commands(application)
            await consumer.start()
            logger.info("bot worker %s of %s consuming", settings.worker_index, settings.workers)
            try:
                await stop.wait()
            finally:
                await consumer.stop()
                await application.stop()
    finally:
        await runner.cleanup()


def _bot_api(settings: Settings) -> str:
    return settings.bot_api_base_url or "https://api.telegram.org/bot"


async def scheduler_until(runtime: Runtime, stop: asyncio.Event) -> None:
    """The bot's timed jobs (bot/application.py schedules them) without handling updates. Run
    one scheduler: the reminders are claimed row by row, but not every sweep is yet."""
    settings = runtime.settings
    assert settings.telegram_token is not None  # check_settings
    application = build_application(
        settings.telegram_token.get_secret_value(), runtime.bot_services, base_url=settings.bot_api_base_url
    )
    health = web.Application()

    async def no_queues() -> dict[int, int]:
        return {}

    add_health_routes(health, BrokerMetrics(), lambda: application.running, no_queues)
    runner = web.AppRunner(health, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
        async with application:
            await application.start()  # the job queue; no polling, no webhook
            try:
                await stop.wait()
            finally:
                await application.stop()
    finally:
        await runner.cleanup()


async def faces_until(settings: Settings, stop: asyncio.Event) -> None:
    """A face worker: FACE_WORKERS processes of this machine running the face jobs of the task
    queue (broker/faces.py). It needs no database."""
    from taskiq.acks import AcknowledgeType
    from taskiq.api import run_receiver_task

    from app.wiring import face_broker_of
    from verification.faces.engines import engine_factory
    from verification.faces.thresholds import configured_policy

    spec = settings.face_engine_spec()
    pool = FaceWorkerPool(
        workers=settings.face_workers,
        engine_factory=engine_factory(spec),
        policy=configured_policy(spec, settings.face_thresholds_path()),
    )
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
    health = web.Application()

    async def no_queues() -> dict[int, int]:
        return {}

    add_health_routes(health, BrokerMetrics(), lambda: not receiving.done(), no_queues)
    runner = web.AppRunner(health, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
        logger.info("face worker with %s processes taking jobs", settings.face_workers)
        await asyncio.wait([receiving, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    finally:
        receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiving
        await broker.shutdown()
        await runner.cleanup()
        await pool.shutdown()
