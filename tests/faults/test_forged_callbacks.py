"""Buttons whose data the bot never sent ("²" passes str.isdigit() but not int(), a topic that
does not exist, a prefix no handler knows) get a polite answer and an error record, never an
uncaught error; and a handler that fails leaves an error record (its class name only) besides
the log, while the person gets the generic apology."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from content.i18n import Translator
from storage.models import ErrorRecord
from tests.e2e.harness import running_bot

CHAT = 860001
MORNING = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
zh = Translator("zh_Hans")
FORGED = (
    "privacy:confirm:²",
    "consent:agree:²",
    "pub:topic:zzz",
    "privacy:withdraw:٣",
    "consent:agree:٣",
    "review:see:٣",
    "lang:xx",
    "role:boss",
    "pub:art:nothing",
    "pub:sub:zzz",
    "cmp:1:explode",
    "hv:done:1:lost",
    "no-such-button",
)


@pytest.fixture
async def stack(sqlite_url, tmp_path):
    with time_machine.travel(MORNING, tick=True):
        async with running_bot(sqlite_url, tmp_path / "var") as stack:
            yield stack


async def _bot_records(stack) -> list[ErrorRecord]:
    async with stack.runtime.uow_factory() as uow:
        query = select(ErrorRecord).where(ErrorRecord.source == "bot").order_by(ErrorRecord.id)
        return (await uow.session.execute(query)).scalars().all()


async def _answer_of(stack, query_id: str, wait: float = 15) -> dict:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        chat = await stack.client.chat(CHAT)
        for answer in chat["callback_answers"]:
            if answer["callback_query_id"] == query_id:
                return answer
        await asyncio.sleep(0.05)
    raise TimeoutError(f"callback query {query_id} was not answered")


async def test_each_forged_button_gets_a_polite_answer_and_an_error_record(stack):
    person = stack.user(CHAT)
    [menu] = await person.say("/start")
    for data in FORGED:
        pressed = await stack.client.press_button(CHAT, menu["message_id"], data)
        answer = await _answer_of(stack, pressed["callback_query_id"])
        assert (answer["text"], answer["show_alert"]) == (zh("button.expired"), True), data

    records = await _bot_records(stack)
    assert [r.code for r in records] == ["forged_callback"] * len(FORGED)
    assert all(r.chat_id == CHAT for r in records)
    for record in records:  # the kind of button and the length, never the data
        assert not any(data in f"{record.detail} {record.context}" for data in FORGED)
    # No handler failed: no apology was sent.
    messages = await stack.client.messages(CHAT, after_id=menu["message_id"])
    assert [m for m in messages if m["from_bot"]] == []


async def test_a_handler_that_fails_leaves_an_error_record_without_the_message(stack, monkeypatch):
    person = stack.user(CHAT)
    await person.say("/start")

    async def fails(*args, **kwargs):
        raise RuntimeError("蔡刚 110105195003040216 could not be greeted")

    monkeypatch.setattr(stack.runtime.bot_services.profiles, "greet", fails)
    [apology] = await person.say("/help")

    assert apology["text"] == zh("error.generic")
    [record] = await _bot_records(stack)
    assert (record.code, record.detail, record.chat_id) == ("RuntimeError", "", CHAT)
    assert set(record.context) == {"update_id"}
