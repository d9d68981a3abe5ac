"""The cycle through the real PTB Application and the stand-in Bot API: the status button,
and a reminder sweep (with a fake clock) reaching the retiree's and the helper's chats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram import Bot

from bot.reminders import send_due_reminders
from tests.cycle.factories import FakeClock, add_retiree, bind
from tests.e2e.harness import TOKEN, running_bot
from verification.cycle.policies import load_cycle_policies
from verification.cycle.rules import add_months
from verification.cycle.service import CycleService

RETIREE_CHAT, HELPER_CHAT = 830001, 830002


@pytest.fixture
async def bot_stack(database_url, tmp_path):
    async with running_bot(database_url, tmp_path / "var") as stack:
        yield stack


async def test_status_button_and_reminders_to_retiree_and_helper(bot_stack):
    runtime = bot_stack.runtime
    # Far enough ahead that the real job's own sweep (real clock) has nothing to send.
    due_on = runtime.bot_services.cycle.today() + timedelta(days=200)
    retiree_id = await add_retiree(
        runtime.uow_factory,
        runtime.vault,
        name="王秀兰",
        due_on=due_on,
        last_certified_on=add_months(due_on, -12),
    )

    retiree = bot_stack.user(RETIREE_CHAT)
    await retiree.say("/start")
    await retiree.tap("简体中文")
    await retiree.tap("👵 我是退休人员（或家属）")
    helper = bot_stack.user(HELPER_CHAT)
    await helper.say("/start")
    await bind(runtime.uow_factory, retiree_id, RETIREE_CHAT, kind="self")
    await bind(runtime.uow_factory, retiree_id, HELPER_CHAT, kind="helper")

    [status] = await retiree.tap("📅 我的认证状态")
    due_text = f"{due_on.year}年{due_on.month}月{due_on.day}日"
    assert "王秀兰" in status["text"] and due_text in status["text"]
    assert "✅" in status["text"] and "200 天" in status["text"]
    [by_command] = await helper.say("/status")
    assert "王秀兰（您帮助的老人）" in by_command["text"] and due_text in by_command["text"]

    clock = FakeClock(due_on - timedelta(days=7), 10, 0)
    cycle = CycleService(runtime.uow_factory, load_cycle_policies(), runtime.settings.timezone, clock)
    async with Bot(TOKEN, base_url=bot_stack.standin.bot_base_url) as bot:
        report = await send_due_reminders(bot, cycle)
        assert (report.sent, report.failed, report.deferred) == (2, 0, 0)
        assert (await send_due_reminders(bot, cycle)).sent == 0  # recorded: not again

    [to_retiree] = (await bot_stack.client.messages(RETIREE_CHAT))[-1:]
    assert "还有 7 天到期" in to_retiree["text"] and due_text in to_retiree["text"]
    assert "您的认证" in to_retiree["text"] and "开始认证" in to_retiree["text"]
    [to_helper] = (await bot_stack.client.messages(HELPER_CHAT))[-1:]
    assert "您帮助的王秀兰" in to_helper["text"] and "还有 7 天到期" in to_helper["text"]
