"""The notice job on PTB's JobQueue: sends the chat notices that feeds and cases left in the
database (a silent certification, a recorded death, a recovery notice), so that what a
command-line import did still reaches the people it concerns, once.

A notice is marked sent after Telegram took it; a blocked or vanished chat is marked
undeliverable with an error record; any other error leaves the rest for the next run.
Logs carry counts and error types only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application

from bot.alone import alone
from bot.context import BotContext
from bot.presenters.notices import SubjectGone, notice_text
from bot.services import services
from content.i18n import Translator
from verification.signals.notices import NoticeService

logger = logging.getLogger(__name__)

JOB_NAME = "chat-notices"
BATCH = 100


@dataclass
class NoticeReport:
    sent: int = 0
    undeliverable: int = 0
    deferred: int = 0


async def send_owed_notices(bot: Bot, notices: NoticeService) -> NoticeReport:
    report = NoticeReport()
    while True:
        owed = await notices.owed(BATCH)
        sent: list[int] = []
        try:
            for notice in owed:
                try:
                    text = notice_text(Translator(notice.language), notice)
                except LookupError as error:  # the row it tells of is gone, or a text not taking its values
                    gone = isinstance(error, SubjectGone)
                    await notices.undeliverable(notice, "subject_gone" if gone else "text_mismatch")
                    report.undeliverable += 1
                    continue
                try:
                    await bot.send_message(notice.chat_id, text)
                except (Forbidden, BadRequest) as error:
                    await notices.undeliverable(notice, type(error).__name__)
                    report.undeliverable += 1
                else:
                    sent.append(notice.notice_id)
        except TelegramError as error:
            report.deferred = len(owed) - len(sent) - report.undeliverable
            logger.warning("notices deferred to the next run: %s", type(error).__name__)
            await notices.sent(sent)
            report.sent += len(sent)
            return report
        await notices.sent(sent)
        report.sent += len(sent)
        if len(owed) < BATCH:
            return report


async def _notice_job(context: BotContext) -> None:
    bot_services = services(context)
    if bot_services.notices is None:
        return
    try:
        report = await send_owed_notices(context.bot, bot_services.notices)
    except Exception as error:  # the next run tries again
        logger.error("chat notices failed: %s", type(error).__name__)
        return
    if report.sent or report.undeliverable or report.deferred:
        logger.info(
            "chat notices: %d sent, %d undeliverable, %d deferred",
            report.sent,
            report.undeliverable,
            report.deferred,
        )


def schedule_notice_job(application: Application, interval_seconds: float = 60) -> None:
    if application.job_queue is None:  # pragma: no cover - the job-queue extra is a dependency
        raise RuntimeError("python-telegram-bot[job-queue] is needed for the chat notices")
    application.job_queue.run_repeating(
        alone(JOB_NAME, _notice_job), interval=interval_seconds, first=5, name=JOB_NAME
    )
