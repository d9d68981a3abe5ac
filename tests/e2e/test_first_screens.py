"""The first screens through the real PTB Application and the stand-in."""

from __future__ import annotations

from telegram import Bot

from tests.e2e.harness import TOKEN, inline_labels

RETIREE_CHAT = 810001


async def test_start_language_role_and_main_menu(bot_stack):
    user = bot_stack.user(RETIREE_CHAT)
    [greeting] = await user.say("/start")
    assert "请先选择语言" in greeting["text"]
    assert inline_labels(greeting) == ["简体中文", "English"]

    replies = await user.tap("English")
    assert replies[-1]["text"].startswith("Who are you?")
    assert (await user.message(greeting["message_id"]))["text"].startswith("Done. I will write in English")

    replies = await user.tap("👵 Retiree (or family)")
    assert "Welcome!" in replies[-1]["text"]
    labels = await user.keyboard_labels()
    assert labels[:3] == ["✅ Certify now", "📅 My certification", "🔗 Link my record"]
    assert "📋 How to certify" in labels and "🌐 Language 语言" in labels
    [guide] = await user.tap("📋 How to certify")
    assert "12 months" in guide["text"] and "2018" in guide["text"]

    profile = await bot_stack.runtime.bot_services.profiles.profile(RETIREE_CHAT)
    assert (profile.language, profile.role.value) == ("en", "retiree")


async def test_chinese_is_the_default_and_menus_follow_the_role(bot_stack):
    user = bot_stack.user(810002)
    await user.say("/start")
    await user.tap("简体中文")
    [welcome] = await user.tap("🏢 我是用人单位经办人")
    assert "欢迎" in welcome["text"]
    assert "🏢 单位参保义务" in await user.keyboard_labels()
    [duties] = await user.tap("🏢 单位参保义务")
    assert "第五十八条" in duties["text"] and "万分之五" in duties["text"]


async def test_help_language_and_unknown_command(bot_stack):
    user = bot_stack.user(810003)
    [help_text] = await user.say("/help")
    assert "/language" in help_text["text"] and "帮助" in help_text["text"]
    [picker] = await user.say("/language")
    assert inline_labels(picker) == ["简体中文", "English"]
    [unknown] = await user.say("/frobnicate")
    assert "不认识这个命令" in unknown["text"]
    [not_understood] = await user.say("随便说点什么")
    assert "没太明白" in not_understood["text"] or "不太明白" in not_understood["text"]


async def test_a_429_from_telegram_slows_the_bot_but_loses_nothing(bot_stack):
    user = bot_stack.user(810004)
    await bot_stack.client.inject_fault("sendMessage", 429, retry_after=1, count=1)
    [greeting] = await user.say("/start", wait=20)
    assert "请先选择语言" in greeting["text"]
    calls = await bot_stack.client.calls("sendMessage")
    assert len([c for c in calls if c.get("chat_id") == 810004]) >= 2  # refused once, then sent


async def test_the_command_menu_is_published_in_both_languages(bot_stack):
    async with Bot(TOKEN, base_url=bot_stack.standin.bot_base_url) as bot:  # published at start-up
        chinese = await bot.get_my_commands()
        english = await bot.get_my_commands(language_code="en")
    assert [c.command for c in chinese][:2] == ["start", "certify"]
    assert {c.command: c.description for c in chinese}["status"] == "我的认证状态"
    assert {c.command: c.description for c in english}["status"] == "my certification"
