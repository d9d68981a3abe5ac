"""Publicity end to end: the real PTB Application and sender through the stand-in."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

from telegram import Bot
from telegram.request import HTTPXRequest

from app.serve import serving
from app.settings import Settings
from app.wiring import open_runtime
from bot.application import build_application
from bot.publicity_jobs import telegram_send
from content.publicity.sender import CampaignSender
from content.publicity.service import Segment
from demo.standin.client import StandinClient
from demo.standin.server import running_standin
from tests.e2e.harness import TOKEN, BotStack, inline_labels, running_bot
from tests.publicity.helpers import STAFF_USER, add_staff


async def _until(predicate, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def _retiree(stack, chat_id: int):
    user = stack.user(chat_id)
    await user.say("/start")
    await user.tap("English")
    await user.tap("👵 Retiree (or family)")
    return user


def _texts(messages, text: str) -> int:
    return sum(1 for m in messages if m.get("from_bot") and m.get("text") == text)


@asynccontextmanager
async def plain_bot(stack):
    """A PTB Bot without PTB's rate limiter: the sender alone obeys the limits."""
    bot = Bot(
        TOKEN,
        base_url=stack.standin.bot_base_url,
        base_file_url=stack.standin.file_base_url,
        request=HTTPXRequest(connection_pool_size=8),
    )
    async with bot:
        yield bot


async def test_library_subscription_and_a_campaign_delivered_once(database_url, tmp_path):
    async with running_bot(database_url, tmp_path / "var") as stack:
        publicity = stack.runtime.bot_services.publicity
        subscriber = await _retiree(stack, 820001)
        other = await _retiree(stack, 820002)
        assert "📰 Articles and news" in await subscriber.keyboard_labels()

        [library] = await subscriber.tap("📰 Articles and news")
        assert inline_labels(library) == ["✅ Certification", "⚠️ False claiming", "🔔 My subscriptions"]
        [topic] = await subscriber.tap("⚠️ False claiming")
        [article] = await subscriber.tap(inline_labels(topic)[0])
        assert "2 to 5 times" in article["text"] and "Art. 88" in article["text"]

        [toggles] = await subscriber.tap("🔔 My subscriptions")
        await stack.client.press(subscriber.chat_id, "➕ ✅ Certification (tap to receive)")
        await _until(lambda: _has_topic(publicity, 820001))

        await add_staff(stack.runtime.uow_factory)
        campaign_id = await publicity.create(
            STAFF_USER, "certification", "Certify by 31 May, from home.", Segment()
        )
        assert (await publicity.preview(STAFF_USER, campaign_id)).audience == 1
        await publicity.schedule(STAFF_USER, campaign_id)

        # The application's own job sends it.
        await _until(lambda: _done(publicity, campaign_id), within=20)
        await asyncio.sleep(0.5)
        assert _texts(await stack.client.messages(820001), "Certify by 31 May, from home.") == 1
        assert _texts(await stack.client.messages(other.chat_id), "Certify by 31 May, from home.") == 0
        stats = await publicity.stats(campaign_id)
        assert (stats.sent, stats.pending) == (1, 0)


async def _has_topic(publicity, user_id: int) -> bool:
    return "certification" in await publicity.topics_of(user_id)


async def _done(publicity, campaign_id: int) -> bool:
    [view] = [v for v in await publicity.campaigns(STAFF_USER) if v.id == campaign_id]
    return view.status == "done"


@asynccontextmanager
async def bot_without_jobs(database_url: str, var_dir):
    """As running_bot, but with no JobQueue jobs: the test drives the sender itself."""
    config = Settings(database_url=database_url, var_dir=var_dir)
    async with open_runtime(config) as runtime, running_standin(tokens=[TOKEN]) as standin:
        application = build_application(
            TOKEN,
            runtime.bot_services,
            base_url=standin.bot_base_url,
            base_file_url=standin.file_base_url,
            schedule_jobs=False,
        )
        polling = {"poll_interval": 0, "timeout": 5}
        async with serving(application, polling=polling), StandinClient(standin.base_url) as client:
            yield BotStack(standin, client, runtime)


async def test_blocked_chat_is_unsubscribed_and_429_slows_without_loss(database_url, tmp_path):
    async with bot_without_jobs(database_url, tmp_path / "var") as stack:
        uow_factory = stack.runtime.uow_factory
        publicity = stack.runtime.bot_services.publicity
        await add_staff(uow_factory)
        chats = [830001, 830002, 830003, 830004]
        for chat in chats:
            await stack.user(chat).say("/start")
            await publicity.subscribe(chat, "fraud")
        await stack.client.block(830002)
        await stack.client.inject_fault("sendMessage", 429, retry_after=1, count=1)
        campaign_id = await publicity.create(
            STAFF_USER, "fraud", "Report a death within 20 working days.", Segment()
        )
        async with plain_bot(stack) as bot:
            sender = CampaignSender(publicity, uow_factory, telegram_send(bot))
            started = time.monotonic()
            await publicity.schedule(STAFF_USER, campaign_id)
            report = await sender.run_once()
            elapsed = time.monotonic() - started
        assert report.retried == 1 and elapsed >= 1.0
        stats = await publicity.stats(campaign_id)
        assert (stats.sent, stats.blocked, stats.pending, stats.failed) == (3, 1, 0, 0)
        for chat in (830001, 830003, 830004):
            assert _texts(await stack.client.messages(chat), "Report a death within 20 working days.") == 1
        assert await publicity.topics_of(830002) == set()
        assert await publicity.topics_of(830001) == {"fraud"}


async def test_staff_compose_preview_schedule_pause_and_cancel(database_url, tmp_path):
    async with bot_without_jobs(database_url, tmp_path / "var") as stack:
        publicity = stack.runtime.bot_services.publicity
        staff_chat, citizen_chat = 840001, 840002
        staff = stack.user(staff_chat)
        await staff.say("/start")
        await add_staff(stack.runtime.uow_factory, user_id=staff_chat)

        [ask] = await staff.say("/campaign new")
        assert "要推送的内容" in ask["text"]
        [draft] = await staff.say("请在月底前完成资格认证。")
        assert "推送 #" in draft["text"] and "当前接收人数：0" in draft["text"]
        assert "👁 预览" in inline_labels(draft)
        [shown, choose] = await staff.tap("👁 预览", expect=2)
        assert shown["text"] == "请在月底前完成资格认证。"
        assert inline_labels(choose)[0] == "📤 立即发送"
        await stack.client.press(staff_chat, "🌅 明天 09:00")
        [view] = await publicity.campaigns(staff_chat)
        await _until(lambda: _status(publicity, staff_chat, view.id, "scheduled"))

        [listed] = await staff.say("/campaigns")
        assert "已安排" in listed["text"] and "待发送 0" in listed["text"]
        await stack.client.press(staff_chat, "⏸ 暂停")
        await _until(lambda: _status(publicity, staff_chat, view.id, "paused"))
        await stack.client.press(staff_chat, "✖️ 取消")
        await _until(lambda: _status(publicity, staff_chat, view.id, "cancelled"))

        citizen = stack.user(citizen_chat)
        await citizen.say("/start")
        [refused] = await citizen.say("/campaign new")
        assert "仅限社区和经办机构工作人员" in refused["text"]
        [refused] = await citizen.say("/campaigns")
        assert "仅限社区和经办机构工作人员" in refused["text"]


async def _status(publicity, staff_user: int, campaign_id: int, status: str) -> bool:
    return any(v.id == campaign_id and v.status == status for v in await publicity.campaigns(staff_user))
