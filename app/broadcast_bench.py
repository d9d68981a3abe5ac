"""The campaign sender against the stand-in (`pension-bot bench broadcast`, app/commands/publicity.py).

Two runs, each on a fresh SQLite file and the stand-in Bot API on loopback, through a real
PTB Bot:
1. in this process: the duration against the theoretical minimum at the configured rate
   ((N-1)/rate: the first message at once, then one every 1/rate s), duplicates and losses;
2. the sender in a subprocess (`python -m app.publicity_worker`), killed with SIGKILL after
   about half the recipients, then started again: duplicates and losses counted per chat in
   the stand-in, and the delivery the crash left claimed (sent again by a later run once
   its lease has passed: content/publicity/sender.py).

`seed_audience` also serves the campaign part of `pension-bot bench faults`
(app/fault_bench_campaigns.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.publicity_jobs import telegram_send
from content.publicity.sender import CampaignSender
from content.publicity.service import PublicityService, Segment
from demo.standin.server import running_standin
from storage.db import create_engine, create_session_factory
from storage.models import BotUser
from storage.models.certification import StaffMember
from storage.schema import upgrade
from storage.uow import unit_of_work_factory

TOKEN = "7200000001:bench-broadcast"
TEXT = "📣 bench broadcast"
FIRST_CHAT = 5_000_000
STAFF_USER = 4_999_999
TARGET_OVERHEAD = 0.05


async def _prepare(database_url: str, recipients: int):
    engine = create_engine(database_url)
    await upgrade(engine)
    uow_factory = unit_of_work_factory(create_session_factory(engine))
    chats = list(range(FIRST_CHAT, FIRST_CHAT + recipients))
    await seed_audience(uow_factory, STAFF_USER, "BENCH", chats, "certification")
    service = PublicityService(uow_factory)
    campaign_id = await service.create(STAFF_USER, "certification", TEXT, Segment())
    return engine, uow_factory, service, campaign_id, chats


async def seed_audience(uow_factory, staff_user: int, staff_number: str, chats, topic: str) -> None:
    """For a campaign bench: a staff member who may send campaigns, and `chats` as retirees
    subscribed to `topic` (a chat is its user's id)."""
    async with uow_factory() as uow:
        uow.session.add(
            StaffMember(
                staff_number=staff_number,
                name=staff_number,
                region_code="110000",
                staff_code_hash="0" * 64,
                telegram_user_id=staff_user,
            )
        )
        uow.session.add_all(
            BotUser(telegram_user_id=chat, chat_id=chat, language="zh_Hans", role="retiree") for chat in chats
        )
        await uow.commit()
    async with uow_factory() as uow:
        for chat in chats:
            await uow.publicity.subscribe(chat, topic)
        await uow.commit()


def _delivered(state, chats) -> Counter:
    counts: Counter = Counter()
    for chat_id in chats:
        chat = state.chats.get(chat_id)
        if chat is not None:
            counts[chat_id] = sum(
                1 for m in chat.messages.values() if m.from_bot and m.data.get("text") == TEXT
            )
    return counts


def _quality(counts: Counter, chats) -> tuple[int, int]:
    duplicates = sum(max(0, counts.get(chat, 0) - 1) for chat in chats)
    losses = sum(1 for chat in chats if counts.get(chat, 0) == 0)
    return duplicates, losses


async def _normal_run(args, folder: Path) -> None:
    url = f"sqlite+aiosqlite:///{folder / 'normal.db'}"
    engine, uow_factory, service, campaign_id, chats = await _prepare(url, args.recipients)
    try:
        async with running_standin(tokens=[TOKEN]) as standin:
            for chat in chats:
                standin.state.open_chat(chat)
            request = HTTPXRequest(connection_pool_size=4)
            async with Bot(
                TOKEN, base_url=standin.bot_base_url, base_file_url=standin.file_base_url, request=request
            ) as bot:
                sender = CampaignSender(service, uow_factory, telegram_send(bot), rate=args.rate)
                await service.schedule(STAFF_USER, campaign_id)
                started = time.perf_counter()
                report = await sender.run_once()
                duration = time.perf_counter() - started
            counts = _delivered(standin.state, chats)
        stats = await service.stats(campaign_id)
    finally:
        await engine.dispose()
    minimum = (args.recipients - 1) / args.rate
    duplicates, losses = _quality(counts, chats)
    overhead = duration / minimum - 1 if minimum else 0.0
    print(f"normal run: {args.recipients} recipients at {args.rate:g} msg/s")
    print(
        f"  duration {duration:.3f} s, theoretical minimum {minimum:.3f} s, over by {overhead * 100:.2f} %"
        f" (target ≤ {TARGET_OVERHEAD * 100:.0f} %: {'met' if overhead <= TARGET_OVERHEAD else 'NOT met'})"
    )
    print(
        f"  duplicates {duplicates}, losses {losses}; sender sent {report.sent};"
        f" stats sent {stats.sent} failed {stats.failed} blocked {stats.blocked} pending {stats.pending}"
    )


async def _start_worker(url: str, base_url: str, rate: float) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.publicity_worker",
        "--database-url",
        url,
        "--token",
        TOKEN,
        "--base-url",
        base_url,
        "--rate",
        str(rate),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


async def _killed_run(args, folder: Path) -> None:
    url = f"sqlite+aiosqlite:///{folder / 'killed.db'}"
    engine, uow_factory, service, campaign_id, chats = await _prepare(url, args.recipients)
    await service.schedule(STAFF_USER, campaign_id)
    kill_after = max(1, int(args.recipients * args.kill_at))
    try:
        async with running_standin(tokens=[TOKEN]) as standin:
            for chat in chats:
                standin.state.open_chat(chat)
            started = time.perf_counter()
            first = await _start_worker(url, standin.bot_base_url, args.rate)
            first_message = None
            while True:
                delivered = sum(_delivered(standin.state, chats).values())
                if first_message is None and delivered:
                    first_message = time.perf_counter()
                if delivered >= kill_after or first.returncode is not None:
                    break
                await asyncio.sleep(0.005)
            first.send_signal(signal.SIGKILL)
            await first.wait()
            at_kill = sum(_delivered(standin.state, chats).values())
            killed_at = time.perf_counter()
            second = await _start_worker(url, standin.bot_base_url, args.rate)
            waiting = asyncio.ensure_future(second.communicate())
            while True:
                if waiting.done() or sum(_delivered(standin.state, chats).values()) > at_kill:
                    break
                await asyncio.sleep(0.005)
            gap = time.perf_counter() - killed_at
            out, err = await waiting
            duration = time.perf_counter() - started
            if second.returncode != 0:
                print(err.decode(errors="replace")[-2000:], file=sys.stderr)
            counts = _delivered(standin.state, chats)
        stats = await service.stats(campaign_id)
    finally:
        await engine.dispose()
    duplicates, losses = _quality(counts, chats)
    minimum = (args.recipients - 1) / args.rate
    print(f"killed run: sender SIGKILLed after {at_kill} of {args.recipients} deliveries, then restarted")
    print(
        f"  duration {duration:.3f} s (theoretical minimum {minimum:.3f} s), of which {gap:.3f} s from the"
        " kill to the restarted sender's first message (process start-up, recovery)"
    )
    sending = duration - gap - ((first_message or started) - started)
    print(f"  sending time (first message to last, less the restart gap) {sending:.3f} s")
    print(
        f"  duplicates {duplicates}, losses {losses}; stats sent {stats.sent} failed {stats.failed}"
        f" blocked {stats.blocked} uncertain {stats.uncertain} pending {stats.pending}"
    )
    if losses:
        print("  (a loss here is a delivery claimed when the process died: sent again after its lease)")


async def bench_broadcast(args) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as folder:
        await _normal_run(args, Path(folder))
        if not args.no_kill:
            await _killed_run(args, Path(folder))
    return 0
