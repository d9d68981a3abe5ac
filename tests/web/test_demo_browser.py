"""The README's first command, as a person meets it: `pension-bot demo` runs in its own
process; headless Chromium opens the page, picks a language and a role, and the real bot
answers. Where the real recordings are beside the project, the visitor then links the demo
retiree with the code the page shows, consents, taps ✅ and sends "the demo recording" from the
attach menu (a real person's clip, which her reference photo is a frame of): certified. Then
Ctrl-C (SIGINT) stops the demo cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from content.i18n import Translator
from tests.web.test_demo_page import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
en = Translator("en")


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
                await _certify_with_the_demo_recording(page, expect, base, tmp_path)
            finally:
                await browser.close()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    text = output.decode()
    assert process.returncode == 0, text
    assert f"Open {base}" in text and "Demo stopped." in text
    assert "real person's recording" in text or "cannot be tried" in text  # the guide says which


async def _certify_with_the_demo_recording(page, expect, base: str, tmp_path: Path) -> None:
    """Link the retiree the page names, consent, ✅, and send the demo recording."""
    async with aiohttp.ClientSession() as http, http.get(base + "/demo/personas") as response:
        config = await response.json()
    if config["recording"] is None:
        # The page says why video certification cannot be tried here, and offers no recording.
        assert "../shared/liveness/real" in config["personas"][0]["description"]
        await page.locator("#attach-btn").click()
        await expect(page.locator("#attach-recording")).to_be_hidden()
        return
    id_number, code = re.search(
        r"Link: (\d{17}[\dX]) · ([A-Z0-9]{4} [A-Z0-9]{4})", config["personas"][0]["description"]
    ).groups()

    async def answered(act) -> None:
        """Do `act` (a typed message, a button), then wait for the bot's next message."""
        seen = await page.locator(".msg.from-bot").count()
        await act()
        await page.wait_for_function(
            "(seen) => document.querySelectorAll('.msg.from-bot').length > seen", arg=seen, timeout=30000
        )

    def say(words: str):
        async def act() -> None:
            await page.locator("#text-input").fill(words)
            await page.locator("#send-btn").click()

        return act

    def tap(label: str):
        return page.locator(".inline-kb button, #reply-kb button", has_text=label).last.click

    await answered(say("/bind"))
    await answered(tap(en("bind.button.self")))
    await answered(say(id_number))
    await answered(say(code))
    await expect(page.locator(".msg.from-bot", has_text="Linked!")).to_have_count(1)
    await answered(tap(en("menu.certify")))
    await answered(tap(en("consent.button.agree")))
    await expect(page.locator(".msg.from-bot", has_text=en("consent.agreed").split("\n")[0])).to_have_count(1)
    await answered(tap(en("menu.certify")))

    # The attach menu says what the recording is, and sends it as a round video note.
    await page.locator("#attach-btn").click()
    await expect(page.locator("#attach-recording-note")).to_contain_text("real recording")
    await page.locator("#attach-recording").click()
    await expect(page.locator(".msg.from-me video")).to_have_count(1)
    await expect(page.locator(".msg.from-bot", has_text="Certified. Thank you!")).to_have_count(
        1, timeout=120000
    )
    await page.screenshot(path=str(tmp_path / "certified.png"))
