"""The Bot API side, driven by a real ``telegram.Bot``: shapes, errors, and the call log."""

from __future__ import annotations

import asyncio
import datetime as dtm
import warnings

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, EndPointNotFound, Forbidden, InvalidToken, RetryAfter

from demo.standin.client import StandinClient
from demo.standin.server import RunningStandin
from tests.standin.helpers import TOKEN, assert_clean


async def test_get_me_is_derived_from_the_token(bot: Bot) -> None:
    me = await bot.get_me()
    assert_clean(me)
    assert me.id == int(TOKEN.split(":")[0])
    assert me.is_bot is True
    assert me.username == "pension_demo_bot"


async def test_send_message_returns_a_clean_message_and_lands_in_the_chat(
    bot: Bot, client: StandinClient, chat: int
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="yes")]])
    sent = await bot.send_message(chat, "<b>认证</b> 开始 🙂", parse_mode="HTML", reply_markup=keyboard)
    assert_clean(sent)
    assert sent.text == "认证 开始 🙂"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 2)]
    assert sent.reply_markup == keyboard
    assert sent.from_user.id == bot.id and sent.chat.id == chat

    log = await client.messages(chat, after_id=1)
    assert [(m["message_id"], m["from_bot"], m["text"]) for m in log] == [(2, True, "认证 开始 🙂")]


async def test_reply_keyboards_are_kept_for_the_page_but_not_echoed(
    bot: Bot, client: StandinClient, chat: int
) -> None:
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("分享手机号", request_contact=True)]], one_time_keyboard=True
    )
    sent = await bot.send_message(chat, "请分享手机号", reply_markup=keyboard)
    assert sent.reply_markup is None  # Telegram does not echo reply keyboards
    view = await client.chat(chat)
    assert view["keyboard"]["keyboard"] == [[{"text": "分享手机号", "request_contact": True}]]
    assert view["messages"][-1]["reply_keyboard"]["one_time_keyboard"] is True

    await bot.send_message(chat, "谢谢", reply_markup=ReplyKeyboardRemove())
    assert (await client.chat(chat))["keyboard"] is None
    forced = await bot.send_message(chat, "请输入姓名", reply_markup=ForceReply())
    assert (await client.messages(chat, after_id=forced.message_id - 1))[0]["reply_keyboard"] == {
        "force_reply": True
    }


async def test_reply_to_message_is_included(bot: Bot, chat: int) -> None:
    sent = await bot.send_message(chat, "answer", reply_to_message_id=1)
    assert_clean(sent)
    assert sent.reply_to_message is not None and sent.reply_to_message.text == "hello"
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(chat, "answer", reply_to_message_id=999)


async def test_edit_message_text_and_markup(bot: Bot, client: StandinClient, chat: int) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(chat, "first", reply_markup=markup)
    edited = await bot.edit_message_text(
        "second", chat_id=chat, message_id=sent.message_id, reply_markup=markup
    )
    assert_clean(edited)
    assert edited.text == "second" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("second", chat_id=chat, message_id=sent.message_id, reply_markup=markup)
    cleared = await bot.edit_message_reply_markup(chat_id=chat, message_id=sent.message_id)
    assert cleared.reply_markup is None

    stored = (await client.messages(chat, after_id=sent.message_id - 1))[0]
    assert stored["edited"] is True and stored["revision"] == 2
    assert stored["text"] == "second" and "reply_markup" not in stored
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=chat, message_id=999)
    with pytest.raises(BadRequest, match="(?i)message can't be edited"):
        await bot.edit_message_text("x", chat_id=chat, message_id=1)


async def test_empty_text_is_bad_request(bot: Bot, chat: int) -> None:
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(chat, "   ")


async def test_unknown_chat_is_bad_request(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(999, "hi")


async def test_markdown_v2_needs_escaping_like_telegram(bot: Bot, chat: int) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities: character '\\.' is reserved"):
        await bot.send_message(chat, "Price 1.5", parse_mode="MarkdownV2")
    sent = await bot.send_message(chat, r"*Price* 1\.5", parse_mode="MarkdownV2")
    assert sent.text == "Price 1.5" and sent.entities[0].type == "bold"


async def test_injected_429_gives_retry_after(bot: Bot, client: StandinClient, chat: int) -> None:
    await client.inject_fault("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat, "hi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        retry_after = caught.value.retry_after
    seconds = retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after
    assert seconds == 7
    assert (await bot.send_message(chat, "hi")).text == "hi"  # the fault was used up
    calls = await client.calls("sendMessage")
    assert [(c["ok"], c["error_code"], c["chat_id"]) for c in calls] == [
        (False, 429, chat),
        (True, None, chat),
    ]


async def test_raw_429_body_is_telegrams(standin: RunningStandin, client: StandinClient) -> None:
    await client.inject_fault("getMe", 429, retry_after=3)
    async with aiohttp.ClientSession() as http, http.get(f"{standin.bot_base_url}{TOKEN}/getMe") as response:
        assert response.status == 429
        assert await response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }


async def test_blocked_chat_is_forbidden(bot: Bot, client: StandinClient, chat: int) -> None:
    await client.block(chat)
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(chat, "hi")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(chat, "typing")
    await client.unblock(chat)
    assert (await bot.send_message(chat, "back")).text == "back"


async def test_injected_403_without_blocking(bot: Bot, client: StandinClient, chat: int) -> None:
    await client.inject_fault("sendMessage", 403, count=2)
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(chat, "hi")
    await bot.send_message(chat, "hi")


async def test_unknown_token_is_invalid_token(standin: RunningStandin) -> None:
    stranger = Bot("987654321:not-a-known-token", base_url=standin.bot_base_url)
    with pytest.raises(InvalidToken):
        await stranger.get_me()
    async with aiohttp.ClientSession() as http, http.get(f"{standin.bot_base_url}987:nope/getMe") as response:
        assert response.status == 401
        assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_is_404(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_json_and_query_string_parameters(standin: RunningStandin, chat: int) -> None:
    """Besides PTB's form encoding, Telegram accepts JSON bodies and query strings."""
    url = f"{standin.bot_base_url}{TOKEN}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "ok"}]]}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"chat_id": chat, "text": "json", "reply_markup": markup}) as response:
            body = await response.json()
            assert body["ok"] is True and body["result"]["reply_markup"] == markup
        async with http.get(url, params={"chat_id": str(chat), "text": "query"}) as response:
            assert (await response.json())["result"]["text"] == "query"


async def test_chat_action_is_visible_to_the_page(bot: Bot, client: StandinClient, chat: int) -> None:
    assert await bot.send_chat_action(chat, "upload_photo") is True
    assert (await client.chat(chat))["chat_action"]["action"] == "upload_photo"
    with pytest.raises(BadRequest):
        await bot.send_chat_action(chat, "dancing")


async def test_my_commands_roundtrip(bot: Bot) -> None:
    commands = [BotCommand("start", "开始"), BotCommand("help", "帮助")]
    assert await bot.set_my_commands(commands) is True
    assert list(await bot.get_my_commands()) == commands
    assert list(await bot.get_my_commands(language_code="en")) == []
    assert await bot.delete_my_commands() is True
    assert list(await bot.get_my_commands()) == []
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad Command", "x")])


async def test_a_newer_get_updates_terminates_the_parked_one(standin: RunningStandin, bot: Bot) -> None:
    url = f"{standin.bot_base_url}{TOKEN}/getUpdates"
    async with aiohttp.ClientSession() as http:
        first = asyncio.create_task(http.post(url, json={"timeout": 10}))
        queue = standin.state.updates
        assert await queue.signal.wait_until(lambda: queue.poll_generation >= 1, 5)
        assert await bot.get_updates(timeout=0) == ()
        response = await first
        assert response.status == 409
        assert "terminated by other getUpdates request" in (await response.json())["description"]
        response.release()
