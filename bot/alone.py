"""Timed jobs that must run in one process at a time across a deployment's schedulers: each
run holds the job's lock (storage/job_locks.py via BotServices.job_locks), and a process that
does not get it skips that tick; the holder's next tick comes soon enough."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.context import BotContext
from bot.services import services

logger = logging.getLogger(__name__)

Job = Callable[[BotContext], Awaitable[None]]


async def run_alone(name: str, context: BotContext, work: Callable[[], Awaitable[None]]) -> bool:
    """Runs `work` if this process holds the job's lock now; returns whether it ran."""
    locks = services(context).job_locks
    if locks is None:
        await work()
        return True
    try:
        async with locks.hold(name) as mine:
            if mine:
                await work()
            return mine
    except Exception as error:  # the database is away: the next tick tries again
        logger.error("job %s not run: its lock could not be taken (%s)", name, type(error).__name__)
        return False


def alone(name: str, job: Job) -> Job:
    """`job` wrapped so that one process at a time runs it."""

    async def run(context: BotContext) -> None:
        await run_alone(name, context, lambda: job(context))

    return run
