"""The whole bot, for real: the stand-in Bot API on a loopback port, the real PTB
Application polling it, the real services on a real database."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from app.inbox_poller import update_inbox
from app.serve import serving
from app.settings import Settings
from app.wiring import Runtime, open_runtime, prepare_roster
from bot.application import build_application
from demo.standin.client import StandinClient
from demo.standin.server import RunningStandin, running_standin
from tests.real_clips import clip
from verification.roster.service import RosterSource, import_roster

TOKEN = "7100000001:e2e-test-token"


@dataclass
class BotStack:
    standin: RunningStandin
    client: StandinClient
    runtime: Runtime

    def user(self, chat_id: int, language_code: str = "zh-hans") -> ChatUser:
        return ChatUser(self.client, chat_id)


REMINDER_MARK = "⏰ 养老金资格认证提醒"  # the first line of a reminder (cycle.po: reminder.*)


class ChatUser:
    """A person in one private chat: says things, taps buttons, reads the bot's replies."""

    def __init__(self, client: StandinClient, chat_id: int) -> None:
        self.client = client
        self.chat_id = chat_id

    async def _last_id(self) -> int:
        messages = await self.client.messages(self.chat_id)
        return messages[-1]["message_id"] if messages else 0

    async def replies(self, after_id: int, expect: int = 1, wait: float = 15) -> list[dict[str, Any]]:
        """The bot's `expect` replies after `after_id`. The cycle's reminders, sent by a job
        on its own schedule, are not replies: on a slow machine one may land in between."""
        found: list[dict[str, Any]] = []
        while len(found) < expect:
            batch = await self.client.wait_for_bot_messages(
                self.chat_id, after_id, count=expect - len(found), timeout=wait
            )
            found += [m for m in batch if not m.get("text", "").startswith(REMINDER_MARK)]
            after_id = batch[-1]["message_id"]
        return found

    async def say(self, text: str, expect: int = 1, wait: float = 15) -> list[dict[str, Any]]:
        sent = await self.client.send_text(self.chat_id, text)
        return await self.replies(sent["message"]["message_id"], expect, wait)

    async def tap(self, label: str, expect: int = 1, wait: float = 15) -> list[dict[str, Any]]:
        before = await self._last_id()
        await self.client.press(self.chat_id, label)
        return await self.replies(before, expect, wait)

    async def tap_in_place(self, label: str, wait: float = 15) -> dict[str, Any]:
        """Tap an inline button of a message the bot then edits in place (a lesson's next
        step, the next exam question): that message as edited."""
        chat = await self.client.chat(self.chat_id)
        shown = next(m for m in reversed(chat["messages"]) if m["from_bot"] and label in inline_labels(m))
        await self.client.press(self.chat_id, label)
        deadline = asyncio.get_running_loop().time() + wait
        while asyncio.get_running_loop().time() < deadline:
            now = await self.message(shown["message_id"])
            if now["revision"] > shown["revision"]:
                return now
            await asyncio.sleep(0.02)
        raise TimeoutError(f"the message with {label!r} was not edited within {wait} s")

    async def keyboard_labels(self) -> list[str]:
        chat = await self.client.chat(self.chat_id)
        keyboard = chat.get("keyboard") or {}
        return [button["text"] for row in keyboard.get("keyboard", []) for button in row]

    async def message(self, message_id: int) -> dict[str, Any]:
        return next(m for m in await self.client.messages(self.chat_id) if m["message_id"] == message_id)


def inline_labels(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


@asynccontextmanager
async def running_bot(database_url: str, var_dir: Path, **settings: Any) -> AsyncIterator[BotStack]:
    config = Settings(database_url=database_url, var_dir=var_dir, **settings)
    async with open_runtime(config) as runtime, running_standin(tokens=[TOKEN]) as standin:
        application = build_application(
            TOKEN,
            runtime.bot_services,
            base_url=standin.bot_base_url,
            base_file_url=standin.file_base_url,
            inbox=update_inbox(runtime),
        )
        polling = {"poll_interval": 0, "timeout": 5}
        async with serving(application, polling=polling), StandinClient(standin.base_url) as client:
            yield BotStack(standin, client, runtime)


ROSTER_HEADER = ["姓名", "身份证号码", "参保地", "居住地", "退休日期", "上次认证日期", "参考照片"]


@asynccontextmanager
async def running_bot_with_clip_people(
    database_url: str,
    tmp_path: Path,
    people: Iterable[tuple[str, str, str]],
    retired_on: str,
    **settings: Any,
) -> AsyncIterator[BotStack]:
    """The bot with a roster of `people` (name, ID number, real clip) imported and prepared as
    the office does: each reference photo is a frame of the person's own clip (tests/
    real_clips.py), each gets a binding code; and one staff member, 赵敏, whose code is
    `stack.staff_code`."""
    people = list(people)
    roster = tmp_path / "roster" / "roster.csv"
    roster.parent.mkdir()
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ROSTER_HEADER)
        for name, number, shown in people:
            (roster.parent / f"{shown}.jpg").write_bytes(clip(shown).reference_photo())
            writer.writerow([name, number, "440300", "110105", retired_on, "2025-12-01", f"{shown}.jpg"])
    async with running_bot(database_url, tmp_path / "var", **settings) as stack:
        runtime = stack.runtime
        await import_roster(
            RosterSource(roster), runtime.uow_factory, runtime.vault, today=date(2026, 11, 27)
        )
        prepared = await prepare_roster(runtime)
        assert prepared.codes_issued == len(people) and prepared.enrolment.enrolled == len(people), prepared
        stack.staff_code = await runtime.bot_services.staff.create("S-01", "赵敏", "110100")
        yield stack


async def retiree_id_of(stack: BotStack, id_number: str) -> int:
    async with stack.runtime.uow_factory() as uow:
        return (await uow.retirees.by_id_hash(stack.runtime.vault.lookup_hash(id_number))).id
