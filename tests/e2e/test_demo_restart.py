"""The demo started again on the same var/ answers from the first message of its second run.

The bot keeps the ids Telegram gives it: its inbox drops an update whose id it has stored, and
certification attempts and employer questions are keyed by chat and message id. The demo's
stand-in keeps its chats in memory, so a second start that counted its ids from 1 again had
its first updates dropped as seen before, and the bot said nothing to a visitor who had tried
the demo once already. Its ids now go on above the first run's (demo/standin_ids.py). The
whole demo runs here, twice: `run_demo` with its seeding, the page's stand-in and the real bot,
over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

from app.demo import run_demo
from app.settings import Settings
from demo.standin.client import StandinClient

EMPLOYER = 710003  # the demo page's employer persona


async def _start_and_say_hello(settings: Settings, port: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ready, stop = asyncio.Event(), asyncio.Event()
    demo = asyncio.create_task(run_demo(settings, "127.0.0.1", port, ready=ready, stop=stop))
    started = asyncio.create_task(ready.wait())
    try:
        await asyncio.wait({demo, started}, timeout=180, return_when=asyncio.FIRST_COMPLETED)
        if demo.done():
            demo.result()  # the reason it ended, raised here
        assert ready.is_set(), "the demo did not start within 180 s"
        async with StandinClient(f"http://127.0.0.1:{port}") as client:
            sent = await client.send_text(EMPLOYER, "/start")
            after = sent["message"]["message_id"]
            return sent, await client.wait_for_bot_messages(EMPLOYER, after, timeout=30)
    finally:
        started.cancel()
        stop.set()
        await asyncio.wait_for(demo, 60)


async def test_the_demo_started_again_answers_the_first_message(
    e2e_morning, sqlite_url, tmp_path, unused_tcp_port
):
    settings = Settings(database_url=sqlite_url, var_dir=tmp_path / "var")
    first, first_replies = await _start_and_say_hello(settings, unused_tcp_port)
    again, replies = await _start_and_say_hello(settings, unused_tcp_port)
    # The visitor never chose a language: both runs greet and ask for one.
    assert "请先选择语言" in first_replies[0]["text"]
    assert "请先选择语言" in replies[0]["text"]
    assert again["update_id"] > first["update_id"]
    assert again["message"]["message_id"] > first["message"]["message_id"]
