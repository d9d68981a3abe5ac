"""The campaign sender on PTB's JobQueue, sending through the application's Bot.

The job runs for a bounded time, then schedules itself again: at once when work is left,
after a short pause when not. Logs carry counts and error types only.
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application

from bot.alone import run_alone
from bot.context import BotContext
from content.publicity.sender import Blocked, CampaignSender, Refused, RetryLater, Send, Transient

logger = logging.getLogger(__name__)

JOB_NAME = "publicity-sender"
SENDER_KEY = "publicity.sender"
IDLE_SECONDS = 3.0
BUDGET_SECONDS = 10.0


def telegram_send(bot: Bot) -> Send:
    """`send(chat_id, text, photo)` on PTB's Bot, its errors turned into the sender's."""

    async def send(chat_id: int, text: str, photo: str | None) -> None:
        try:
            if photo:
                await bot.send_photo(chat_id, photo, caption=text)
            else:
                await bot.send_message(chat_id, text)
        except RetryAfter as error:
            retry_after = error.retry_after
            seconds = retry_after.total_seconds() if hasattr(retry_after, "total_seconds") else retry_after
            raise RetryLater(float(seconds)) from error
        except Forbidden as error:
            raise Blocked() from error
        except BadRequest as error:
            raise Refused(type(error).__name__) from error
        except TelegramError as error:
            raise Transient(type(error).__name__) from error

    return send


async def _sender_job(context: BotContext) -> None:
    from bot.services import services

    data = context.application.bot_data
    sender = data.get(SENDER_KEY)
    if sender is None:
        runtime_services = services(context)
        sender = CampaignSender(
            runtime_services.publicity, runtime_services.publicity.uow_factory, telegram_send(context.bot)
        )
        data[SENDER_KEY] = sender
    more = False

    async def send() -> None:
        nonlocal more
        report = await sender.run_once(budget_seconds=BUDGET_SECONDS)
        more = report.more
        if report.sent or report.failed or report.blocked or report.retried:
            logger.info(
                "publicity: %d sent, %d failed, %d blocked, %d retry_after obeyed",
                report.sent,
                report.failed,
                report.blocked,
                report.retried,
            )

    try:
        await run_alone(JOB_NAME, context, send)  # one sender at a time across schedulers
    except Exception as error:  # the next run tries again
        logger.error("publicity sender failed: %s", type(error).__name__)
    # Rescheduled whether or not this process sent: it may hold the lock next time.
    context.job_queue.run_once(_sender_job, 0 if more else IDLE_SECONDS, name=JOB_NAME)


def schedule_publicity_jobs(application: Application, first_seconds: float = IDLE_SECONDS) -> None:
    if application.job_queue is None or application.bot_data.get("services") is None:
        return
    if getattr(application.bot_data["services"], "publicity", None) is None:
        return
    application.job_queue.run_once(_sender_job, first_seconds, name=JOB_NAME)
