"""The control API and its client, as tests and the demo page use them."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import InvalidToken

from demo.standin.client import StandinClient, StandinError
from demo.standin.server import RunningStandin, add_standin_routes, create_app, running_standin
from demo.standin.state import StandinState
from tests.standin.helpers import assert_clean


async def test_health_and_defaults_of_the_user(client: StandinClient, standin: RunningStandin) -> None:
    assert await client.health()
    sent = await client.send_text(5, "你好")
    assert sent["message"]["from"] == {
        "id": 5,
        "is_bot": False,
        "first_name": "Demo user",
        "language_code": "zh-hans",
    }
    assert sent["message"]["chat"] == {"id": 5, "first_name": "Demo user", "type": "private"}
    assert "entities" not in sent["message"]
    custom = await client.send_text(6, "hi", user={"id": 6, "first_name": "王芳", "language_code": "en"})
    assert (
        custom["message"]["from"]["first_name"] == "王芳"
        and custom["message"]["from"]["language_code"] == "en"
    )
    assert custom["update_id"] == sent["update_id"] + 1
    assert standin.state.chats[6].messages[1].data["text"] == "hi"  # in-process inspection


async def test_commands_get_bot_command_entities(client: StandinClient) -> None:
    sent = await client.send_text(5, "/start@pension_demo_bot abc")
    assert sent["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 23}]


async def test_private_chats_only(client: StandinClient) -> None:
    with pytest.raises(StandinError) as refused:
        await client.send_text(5, "hi", user={"id": 6})
    assert refused.value.status == 400


async def test_callback_query_update_carries_the_bots_message(
    bot: Bot, client: StandinClient, chat: int
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="confirm:1")]])
    sent = await bot.send_message(chat, "确认吗？", reply_markup=markup)
    pressed = await client.press(chat, "确认")
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert_clean(updates[-1])
    assert query.id == pressed["callback_query_id"] and query.data == "confirm:1"
    assert query.message.message_id == sent.message_id and query.from_user.id == chat
    assert await query.answer(text="好的") is True
    answers = (await client.chat(chat))["callback_answers"]
    assert [(a["text"], a["show_alert"], a["message_id"]) for a in answers] == [
        ("好的", False, sent.message_id)
    ]

    with pytest.raises(StandinError) as missing:
        await client.press_button(chat, 999, "x")
    assert missing.value.status == 404
    with pytest.raises(LookupError, match="确认"):
        await client.press(chat, "不存在")


async def test_messages_wait_returns_when_the_bot_answers(bot: Bot, client: StandinClient, chat: int) -> None:
    async def answer_soon() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(chat, "answer")

    task = asyncio.create_task(answer_soon())
    started = time.monotonic()
    messages = await client.messages(chat, after_id=1, wait=10)
    await task
    assert time.monotonic() - started < 1.0
    assert [(m["text"], m["from_bot"]) for m in messages] == [("answer", True)]

    started = time.monotonic()
    assert await client.messages(chat, after_id=2, wait=0.2) == []
    assert time.monotonic() - started >= 0.2
    assert await client.messages(31337) == []


async def test_since_returns_edits_of_older_messages(bot: Bot, client: StandinClient, chat: int) -> None:
    sent = await bot.send_message(chat, "draft")
    await bot.send_message(chat, "later")
    version = (await client.chat(chat))["version"]
    await bot.edit_message_text("final", chat_id=chat, message_id=sent.message_id)
    changed = await client.chat(chat, since=version)
    assert [(m["message_id"], m["text"], m["revision"]) for m in changed["messages"]] == [
        (sent.message_id, "final", 1)
    ]


async def test_wait_for_bot_messages_times_out_with_the_chat_contents(
    client: StandinClient, chat: int
) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r'(?s)got 0.*#1 user: "hello"'):
        await client.wait_for_bot_messages(chat, after_id=0, timeout=0.3)
    assert time.monotonic() - started < 2


async def test_blocked_user_cannot_write_until_unblocked(client: StandinClient, chat: int) -> None:
    await client.block(chat)
    with pytest.raises(StandinError) as refused:
        await client.send_text(chat, "hi")
    assert refused.value.status == 409
    await client.unblock(chat)
    await client.send_text(chat, "hi again")
    chats = await client.chats()
    assert [(c["chat_id"], c["blocked"], c["message_count"]) for c in chats] == [(chat, False, 2)]


async def test_fault_with_description_and_clearing(
    bot: Bot, client: StandinClient, standin: RunningStandin
) -> None:
    response = await client.inject_fault("getMe", 400, description="Bad Request: custom", count=5)
    assert response["response"] == {"ok": False, "error_code": 400, "description": "Bad Request: custom"}
    async with aiohttp.ClientSession() as http:
        async with http.delete(f"{standin.base_url}/control/faults") as cleared:
            assert cleared.status == 200
    assert (await bot.get_me()).is_bot
    assert [c["method"] for c in await client.calls()] == ["getMe", "getMe"]


async def test_unknown_file_and_bad_input_are_json_errors(
    client: StandinClient, standin: RunningStandin
) -> None:
    with pytest.raises(StandinError) as missing:
        await client.download("nope")
    assert missing.value.status == 404
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{standin.base_url}/control/updates/message", json={"chat_id": "x"}
        ) as response:
            assert response.status == 400
            assert "error" in await response.json()


async def test_demo_can_add_routes_and_any_wellformed_token_works_by_default() -> None:
    app = create_app()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="demo page")

    app.router.add_get("/", page)
    async with running_standin(app=app) as standin, aiohttp.ClientSession() as http:
        async with http.get(standin.base_url + "/") as response:
            assert await response.text() == "demo page"
        async with Bot("42:anything", base_url=standin.bot_base_url) as bot:
            assert bot.id == 42
        with pytest.raises(InvalidToken):
            await Bot("not-a-token", base_url=standin.bot_base_url).get_me()


async def test_routes_can_be_mounted_on_someone_elses_app() -> None:
    app = web.Application()
    state = StandinState(["7:seven"], bot_username="other_bot")
    add_standin_routes(app, state)
    async with running_standin(app=app) as standin, StandinClient(standin.base_url) as client:
        assert standin.state is state
        await client.send_text(3, "/start")
        async with Bot("7:seven", base_url=standin.bot_base_url) as bot:
            assert bot.username == "other_bot"
            [update] = await bot.get_updates()
            assert update.message.text == "/start"


async def test_shutdown_releases_parked_long_polls() -> None:
    """A pending getUpdates must not hold the server's shutdown for its whole timeout."""
    async with running_standin() as other, Bot("1:a", base_url=other.bot_base_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        queue = other.state.updates
        assert await queue.signal.wait_until(lambda: queue.poll_generation >= 1, 5)
        started = time.monotonic()
        other.state.close()
        assert await poll == ()
        assert time.monotonic() - started < 1.0
