"""The campaign sender: delivers running campaigns within Telegram's limits, and resumes
after a crash or a database outage without losing anyone.

Each recipient has a delivery row, fixed when the campaign starts. Before a message goes
out its row is claimed (pending -> sending, committed, with the time: a lease); after, it
is marked sent, failed or blocked.

When the mark cannot be written (the database went away after Telegram answered), the
sender keeps the outcome in memory and writes it first thing on its next run: a message
known to have been sent is never sent again. A row still `sending` once its lease has
expired (`lease`, 5 minutes by default: far longer than one send with its retries) was
left by a sender that died or was cancelled mid-send, or whose claim was committed without
it knowing; whether its message reached the chat cannot be known (Telegram has no
idempotency key), so it goes back to `pending` and is sent again: at least once, since a
reminder sent twice does far less harm than one never sent. A row that keeps getting
stuck is given up as `uncertain` after `max_claims` claims. This recovery runs on every
run of the sender (at most every `recover_every`), not only when it starts, and a
campaign is only done when none of its rows is pending or sending.

Limits: at most `rate` messages a second overall and one a second per chat; a 429 answer's
retry_after holds every send for that long, then the same recipient is tried again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from content.publicity.service import PublicityService
from storage.models.publicity import CampaignStatus
from storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)

TELEGRAM_RATE = 30.0  # messages a second, all chats together
PER_CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
BATCH = 30
LEASE = timedelta(minutes=5)  # a claimed row not marked by then is sent again
MAX_CLAIMS = 3  # claims of one row before it is given up as uncertain

Send = Callable[[int, str, str | None], Awaitable[None]]


class Blocked(Exception):
    """The chat blocked the bot (403): the person is unsubscribed."""


class Refused(Exception):
    """Telegram refused this chat for good (chat not found, ...)."""


class RetryLater(Exception):
    """429: wait `retry_after` seconds, then send again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class Transient(Exception):
    """A network error or timeout: may pass."""


class RateLimiter:
    """Spaces sends: 1/rate seconds apart overall, `per_chat` seconds apart in one chat."""

    def __init__(
        self,
        rate: float = TELEGRAM_RATE,
        per_chat: float = PER_CHAT_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.per_chat = per_chat
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0
        self._last_in_chat: dict[int, float] = {}

    async def wait(self, chat_id: int) -> None:
        while True:
            now = self._monotonic()
            slot = max(self._next, self._last_in_chat.get(chat_id, -1e18) + self.per_chat)
            if slot <= now:
                break
            await self._sleep(slot - now)
        # Keep to the grid of slots (a sleep wakes a little late: not drifting keeps the
        # rate), unless idle time has left the grid behind.
        self._next = max(slot, now - self.interval / 2) + self.interval
        self._last_in_chat[chat_id] = now
        if len(self._last_in_chat) > 10_000:  # forget chats whose second has long passed
            self._last_in_chat = {c: t for c, t in self._last_in_chat.items() if now - t < self.per_chat}

    def hold(self, seconds: float) -> None:
        self._next = max(self._next, self._monotonic() + seconds)


@dataclass
class SenderReport:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    retried: int = 0  # 429 answers obeyed
    uncertain: int = 0  # left `sending` past their lease too often: given up
    requeued: int = 0  # left `sending` past their lease: to be sent again
    recorded_late: int = 0  # outcomes kept in memory through an outage, now written
    more: bool = False  # stopped by the time budget with work left


class CampaignSender:
    def __init__(
        self,
        service: PublicityService,
        uow_factory: UnitOfWorkFactory,
        send: Send,
        *,
        rate: float = TELEGRAM_RATE,
        per_chat: float = PER_CHAT_INTERVAL,
        max_attempts: int = 5,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] | None = None,
        lease: timedelta = LEASE,
        max_claims: int = MAX_CLAIMS,
        recover_every: timedelta | None = None,
    ) -> None:
        self._service = service
        self._uow = uow_factory
        self._send = send
        self.limiter = RateLimiter(rate, per_chat, monotonic, sleep)
        self._max_attempts = max_attempts
        self._monotonic = monotonic
        self._sleep = sleep
        self._now = clock or service.now
        self.lease = lease
        self._max_claims = max_claims
        # Recovery scans every claimed row: often enough to notice a lease within a fifth of it.
        self._recover_every = lease / 5 if recover_every is None else recover_every
        self._last_recovery: datetime | None = None
        # delivery id -> (status, error, telegram user id, when): sent, their mark not written.
        self._unrecorded: dict[int, tuple[str, str | None, int, datetime]] = {}

    async def recover(self) -> tuple[int, int]:
        """Rows claimed longer than the lease ago back to pending (or given up): (requeued,
        given up). Run by `run_once` at most every `recover_every`."""
        now = self._now()
        async with self._uow() as uow:
            requeued, given_up = await uow.publicity.recover_expired(now - self.lease, self._max_claims)
            await uow.commit()
        self._last_recovery = now
        if requeued or given_up:
            logger.warning(
                "publicity: %d deliveries past their lease to be sent again, %d given up as uncertain",
                requeued,
                given_up,
            )
        return requeued, given_up

    async def _record_unrecorded(self) -> int:
        """Write the outcomes an outage kept in memory (raises while the database is away)."""
        written = 0
        for delivery_id, (status, error, user_id, at) in list(self._unrecorded.items()):
            async with self._uow() as uow:
                await uow.publicity.finish(delivery_id, status, at, error)
                if status == "blocked":
                    await uow.publicity.unsubscribe(user_id)
                await uow.commit()
            del self._unrecorded[delivery_id]
            written += 1
        return written

    async def flush_outcomes(self, patience: float, pause: float = 1.0) -> bool:
        """Keep trying, for up to `patience` seconds, to write the outcomes held in memory: a
        sender about to exit must not forget a message it knows reached the chat (its row
        would be sent again once its lease expired). True once nothing is left unwritten."""
        deadline = self._monotonic() + patience
        while self._unrecorded:
            try:
                await self._record_unrecorded()
            except Exception as error:  # noqa: BLE001 - the database is away: try again shortly
                if self._monotonic() >= deadline:
                    logger.error(
                        "publicity: %d outcome(s) not written (%s); they will be sent again",
                        len(self._unrecorded),
                        type(error).__name__,
                    )
                    return False
                await asyncio.sleep(pause)
        return True

    async def run_once(self, budget_seconds: float | None = None) -> SenderReport:
        """Send what is due, until done or the budget is spent (then `report.more`)."""
        report = SenderReport()
        report.recorded_late = await self._record_unrecorded()
        if self._last_recovery is None or self._now() - self._last_recovery >= self._recover_every:
            report.requeued, report.uncertain = await self.recover()
        deadline = None if budget_seconds is None else self._monotonic() + budget_seconds
        for campaign_id in await self._service.start_due():
            if not await self._run_campaign(campaign_id, report, deadline):
                report.more = True
                break
        return report

    async def _run_campaign(self, campaign_id: int, report: SenderReport, deadline: float | None) -> bool:
        """True when the campaign is finished (or not running); False when out of time."""
        while True:
            async with self._uow() as uow:
                campaign = await uow.publicity.campaign(campaign_id)
                if campaign is None or campaign.status != CampaignStatus.RUNNING:
                    return True
                text, photo = campaign.text, campaign.photo
                batch = [
                    (d.id, d.chat_id, d.telegram_user_id)
                    for d in await uow.publicity.pending(campaign_id, BATCH)
                ]
                if not batch:
                    if await uow.publicity.in_flight(campaign_id):
                        return True  # not done: a claimed row is sent, marked or recovered first
                    campaign.status = CampaignStatus.DONE
                    campaign.finished_at = self._now()
                    await uow.commit()
                    return True
            for delivery_id, chat_id, user_id in batch:
                if deadline is not None and self._monotonic() >= deadline:
                    return False
                await self.limiter.wait(chat_id)
                async with self._uow() as uow:
                    claimed = await uow.publicity.claim(delivery_id, self._now())
                    await uow.commit()
                if not claimed:
                    continue
                status, error = await self._deliver(chat_id, text, photo, report)
                # Kept until written: if the database is away now, the next run writes it
                # (and the lease recovery never sees this row, since that runs after).
                self._unrecorded[delivery_id] = (status, error, user_id, self._now())
                await self._record_unrecorded()

    async def _deliver(self, chat_id: int, text: str, photo: str | None, report: SenderReport):
        attempts = 0
        while True:
            attempts += 1
            try:
                await self._send(chat_id, text, photo)
            except RetryLater as wait:
                report.retried += 1
                self.limiter.hold(wait.retry_after)
                await self.limiter.wait(chat_id)
                continue
            except Blocked:
                report.blocked += 1
                return "blocked", "blocked"
            except Refused:
                report.failed += 1
                return "failed", "refused"
            except Transient:
                if attempts >= self._max_attempts:
                    report.failed += 1
                    return "failed", "transient"
                await self._sleep(min(2.0**attempts, 30.0))
                await self.limiter.wait(chat_id)
                continue
            report.sent += 1
            return "sent", None
