"""Durable polling: fetch updates, store them in the inbox, only then confirm them to Telegram.

PTB's Updater confirms an update (advances the getUpdates offset) as soon as it is queued in
memory, so a crash before the handlers ran lost it. Here a batch is stored in the inbox in
one transaction first; if that fails (the database is away) the offset stays where it was,
and the same updates are fetched again after a back-off; Telegram keeps them. The person is
told nothing meanwhile: nothing reached the bot yet.

On start the pending updates of the inbox are handed to the bot before polling begins, and
a sweep every `sweep_seconds` hands over the updates a transient failure left pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.inbox import UpdateInbox, admit

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0  # Telegram keeps the updates; a short wait recovers fast


def update_inbox(runtime) -> UpdateInbox:
    """The inbox of `runtime` (app.wiring.Runtime) with its configured limits."""
    settings = runtime.settings
    return UpdateInbox(
        runtime.uow_factory,
        max_tries=settings.inbox_max_tries,
        sweep_seconds=settings.inbox_sweep_seconds,
        retention_days=settings.inbox_retention_days,
    )


async def poll(
    application: Application,
    inbox: UpdateInbox,
    *,
    long_poll: float = 20,
    poll_interval: float = 0.0,
    backoff: float = 1.0,
) -> None:
    """Runs until cancelled: getUpdates → inbox → offset → the bot's update queue."""
    bot = application.bot
    offset: int | None = None
    delay = backoff
    with contextlib.suppress(TelegramError):  # polling needs no webhook; as PTB's Updater does
        await bot.delete_webhook(drop_pending_updates=False)
    while True:
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=long_poll, allowed_updates=Update.ALL_TYPES
            )
        except InvalidToken:
            raise
        except RetryAfter as error:
            await asyncio.sleep(_seconds(error.retry_after))
            continue
        except Exception as error:  # noqa: BLE001 - Telegram or the network away, another poller (409)
            logger.warning("getUpdates failed (%s); trying again in %.0f s", type(error).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
            continue
        if updates:
            try:
                await admit(application, inbox, updates)
            except Exception as error:  # noqa: BLE001 - the database is away: fetch again later
                logger.warning(
                    "could not store %d update(s) (%s); not confirmed, fetching again in %.0f s",
                    len(updates),
                    type(error).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            offset = updates[-1].update_id + 1  # confirmed with the next getUpdates
        delay = backoff
        if poll_interval:
            await asyncio.sleep(poll_interval)


def _seconds(value) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


async def hand_over_pending(application: Application, inbox: UpdateInbox, limit: int = 500) -> int:
    """Hands the pending updates of the inbox (oldest first) to the bot; returns how many."""
    rows = await inbox.pending_not_in_flight(limit)
    for row in rows:
        try:
            update = Update.de_json(row.payload, application.bot)
        except Exception as error:  # noqa: BLE001 - a payload this version cannot read
            logger.error("inbox update %s unreadable (%s)", row.update_id, type(error).__name__)
            await inbox.mark_failed(row.update_id, type(error).__name__)
            continue
        if update is not None:
            await inbox.hand_over(application, update)
    return len(rows)


async def sweep(application: Application, inbox: UpdateInbox) -> None:
    """Runs until cancelled: every `inbox.sweep_seconds`, the pending updates again, and the
    handled ones past their retention deleted."""
    while True:
        await asyncio.sleep(inbox.sweep_seconds)
        try:
            count = await hand_over_pending(application, inbox)
            if count:
                logger.info("inbox sweep: %d pending update(s) handed over again", count)
            await inbox.purge()
        except Exception as error:  # noqa: BLE001 - the database is away: next time
            logger.warning("inbox sweep failed (%s)", type(error).__name__)


def _report_end(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.critical("%s stopped: %s", task.get_name(), type(task.exception()).__name__)


@asynccontextmanager
async def durable_updates(
    application: Application, inbox: UpdateInbox, *, polling: dict | None = None
) -> AsyncIterator[None]:
    """The started application's recovery, sweep and (when `polling` is given) poll loop,
    stopped on the way out. Pending updates are handed over before polling starts."""
    tasks: list[asyncio.Task] = []
    try:
        try:
            recovered = await hand_over_pending(application, inbox)
            if recovered:
                logger.info("inbox: %d update(s) left pending by the last run handed over", recovered)
        except Exception as error:  # noqa: BLE001 - the database is away: the sweep retries
            logger.warning("inbox recovery failed (%s); the sweep tries again", type(error).__name__)
        tasks.append(asyncio.create_task(sweep(application, inbox), name="inbox-sweep"))
        if polling is not None:
            options = {
                "long_poll": polling.get("timeout", 20),
                "poll_interval": polling.get("poll_interval", 0.0),
            }
            tasks.append(asyncio.create_task(poll(application, inbox, **options), name="inbox-poll"))
        for task in tasks:
            task.add_done_callback(_report_end)
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
