"""The campaign sender as a process of its own: `python -m app.publicity_worker`.

Sends every due campaign through a plain PTB Bot (the sender alone keeps to Telegram's
limits), then exits. Used by `pension-bot bench broadcast` to kill a sender mid-campaign
and start it again; a deployment may run it beside the bot instead of the JobQueue job.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.publicity_jobs import telegram_send
from content.publicity.sender import LEASE, TELEGRAM_RATE, CampaignSender
from content.publicity.service import PublicityService
from storage.db import create_engine, create_session_factory
from storage.uow import unit_of_work_factory

# How long a sender that is about to exit keeps trying to write what it knows it sent.
OUTCOME_PATIENCE_SECONDS = 120.0


async def run(
    database_url: str, token: str, base_url: str | None, rate: float, lease_seconds: float = 300.0
) -> None:
    engine = create_engine(database_url)
    try:
        uow_factory = unit_of_work_factory(create_session_factory(engine))
        service = PublicityService(uow_factory)
        options: dict[str, Any] = (
            {"base_url": base_url, "base_file_url": base_url.replace("/bot", "/file/bot")} if base_url else {}
        )
        async with Bot(token, request=HTTPXRequest(connection_pool_size=4), **options) as bot:
            sender = CampaignSender(
                service, uow_factory, telegram_send(bot), rate=rate, lease=timedelta(seconds=lease_seconds)
            )
            try:
                report = await sender.run_once()
            finally:
                # An outage may have stopped the run after Telegram took a message: its mark
                # is written before the process goes, or that recipient would get it twice.
                await sender.flush_outcomes(patience=OUTCOME_PATIENCE_SECONDS)
        print(
            f"sent {report.sent} failed {report.failed} blocked {report.blocked} uncertain {report.uncertain}"
            f" requeued {report.requeued}"
        )
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--base-url", help="a Bot API base URL ending in /bot (default: Telegram)")
    parser.add_argument("--rate", type=float, default=TELEGRAM_RATE)
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=LEASE.total_seconds(),
        help="a delivery claimed longer ago and not marked is sent again (default: %(default)s)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(run(args.database_url, args.token, args.base_url, args.rate, args.lease_seconds))


if __name__ == "__main__":
    main()
