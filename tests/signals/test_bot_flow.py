"""Through the real PTB Application and the stand-in Bot API: a feed imported beside the bot
certifies a retiree silently and the notice job tells the retiree and the helper; the retiree
turns data matching off in 🔒 and the next feed's row for them is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from telegram import Bot

from bot.notices import send_owed_notices
from storage.models.signals import LifeSignal
from tests.cycle.factories import bind
from tests.e2e.harness import TOKEN, running_bot
from tests.signals.factories import add_retiree, write_feed

RETIREE_CHAT, HELPER_CHAT = 840001, 840002


@pytest.fixture
async def bot_stack(database_url, tmp_path):
    async with running_bot(database_url, tmp_path / "var") as stack:
        yield stack


async def test_silent_certification_reaches_the_chats_and_data_matching_can_be_turned_off(
    bot_stack, tmp_path
):
    runtime = bot_stack.runtime
    today = runtime.bot_services.cycle.today()
    retiree_id, number = await add_retiree(
        runtime.uow_factory, runtime.vault, name="李桂芳", due_on=today + timedelta(days=20)
    )
    retiree = bot_stack.user(RETIREE_CHAT)
    await retiree.say("/start")
    await retiree.tap("简体中文")
    await retiree.tap("👵 我是退休人员（或家属）")
    helper = bot_stack.user(HELPER_CHAT)
    await helper.say("/start")
    await bind(runtime.uow_factory, retiree_id, RETIREE_CHAT, kind="self")
    await bind(runtime.uow_factory, retiree_id, HELPER_CHAT, kind="helper")

    seen_on = today - timedelta(days=2)
    feed = write_feed(tmp_path / "yb.csv", [(number, seen_on.isoformat())])
    report = await runtime.feeds.import_file(feed, "medical_settlement")
    assert report.certified == 1
    async with Bot(TOKEN, base_url=bot_stack.standin.bot_base_url) as bot:
        await send_owed_notices(bot, runtime.bot_services.notices)
        assert (await send_owed_notices(bot, runtime.bot_services.notices)).sent == 0  # once only

    to_retiree = (await bot_stack.client.messages(RETIREE_CHAT))[-1]["text"]
    assert "医保就医结算" in to_retiree and "无需再做任何操作" in to_retiree
    assert f"{seen_on.year}年{seen_on.month}月{seen_on.day}日" in to_retiree
    to_helper = (await bot_stack.client.messages(HELPER_CHAT))[-1]["text"]
    assert "李桂芳 已通过医保就医结算记录" in to_helper and "无需操作" in to_helper

    [privacy] = await retiree.tap("🔒 我的信息")
    assert "数据比对认证：已开启" in privacy["text"]
    [changed] = await retiree.tap("🔕 不用数据比对认证")
    assert "已关闭数据比对认证" in changed["text"]
    async with runtime.uow_factory() as uow:  # the signals kept so far are deleted
        assert await uow.session.scalar(select(func.count()).select_from(LifeSignal)) == 0

    later = await runtime.feeds.import_file(
        write_feed(tmp_path / "bank.csv", [(number, today.isoformat())]), "bank_counter"
    )
    assert [(r.row, r.code) for r in later.refused] == [(2, "opted_out")]
    [privacy] = await retiree.tap("🔒 我的信息")
    assert "数据比对认证：已关闭" in privacy["text"]
