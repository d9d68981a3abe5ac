"""The README's first command, as a person meets it: `pension-bot demo` runs in its own
process; headless Chromium opens the page, picks a language and a role, and the real bot
answers. Then Ctrl-C (SIGINT) stops the demo cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.web.test_demo_page import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _wait_until_up(url: str, process: asyncio.subprocess.Process, seconds: float = 60) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(int(seconds * 4)):
            if process.returncode is not None:
                raise AssertionError(f"the demo exited early with {process.returncode}")
            try:
                async with http.get(url + "/control/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.25)
    raise AssertionError("the demo did not come up")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"headless Chromium not found at {CHROMIUM}")
async def test_a_visitor_picks_a_language_and_a_role_and_the_bot_answers(tmp_path):
    playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "VAR_DIR": str(tmp_path / "var"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "demo",
        "--port",
        str(port),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_up(base, process)
        async with playwright_api.async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
                expect = playwright_api.expect
                await page.goto(base)
                await page.locator("#text-input").fill("/start")
                await page.locator("#send-btn").click()
                await expect(page.locator(".msg.from-bot").first).to_contain_text("请先选择语言")
                await page.locator(".inline-kb button", has_text="English").click()
                await expect(page.locator(".msg.from-bot", has_text="Who are you?")).to_have_count(1)
                await page.locator(".inline-kb button", has_text="Retiree").click()
                await expect(page.locator(".msg.from-bot", has_text="Welcome!")).to_have_count(1)
                await page.locator("#reply-kb button", has_text="How to certify").click()
                await expect(page.locator(".msg.from-bot", has_text="valid for 12 months")).to_have_count(1)
                await page.screenshot(path=str(tmp_path / "demo.png"))
            finally:
                await browser.close()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    text = output.decode()
    assert process.returncode == 0, text
    assert f"Open {base}" in text and "Demo stopped." in text
