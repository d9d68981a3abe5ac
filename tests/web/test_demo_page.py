"""The demo chat page (`demo/page.py`, `demo/page_files/`): its routes, and a real run in headless Chromium.

The browser test serves the stand-in and the page on one aiohttp app (as `pension-bot demo`
does), runs a tiny PTB bot polling the stand-in, and plays a person: /start, an inline button
(the bot edits its message and answers with a toast), a reply-keyboard button and a photo.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image, ImageDraw

from demo.page import DEFAULT_PERSONAS, PAGE_DIR, DemoRecording, add_demo_page_routes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(os.environ.get("DEMO_PAGE_SCREENSHOT", "/tmp/demo_page.png"))
TOKEN = "123456789:AAE-demo-page-test-token_abcdefghijkl"

PERSONAS = [
    {
        "chat_id": 710001,
        "label": "退休人员 Retiree",
        "description": "以退休人员身份认证 · Certify as a retiree",
        "first_name": "王秀兰",
        "phone_number": "+8613800138000",
    },
    {"chat_id": 710002, "label": "单位经办人 Employer HR", "description": "为职工批量认证 · Certify staff"},
    {
        "chat_id": 710003,
        "label": "社区工作人员 Community staff",
        "description": "上门协助认证 · Help at home",
    },
    {"chat_id": 710004, "label": "家属代办 A helper", "description": "替家人办理 · Help a relative"},
]


# ----------------------------------------------------------------------------- routes


async def _client(personas=None, **kwargs) -> TestClient:
    app = web.Application()
    add_demo_page_routes(app, personas, **kwargs)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_index_is_served_with_a_strict_policy():
    client = await _client()
    try:
        response = await client.get("/")
        assert response.status == 200
        assert response.content_type == "text/html"
        body = await response.text()
        assert '<html lang="zh-Hans">' in body
        assert "/static/demo/chat.js" in body and "/static/demo/chat.css" in body
        assert "http://" not in body and "https://" not in body  # nothing from a CDN
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        await client.close()


async def test_only_the_page_files_are_served():
    client = await _client()
    try:
        js = await client.get("/static/demo/chat.js")
        assert js.status == 200 and js.content_type == "text/javascript"
        css = await client.get("/static/demo/chat.css")
        assert css.status == 200 and css.content_type == "text/css"
        for path in ("/static/demo/index.html", "/static/demo/..%2Fpage.py", "/static/demo/nope.js"):
            assert (await client.get(path)).status == 404, path
    finally:
        await client.close()


async def test_the_page_script_never_writes_markup():
    script = (PAGE_DIR / "chat.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


async def test_personas_default_to_one_retiree():
    client = await _client()
    try:
        config = await (await client.get("/demo/personas")).json()
        assert [p["chat_id"] for p in config["personas"]] == [DEFAULT_PERSONAS[0]["chat_id"]]
        assert config["bot_name"]
    finally:
        await client.close()


async def test_personas_are_served_as_given():
    client = await _client(PERSONAS, bot_name="认证助手")
    try:
        config = await (await client.get("/demo/personas")).json()
        assert config["bot_name"] == "认证助手"
        assert [p["chat_id"] for p in config["personas"]] == [p["chat_id"] for p in PERSONAS]
        first = config["personas"][0]
        assert first["label"] == "退休人员 Retiree"
        assert first["first_name"] == "王秀兰" and first["phone_number"] == "+8613800138000"
        assert config["personas"][1]["language_code"] == "zh-hans"
    finally:
        await client.close()


async def test_the_demo_recording_is_offered_and_served_as_it_is(tmp_path):
    clip = tmp_path / "d3.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    client = await _client(recording=DemoRecording(clip, "真人录像 A real recording"))
    try:
        config = await (await client.get("/demo/personas")).json()
        assert config["recording"] == {
            "url": "/demo/recording",
            "name": "d3.mp4",
            "note": "真人录像 A real recording",
        }
        response = await client.get("/demo/recording")
        assert response.status == 200 and response.content_type == "video/mp4"
        assert await response.read() == clip.read_bytes()
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    finally:
        await client.close()


async def test_without_a_recording_none_is_offered():
    client = await _client()
    try:
        assert (await (await client.get("/demo/personas")).json())["recording"] is None
        assert (await client.get("/demo/recording")).status == 404
    finally:
        await client.close()


@pytest.mark.parametrize(
    "personas",
    [
        [{"chat_id": "12", "label": "x"}],
        [{"chat_id": -5, "label": "group"}],
        [{"chat_id": 7, "label": "a"}, {"chat_id": 7, "label": "b"}],
    ],
)
def test_bad_personas_are_refused(personas):
    with pytest.raises(ValueError):
        add_demo_page_routes(web.Application(), personas)


# ----------------------------------------------------------------------------- the browser


def _png() -> bytes:
    image = Image.new("RGB", (480, 360), "#2e7d32")
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 440, 320), fill="#fdd835", outline="#1b5e20", width=8)
    draw.ellipse((170, 110, 310, 250), fill="#c62828")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _echo_bot(standin):
    """A tiny bot: /start with inline + reply keyboards, edits on a press, echoes text and photos."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler, filters

    async def start(update, context):
        await update.message.reply_text(
            "<b>您好！</b>请选择语言。\nHello! Please choose a language.",
            parse_mode="HTML",
            reply_markup=InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton("中文", callback_data="lang:zh"),
                        InlineKeyboardButton("English", callback_data="lang:en"),
                    ]
                ]
            ),
        )
        await update.message.reply_text(
            "也可以按下面的按钮。\nOr use the buttons below.",
            reply_markup=ReplyKeyboardMarkup(
                [
                    ["开始认证 Certify", "常见问题 FAQ"],
                    [KeyboardButton("分享手机号 Share my number", request_contact=True)],
                ],
                resize_keyboard=True,
                input_field_placeholder="请选择或输入 Choose or type",
            ),
        )

    async def chosen(update, context):
        query = update.callback_query
        chinese = query.data == "lang:zh"
        await query.answer("已选择中文 Chinese selected" if chinese else "English selected")
        await query.edit_message_text(
            "语言：中文 ✅\nLanguage: Chinese ✅" if chinese else "Language: English ✅"
        )

    async def echo_text(update, context):
        await update.message.reply_text(f"您按了：{update.message.text}")

    async def links(update, context):
        await update.message.reply_text(
            '<a href="javascript:window.__pwned=1">坏链接 bad</a> '
            '<a href="https://example.org/">好链接 good</a>',
            parse_mode="HTML",
        )

    async def echo_photo(update, context):
        await update.message.reply_photo(update.message.photo[-1].file_id, caption="收到照片 Got your photo")

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(standin.bot_base_url)
        .base_file_url(standin.file_base_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("links", links))
    application.add_handler(CallbackQueryHandler(chosen))
    application.add_handler(MessageHandler(filters.PHOTO, echo_photo))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo_text))
    return application


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"headless Chromium not found at {CHROMIUM}")
async def test_a_person_chats_with_the_bot_in_chromium(tmp_path):
    playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    from demo.standin.server import create_app, running_standin

    app = create_app()
    add_demo_page_routes(app, PERSONAS, bot_name="养老金资格认证助手")
    photo_path = tmp_path / "my_photo.png"
    photo_path.write_bytes(_png())

    async with running_standin(app=app) as standin:
        bot = _echo_bot(standin)
        await bot.initialize()
        await bot.start()
        await bot.updater.start_polling(poll_interval=0.0, timeout=5)
        try:
            async with playwright_api.async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    context = await browser.new_context(
                        viewport={"width": 390, "height": 844},
                        device_scale_factor=2,
                        is_mobile=True,
                        has_touch=True,
                        locale="zh-CN",
                    )
                    page = await context.new_page()
                    await _play(page, playwright_api.expect, standin, photo_path)
                finally:
                    await browser.close()
        finally:
            await bot.updater.stop()
            await bot.stop()
            await bot.shutdown()


async def _play(page, expect, standin, photo_path: Path) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text} {message.location}")
            if message.type == "error" and "net::ERR_FAILED" not in message.text
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    await page.goto(f"{standin.base_url}/")
    await expect(page.locator("#bot-name")).to_have_text("养老金资格认证助手")
    await expect(page.locator("#persona-select option")).to_have_count(len(PERSONAS))
    await expect(page.locator("#start-btn")).to_be_visible()

    # Elder-friendly basics: big type, big buttons.
    font_size = await page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font_size >= 20
    send_box = await page.locator("#send-btn").bounding_box()
    assert send_box and send_box["height"] >= 48

    # /start, typed and sent with Enter.
    await page.locator("#text-input").fill("/start")
    await page.locator("#text-input").press("Enter")
    bot_messages = page.locator(".msg.from-bot")
    await expect(page.locator(".msg.from-me").first).to_contain_text("/start")
    await expect(bot_messages.first).to_contain_text("请选择语言")
    await expect(bot_messages.first.locator("strong")).to_have_text("您好！")  # the HTML <b>, from entities

    # The inline button: a toast, and the message edited in place.
    await page.locator(".inline-kb button", has_text="中文").click()
    await expect(page.locator("#toast")).to_contain_text("已选择中文")
    await expect(bot_messages.first).to_contain_text("语言：中文")
    await expect(bot_messages.first).to_contain_text("已编辑")
    await expect(bot_messages.first.locator(".inline-kb")).to_have_count(0)

    # The reply keyboard: large buttons above the input; pressing one sends its text.
    faq = page.locator("#reply-kb button", has_text="常见问题 FAQ")
    await expect(faq).to_be_visible()
    assert (await faq.bounding_box())["height"] >= 48
    await expect(page.locator("#text-input")).to_have_attribute("placeholder", "请选择或输入 Choose or type")
    await faq.click()
    await expect(page.locator(".msg.from-me", has_text="常见问题 FAQ")).to_have_count(1)
    await expect(page.locator(".msg.from-bot", has_text="您按了：常见问题 FAQ")).to_have_count(1)

    # A photo, through the attach menu; the bot echoes it back.
    await page.locator("#attach-btn").click()
    async with page.expect_file_chooser() as chooser_info:
        await page.locator('#attach-sheet [data-attach="photo"]').click()
    chooser = await chooser_info.value
    await chooser.set_files(str(photo_path))
    my_picture = page.locator(".msg.from-me img.picture")
    bot_picture = page.locator(".msg.from-bot img.picture")
    await expect(my_picture).to_have_count(1)
    await expect(bot_picture).to_have_count(1)
    await expect(page.locator(".msg.from-bot", has_text="收到照片")).to_have_count(1)
    for picture in (my_picture, bot_picture):
        await expect(picture).to_have_attribute("alt", re.compile(r"\S"))
        await page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=await picture.element_handle()
        )
    await expect(page.locator("#typing")).to_be_hidden(timeout=10000)

    # Tap a picture: it opens full size, and closes again.
    await bot_picture.click()
    await expect(page.locator("#viewer")).to_be_visible()
    await page.locator("#viewer-close").click()
    await expect(page.locator("#viewer")).to_be_hidden()

    if await page.locator("#toast").is_visible():
        await page.locator("#toast").click()  # a tap dismisses the toast
    await expect(page.locator("#toast")).to_be_hidden()
    await page.evaluate("document.getElementById('messages').scrollTop = 1e9")
    await asyncio.sleep(0.3)
    await page.screenshot(path=str(SCREENSHOT))

    # Message content is text, never markup: typed HTML comes back as the same characters.
    attack = '<img src="x" onerror="window.__pwned=1"><b>粗体</b>'
    await page.locator("#text-input").fill(attack)
    await page.locator("#send-btn").click()
    echo = page.locator(".msg.from-bot", has_text="您按了：")
    await expect(echo.last).to_contain_text(attack)
    assert await echo.last.locator("img, b").count() == 0
    # ... and links only go where http(s) goes.
    await page.locator("#text-input").fill("/links")
    await page.locator("#text-input").press("Enter")
    await expect(page.locator(".msg.from-bot a", has_text="好链接")).to_have_attribute(
        "href", "https://example.org/"
    )
    await expect(page.locator(".msg.from-bot", has_text="坏链接")).to_have_count(1)
    assert await page.locator('a[href^="javascript"]').count() == 0
    assert await page.evaluate("window.__pwned") is None

    # The bot asks for the phone number: a confirmation with the persona's number, then a contact.
    await page.locator("#reply-kb button", has_text="分享手机号").click()
    await expect(page.locator("#contact-phone")).to_have_value("+8613800138000")
    await page.locator("#contact-ok").click()
    await expect(page.locator(".msg.from-me .contact-card")).to_contain_text("+8613800138000")
    # This bot never answers a contact, so "typing…" stays up a while (until its timeout).
    await expect(page.locator("#typing")).to_be_visible()
    contact = [
        m for m in standin.state.chats[PERSONAS[0]["chat_id"]].messages.values() if "contact" in m.data
    ]
    assert contact[-1].data["contact"]["phone_number"] == "+8613800138000"

    # Another persona is another chat; coming back shows the history again.
    await page.locator("#persona-select").select_option(str(PERSONAS[1]["chat_id"]))
    await expect(page.locator("#start-btn")).to_be_visible()
    await expect(page.locator(".msg")).to_have_count(0)
    await page.locator("#persona-select").select_option(str(PERSONAS[0]["chat_id"]))
    await expect(page.locator(".msg.from-bot", has_text="收到照片")).to_have_count(1)

    # The server out of reach: a clear banner, and it clears once the server answers again.
    await page.route("**/control/chats/**", lambda route: route.abort())
    await page.locator("#persona-select").select_option(str(PERSONAS[2]["chat_id"]))
    await expect(page.locator("#banner")).to_be_visible()
    await expect(page.locator("#banner")).to_contain_text("无法连接服务器")
    await page.unroute("**/control/chats/**")
    await page.locator("#banner button").click()
    await expect(page.locator("#banner")).to_be_hidden()

    assert not problems, problems
