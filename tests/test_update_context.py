"""One context per update (bot/context.py): the sender's profile is read once, however many
handlers and helpers of that update ask for it, and a change made by the update is seen by
the rest of it. The real bot on the stand-in."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from content.i18n import Translator
from tests.e2e.harness import running_bot

CHAT = 860101
MORNING = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


async def test_the_sender_is_read_once_per_update_and_a_change_is_seen_by_the_rest(sqlite_url, tmp_path):
    with time_machine.travel(MORNING, tick=True):
        async with running_bot(sqlite_url, tmp_path / "var") as stack:
            profiles = stack.runtime.bot_services.profiles
            greet, greetings = profiles.greet, []

            async def counted(user_id: int, chat_id: int):
                greetings.append(user_id)
                return await greet(user_id, chat_id)

            profiles.greet = counted
            person = stack.user(CHAT)
            await person.say("/start")
            greetings.clear()

            # Not understood: the menu handler and the reply helper both ask who this is.
            [reply] = await person.say("今天天气怎么样")
            assert reply["text"] == Translator("zh_Hans")("unknown.text")
            assert greetings == [CHAT]

            # Choosing English: the same update's reply is already in English.
            greetings.clear()
            [menu] = await person.say("/start")
            await stack.client.press_button(CHAT, menu["message_id"], "lang:en")
            [asked] = await person.replies(after_id=menu["message_id"])
            assert asked["text"] == Translator("en")("role.choose")
            assert (await person.message(menu["message_id"]))["text"] == Translator("en")("language.changed")
