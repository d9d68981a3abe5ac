"""The campaign part of `pension-bot bench faults`: a campaign sender killed with SIGKILL while
it sends, and a campaign sent across the database outage.

The sender is `python -m app.publicity_worker` (content/publicity/sender.py: each delivery
claimed with a lease before it goes out, marked after; a row left claimed past its lease is
sent again, given up as `uncertain` after three claims). It sends every due campaign and
exits; the bench starts it again, as a timer would, while a campaign is not done, and at
once after each SIGKILL. Its lease is shortened (`lease_seconds`) so that a delivery a kill
left claimed is sent again within the bench's run, not five minutes later.

The campaigns live on a database of their own (same server, behind the same proxy as the
bot's, so the outage cuts both): on the bot's database the bot's own JobQueue sender would
send them too, and a deployment runs one sender or the other, not both.

Two campaigns to the same subscribers, one in fifty of whom has blocked the bot (their
delivery is marked `blocked`: a true reason to get nothing): campaign 1 while the sender is
killed at seeded random deliveries, campaign 2 started before the outage and cut half-way.
Counted per recipient from the stand-in's chats: lost (got nothing, and not marked blocked
for a chat that did block the bot) and duplicated (got it twice or more).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from app.broadcast_bench import seed_audience
from content.publicity.service import PublicityService, Segment
from demo.standin.client import StandinClient
from demo.standin.server import RunningStandin
from storage.db import create_engine, create_session_factory
from storage.models.publicity import PublicityCampaign, PublicityDelivery
from storage.schema import upgrade
from storage.uow import unit_of_work_factory

TOPIC = "certification"
TEXTS = (
    "📣 故障演练 活动一：今年的资格认证可以在机器人里自助完成",
    "📣 故障演练 活动二：请在到期前完成资格认证",
)
STAFF_USER = 7_300_000
FIRST_SUBSCRIBER = 7_300_001
BLOCKED_EVERY = 50  # one subscriber in fifty has blocked the bot
# A timer's pace: a sender that finished (or waits for a lease) runs again a second later; one
# that failed (the database away) a few seconds later, not in a tight loop.
RESTART_AFTER_EXIT = 1.0
RESTART_AFTER_FAILURE = 3.0
PROGRESS_POLL = 0.01  # how often the kill and cut triggers look at the deliveries
# A kill (or the cut) falls at a random point this long after its trigger delivery was seen:
# several send cycles (one is 1/rate s, longer on a loaded machine), so that it lands at a
# random point of the cycle, in the claim, the send, the mark or the wait between, and not
# mostly just after a delivery, where the send-to-mark window is.
FAULT_SPREAD = 0.25


class SenderProcess:
    """`python -m app.publicity_worker` against the stand-in, killed and started again on demand."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self._command = command
        self._env = env
        self._cwd = cwd
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.exits = 0  # finished with work left (a lease to wait for), started again
        self.failures = 0  # stopped by an error (the database away), started again
        self._killing = False
        self._noted: subprocess.Popen | None = None

    def running(self) -> bool:
        return self._alive() is not None

    def _alive(self) -> subprocess.Popen | None:
        """The sender's process while it runs."""
        return self.process if self.process is not None and self.process.poll() is None else None

    def start(self) -> None:
        if self.running():
            return
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a fast fork; the bench waits on it below
            self._command, cwd=self._cwd, env=self._env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.starts += 1

    async def supervise(self, still_open: Callable[[], Awaitable[bool]]) -> None:
        """Starts the sender again after it stopped, while a campaign is not done. Runs until
        cancelled."""
        while True:
            await asyncio.sleep(0.25)
            process = self.process
            if self._killing or process is None or process.poll() is None or process is self._noted:
                continue
            self._noted = process
            failed = process.returncode != 0
            await asyncio.sleep(RESTART_AFTER_FAILURE if failed else RESTART_AFTER_EXIT)
            if not self._killing and not self.running() and await still_open():
                self.failures += failed
                self.exits += not failed
                self.start()

    async def kill_and_restart(self) -> None:
        process = self._alive()
        if process is None:
            return
        self._killing = True  # the bench starts it again itself, not the supervisor
        try:
            process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(process.wait)
            self._noted = process
            self.start()
        finally:
            self._killing = False

    async def stop(self) -> None:
        process = self._alive()
        if process is not None:
            process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(process.wait)


@dataclass
class CampaignFigures:
    """One campaign, counted per recipient."""

    label: str
    recipients: int = 0  # subscribers it was for (its delivery rows, and anyone missing one)
    received: int = 0  # got it (once or more)
    blocked: int = 0  # got nothing, had blocked the bot, and their row says so
    lost: int = 0
    duplicated: int = 0  # recipients who got it twice or more
    rows: dict[str, int] = field(default_factory=dict)  # delivery rows by status
    before_cut: int | None = None  # recipients who had it when the database went away

    def line(self) -> str:
        rows = ", ".join(f"{status} {count}" for status, count in sorted(self.rows.items()))
        return (
            f"  {self.label:<17} {self.received}/{self.recipients} received, {self.blocked} blocked "
            f"(a true reason), {self.lost} lost, {self.duplicated} twice; rows: {rows}"
            + ("" if self.before_cut is None else f"; {self.before_cut} had it before the cut")
        )


@dataclass
class CampaignReport:
    campaigns: list[CampaignFigures] = field(default_factory=list)
    kills: int = 0
    exits: int = 0
    failures: int = 0
    lease_seconds: float = 0.0
    rate: float = 0.0

    @property
    def lost(self) -> int:
        return sum(c.lost for c in self.campaigns)

    @property
    def duplicated(self) -> int:
        return sum(c.duplicated for c in self.campaigns)


class CampaignBench:
    """The subscribers, the two campaigns and their sender, on the campaigns' database."""

    def __init__(
        self,
        *,
        database_url: str,
        sender_url: str,
        standin: RunningStandin,
        token: str,
        recipients: int,
        rate: float,
        lease_seconds: float,
        seed: int,
        env: dict[str, str],
        cwd: Path,
        log_path: Path,
    ) -> None:
        self._engine = create_engine(database_url)
        self._uow_factory = unit_of_work_factory(create_session_factory(self._engine))
        self._service = PublicityService(self._uow_factory)
        self._standin = standin
        # Its own random stream: the bot's traffic draws from another, concurrently.
        self._rng = random.Random(f"{seed}/campaigns")
        self.rate = rate
        self.lease_seconds = lease_seconds
        self.subscribers = [FIRST_SUBSCRIBER + index for index in range(recipients)]
        self.blocked = set(self.subscribers[BLOCKED_EVERY - 1 :: BLOCKED_EVERY])
        self.campaign_ids: list[int] = []
        self.kills = 0
        self.delivered_before_cut: int | None = None
        self.sender = SenderProcess(
            [
                sys.executable,
                "-m",
                "app.publicity_worker",
                "--database-url",
                sender_url,
                "--token",
                token,
                "--base-url",
                standin.bot_base_url,
                "--rate",
                str(rate),
                "--lease-seconds",
                str(lease_seconds),
            ],
            env,
            cwd,
            log_path,
        )
        self._supervisor: asyncio.Task | None = None

    async def prepare(self) -> None:
        """Schema, a staff member, the subscribers (their chats open in the stand-in, some
        blocked) and the two campaigns as drafts."""
        await upgrade(self._engine)
        await seed_audience(self._uow_factory, STAFF_USER, "FAULTS", self.subscribers, TOPIC)
        for chat in self.subscribers:
            self._standin.state.open_chat(chat)
            if chat in self.blocked:
                self._standin.state.set_blocked(chat, True)
        for text in TEXTS:
            self.campaign_ids.append(await self._service.create(STAFF_USER, TOPIC, text, Segment()))
        self._supervisor = asyncio.create_task(self.sender.supervise(self.still_open))

    async def still_open(self) -> bool:
        """A campaign scheduled or running: the sender has work (or a lease to wait for)."""
        async with self._uow_factory() as uow:
            query = select(func.count()).where(PublicityCampaign.status.in_(("scheduled", "running")))
            return bool((await uow.session.execute(query)).scalar_one())

    async def _launch(self, index: int) -> None:
        await self._service.schedule(STAFF_USER, self.campaign_ids[index])
        self.sender.start()

    def delivered(self, index: int) -> int:
        """Recipients who have campaign `index` in their chat now (read in this process)."""
        text = TEXTS[index]
        chats = self._standin.state.chats
        return sum(
            1
            for chat in self.subscribers
            if chat in chats
            and any(m.from_bot and m.data.get("text") == text for m in chats[chat].messages.values())
        )

    async def _reached(self, index: int, count: int, give_up_after: float) -> bool:
        deadline = time.monotonic() + give_up_after
        while self.delivered(index) < count:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(PROGRESS_POLL)
        return True

    async def under_kills(self, kills: int, give_up_after: float = 60.0) -> None:
        """Campaign 1, the sender killed `kills` times once it reached seeded random numbers of
        deliveries, each at a random point of the send cycle (FAULT_SPREAD)."""
        await self._launch(0)
        deliverable = len(self.subscribers) - len(self.blocked)
        kills = min(kills, max(0, deliverable - 1))
        thresholds = sorted(self._rng.sample(range(1, max(2, deliverable)), kills))
        for threshold in thresholds:
            # Never during the restarted sender's start-up: it has sent again first.
            threshold = max(threshold, self.delivered(0) + 1)
            if not await self._reached(0, threshold, give_up_after):
                break  # the sender stalled: counted below as what it is, not waited for forever
            await asyncio.sleep(self._rng.uniform(0.0, max(FAULT_SPREAD, 5.0 / self.rate)))
            await self.sender.kill_and_restart()
            self.kills += 1

    async def before_outage(self, minimum_seconds: float, give_up_after: float = 30.0) -> None:
        """Campaign 2 started; returns once it is part-way (a seeded share of 20-50 % of its
        recipients reached) and at least `minimum_seconds` have passed: then the cut."""
        started = time.monotonic()
        await self._launch(1)
        deliverable = len(self.subscribers) - len(self.blocked)
        target = max(1, round(deliverable * self._rng.uniform(0.2, 0.5)))
        await self._reached(1, target, give_up_after)
        # At a random point of the send cycle, as the kills: not just after a delivery.
        await asyncio.sleep(self._rng.uniform(0.0, max(FAULT_SPREAD, 5.0 / self.rate)))
        await asyncio.sleep(max(0.0, started + minimum_seconds - time.monotonic()))
        self.delivered_before_cut = self.delivered(1)

    async def done(self) -> bool:
        return not await self.still_open()

    async def count(self, client: StandinClient) -> CampaignReport:
        report = CampaignReport(
            kills=self.kills,
            exits=self.sender.exits,
            failures=self.sender.failures,
            lease_seconds=self.lease_seconds,
            rate=self.rate,
        )
        copies: dict[int, Counter[str | None]] = {chat: Counter() for chat in self.subscribers}
        for chat in self.subscribers:
            for message in await client.messages(chat):
                if message["from_bot"]:
                    copies[chat][message.get("text")] += 1
        for index, campaign_id in enumerate(self.campaign_ids):
            figures = await self._count_one(campaign_id, TEXTS[index], copies)
            figures.label = f"campaign {index + 1}"
            if index == 1:
                figures.before_cut = self.delivered_before_cut
            report.campaigns.append(figures)
        return report

    async def _count_one(self, campaign_id: int, text: str, copies: dict[int, Counter]) -> CampaignFigures:
        async with self._uow_factory() as uow:
            query = select(PublicityDelivery.chat_id, PublicityDelivery.status).where(
                PublicityDelivery.campaign_id == campaign_id
            )
            status_of = dict((await uow.session.execute(query)).all())
        # Whoever has a row, and every subscriber who never blocked the bot (still subscribed,
        # so the campaign was for them whether or not a row was made).
        recipients = set(status_of) | (set(self.subscribers) - self.blocked)
        rows = dict(Counter(status_of.values()))
        figures = CampaignFigures(label="", recipients=len(recipients), rows=rows)
        for chat in recipients:
            got = copies[chat][text]
            if got:
                figures.received += 1
            elif chat in self.blocked and status_of.get(chat) == "blocked":
                figures.blocked += 1
            else:
                figures.lost += 1
            figures.duplicated += got > 1
        return figures

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self.sender.stop()
        await self._engine.dispose()
