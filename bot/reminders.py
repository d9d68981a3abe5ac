"""The cycle's background work on PTB's JobQueue: suspensions once a day, reminders often.

The reminders are swept from the database (see `verification.cycle.service`), so nothing
is lost on a restart and nothing is sent twice. Logs carry counts and error types only:
never a name, a chat id or a message text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application

from bot.alone import alone
from bot.context import BotContext
from bot.cycle_texts import reminder_text
from bot.services import services
from content.i18n import Translator
from verification.cycle.service import CycleService

logger = logging.getLogger(__name__)

JOB_NAME = "certification-cycle"
LAST_SUSPENSION_SWEEP = "cycle.last_suspension_sweep"
FIRST_RUN_SECONDS = 15
BATCH_SIZE = 200


@dataclass
class ReminderReport:
    sent: int = 0
    failed: int = 0  # refused for good (blocked, chat gone): recorded, not retried
    deferred: int = 0  # a passing error: left for the next sweep


async def send_due_reminders(bot: Bot, cycle: CycleService, batch_size: int = BATCH_SIZE) -> ReminderReport:
    """Sweep and send reminders, a batch at a time, until none is left or an error that may
    pass (the network, Telegram) says to stop and let the next sweep try again."""
    report = ReminderReport()
    while True:
        notices = await cycle.sweep_reminders(limit=batch_size)
        for index, notice in enumerate(notices):
            try:
                t = Translator(notice.language)
                # Offers the articles on certifying and on suspension (📰 in the menu).
                text = reminder_text(t, notice) + "\n\n" + t("publicity.due_hint", button=t("menu.publicity"))
                await bot.send_message(notice.chat_id, text)
            except Forbidden:
                await cycle.mark_reminder_failed(notice, "blocked")
                report.failed += 1
            except BadRequest:  # e.g. "chat not found": trying again will not help
                await cycle.mark_reminder_failed(notice, "refused")
                report.failed += 1
            except TelegramError as error:
                for left in notices[index:]:
                    await cycle.release_reminder(left)
                report.deferred += len(notices) - index
                logger.warning("reminders deferred to the next sweep: %s", type(error).__name__)
                return report
            else:
                await cycle.mark_reminder_sent(notice)
                report.sent += 1
        if len(notices) < batch_size:
            return report


async def run_cycle_sweep(bot: Bot, cycle: CycleService, last_suspension_sweep: date | None) -> date:
    """One run of the job: suspensions when not yet done today, then the reminders.
    Returns the date of the last suspension sweep."""
    today = cycle.today()
    if last_suspension_sweep != today:
        suspended = await cycle.sweep_suspensions()
        logger.info("suspension sweep: %d suspended", len(suspended))
        last_suspension_sweep = today
    report = await send_due_reminders(bot, cycle)
    if report.sent or report.failed or report.deferred:
        logger.info("reminders: %d sent, %d failed, %d deferred", report.sent, report.failed, report.deferred)
    return last_suspension_sweep


async def _cycle_job(context: BotContext) -> None:
    data = context.application.bot_data
    try:
        data[LAST_SUSPENSION_SWEEP] = await run_cycle_sweep(
            context.bot, services(context).cycle, data.get(LAST_SUSPENSION_SWEEP)
        )
    except Exception as error:  # the next run tries again
        # The type only: a database error's text may quote row values (names).
        logger.error("certification cycle sweep failed: %s", type(error).__name__)


def schedule_cycle_jobs(application: Application, interval_seconds: float = 600) -> None:
    """Run the cycle sweep every `interval_seconds`, the first time soon after start."""
    if application.job_queue is None:  # pragma: no cover - the job-queue extra is a dependency
        raise RuntimeError("python-telegram-bot[job-queue] is needed for the certification reminders")
    application.job_queue.run_repeating(
        alone(JOB_NAME, _cycle_job), interval=interval_seconds, first=FIRST_RUN_SECONDS, name=JOB_NAME
    )
