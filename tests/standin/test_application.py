"""A real ``telegram.ext.Application`` polling the stand-in, end to end."""

from __future__ import annotations

import asyncio
import time

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from demo.standin.client import StandinClient
from demo.standin.server import RunningStandin
from tests.standin.helpers import CHAT_ID, TOKEN, build_application, image_bytes, polling

MENU = InlineKeyboardMarkup([[InlineKeyboardButton("开始认证", callback_data="certify")]])


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(f"欢迎 args={context.args}", reply_markup=MENU)


async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("已选择", show_alert=True)
    await query.edit_message_text(f"你选择了 {query.data}")


async def ask_phone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("分享手机号", request_contact=True)]], one_time_keyboard=True
    )
    await update.message.reply_text("请分享手机号", reply_markup=keyboard)


async def got_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.contact is not None
    contact = update.message.contact
    own = contact.user_id == update.effective_user.id
    await update.message.reply_text(f"{contact.phone_number} own={own}", reply_markup=ReplyKeyboardRemove())


async def got_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    largest = update.message.photo[-1]
    data = await (await largest.get_file()).download_as_bytearray()
    await update.message.reply_text(
        f"{len(update.message.photo)} {largest.width}x{largest.height} {len(data)}"
    )


async def test_start_command_reaches_handler_and_reply_is_logged(
    standin: RunningStandin, client: StandinClient
) -> None:
    application = build_application(standin)
    application.add_handler(CommandHandler("start", start))
    async with polling(application):
        sent = await client.send_text(CHAT_ID, "/start from_qr")
        replies = await client.wait_for_bot_messages(CHAT_ID, sent["message"]["message_id"])
        assert replies[0]["text"] == "欢迎 args=['from_qr']"
        assert replies[0]["reply_markup"] == MENU.to_dict()

        addressed = await client.send_text(CHAT_ID, "/start@pension_demo_bot")
        replies = await client.wait_for_bot_messages(CHAT_ID, addressed["message"]["message_id"])
        assert replies[0]["text"] == "欢迎 args=[]"


async def test_inline_button_reaches_callback_handler_and_edit_is_stored(
    standin: RunningStandin, client: StandinClient
) -> None:
    application = build_application(standin)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(chosen))
    async with polling(application):
        sent = await client.send_text(CHAT_ID, "/start")
        [menu] = await client.wait_for_bot_messages(CHAT_ID, sent["message"]["message_id"])
        before = (await client.chat(CHAT_ID))["version"]
        pressed = await client.press(CHAT_ID, "开始认证")
        assert pressed["callback_query_id"]

        view = await client.chat(CHAT_ID, since=before, wait=5)
        while not any(m["edited"] for m in view["messages"]):
            view = await client.chat(CHAT_ID, since=view["version"], wait=5)
        [edited] = [m for m in view["messages"] if m["message_id"] == menu["message_id"]]
        assert edited["text"] == "你选择了 certify" and edited["revision"] == 1
        assert "reply_markup" not in edited  # edit without markup drops the keyboard, as on Telegram
        answers = (await client.chat(CHAT_ID))["callback_answers"]
        assert [(a["callback_query_id"], a["text"], a["show_alert"]) for a in answers] == [
            (pressed["callback_query_id"], "已选择", True)
        ]
        assert answers[0]["kind"] == "callback_answer"


async def test_contact_button_shares_the_users_own_contact(
    standin: RunningStandin, client: StandinClient
) -> None:
    application = build_application(standin)
    application.add_handler(CommandHandler("phone", ask_phone))
    application.add_handler(MessageHandler(filters.CONTACT, got_contact))
    async with polling(application):
        sent = await client.send_text(CHAT_ID, "/phone")
        await client.wait_for_bot_messages(CHAT_ID, sent["message"]["message_id"])
        assert (await client.chat(CHAT_ID))["keyboard"] is not None
        shared = await client.press(CHAT_ID, "分享手机号", phone_number="+8613912345678")
        [reply] = await client.wait_for_bot_messages(CHAT_ID, shared["message"]["message_id"])
        assert reply["text"] == "+8613912345678 own=True"
        assert (await client.chat(CHAT_ID))["keyboard"] is None


async def test_photo_from_the_user_arrives_in_sizes_and_downloads(
    standin: RunningStandin, client: StandinClient
) -> None:
    application = build_application(standin)
    application.add_handler(MessageHandler(filters.PHOTO, got_photo))
    async with polling(application):
        sent = await client.send_photo(CHAT_ID, image_bytes(1000, 750, "JPEG"))
        [reply] = await client.wait_for_bot_messages(CHAT_ID, sent["message"]["message_id"])
        largest = sent["message"]["photo"][-1]
        assert reply["text"] == f"4 1000x750 {largest['file_size']}"


async def test_long_polling_returns_as_soon_as_an_update_arrives(
    standin: RunningStandin, bot: Bot, client: StandinClient
) -> None:
    assert await bot.get_updates(timeout=0) == ()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    queue = standin.state.updates  # wake when the long poll is parked on the server
    assert await queue.signal.wait_until(lambda: queue.poll_generation >= 2, 5)
    assert not poll.done()
    started = time.monotonic()
    await client.send_text(CHAT_ID, "ping")
    updates = await poll
    assert time.monotonic() - started < 1.0
    assert [u.message.text for u in updates] == ["ping"]

    # Confirming by offset forgets the update; an immediate poll is then empty.
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()


async def test_get_updates_limit_and_allowed_updates(bot: Bot, client: StandinClient, chat: int) -> None:
    for text in ("a", "b", "c"):
        await client.send_text(chat, text)
    first_two = await bot.get_updates(limit=2)
    assert [u.message.text for u in first_two] == ["hello", "a"]
    rest = await bot.get_updates(offset=first_two[-1].update_id + 1, allowed_updates=["callback_query"])
    assert [u.message.text for u in rest] == ["b", "c"]  # queued before the filter was set
    await client.send_text(chat, "filtered out")
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()


async def test_rate_limiter_retries_after_429(
    standin: RunningStandin, client: StandinClient, chat: int
) -> None:
    """PTB's AIORateLimiter waits retry_after and retries; the call log shows both attempts."""
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(standin.bot_base_url)
        .rate_limiter(AIORateLimiter(max_retries=1))
        .build()
    )
    await client.inject_fault("sendMessage", 429, retry_after=1)
    async with application:
        started = time.monotonic()
        message = await application.bot.send_message(chat, "after flood wait")
        assert time.monotonic() - started >= 1.0
    assert message.text == "after flood wait"
    attempts = await client.calls("sendMessage")
    assert [a["error_code"] for a in attempts] == [429, None]
    assert attempts[1]["time"] - attempts[0]["time"] >= 1.0
