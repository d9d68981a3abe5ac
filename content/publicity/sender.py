"""The campaign sender: delivers running campaigns within Telegram's limits, and resumes
after a crash without sending anyone a campaign twice.

Each recipient has a delivery row, fixed when the campaign starts. Before a message goes
out its row is claimed (pending -> sending, committed); after, it is marked sent, failed
or blocked. A sender that starts finds rows still `sending` (a crash between the claim and
the mark): those may have reached the chat, so they become `uncertain` (counted, never sent
again). Everything still `pending` is sent on the next run.

Limits: at most `rate` messages a second overall and one a second per chat; a 429 answer's
retry_after holds every send for that long, then the same recipient is tried again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from content.publicity.service import PublicityService
from kernel.clock import utc_now
from storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)

TELEGRAM_RATE = 30.0  # messages a second, all chats together
PER_CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
BATCH = 30

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
    uncertain: int = 0  # found interrupted at start
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
    ) -> None:
        self._service = service
        self._uow = uow_factory
        self._send = send
        self.limiter = RateLimiter(rate, per_chat, monotonic, sleep)
        self._max_attempts = max_attempts
        self._monotonic = monotonic
        self._sleep = sleep
        self._recovered = False

    async def recover(self) -> int:
        """Once per sender, before its first send: settle what a dead sender left claimed."""
        async with self._uow() as uow:
            count = await uow.publicity.mark_interrupted()
            await uow.commit()
        self._recovered = True
        if count:
            logger.warning("publicity: %d deliveries interrupted by a crash marked uncertain", count)
        return count

    async def run_once(self, budget_seconds: float | None = None) -> SenderReport:
        """Send what is due, until done or the budget is spent (then `report.more`)."""
        report = SenderReport()
        if not self._recovered:
            report.uncertain = await self.recover()
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
                if campaign is None or campaign.status != "running":
                    return True
                text, photo = campaign.text, campaign.photo
                batch = [
                    (d.id, d.chat_id, d.telegram_user_id)
                    for d in await uow.publicity.pending(campaign_id, BATCH)
                ]
                if not batch:
                    campaign.status = "done"
                    campaign.finished_at = utc_now()
                    await uow.commit()
                    return True
            for delivery_id, chat_id, user_id in batch:
                if deadline is not None and self._monotonic() >= deadline:
                    return False
                await self.limiter.wait(chat_id)
                async with self._uow() as uow:
                    claimed = await uow.publicity.claim(delivery_id, utc_now())
                    await uow.commit()
                if not claimed:
                    continue
                status, error = await self._deliver(chat_id, text, photo, report)
                async with self._uow() as uow:
                    await uow.publicity.finish(delivery_id, status, utc_now(), error)
                    if status == "blocked":
                        await uow.publicity.unsubscribe(user_id)
                    await uow.commit()

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
