"""`pension-bot demo`: the stand-in Bot API, the real bot polling it, and a web page that
plays a Telegram chat, all on one local port. Nothing leaves the machine."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from app.serve import poll_until, stop_on_signals
from app.settings import Settings
from app.wiring import open_runtime
from bot.application import build_application
from standin.server import create_app
from web.demo_page import add_demo_page_routes

logger = logging.getLogger(__name__)

# The stand-in accepts only this token; it is no secret, it opens nothing outside this machine.
DEMO_TOKEN = "7100000001:local-demo-token-not-a-telegram-token"

DEMO_PERSONAS = [
    {
        "chat_id": 710001,
        "label": "退休人员 Retiree",
        "description": "了解和办理领取养老金资格认证 · Certify as a retiree",
        "first_name": "王秀兰",
        "language_code": "zh-hans",
        "phone_number": "13800000001",
    },
    {
        "chat_id": 710002,
        "label": "家属 Family helper",
        "description": "帮家里老人办理 · Help an elderly relative",
        "first_name": "李明",
        "language_code": "zh-hans",
    },
    {
        "chat_id": 710003,
        "label": "用人单位 Employer",
        "description": "参保缴费问题 · Ask what an employer owes",
        "first_name": "HR Zhang",
        "language_code": "zh-hans",
    },
    {
        "chat_id": 710004,
        "label": "社区工作人员 Staff",
        "description": "审核、上门核查 · Community staff",
        "first_name": "赵工作员",
        "language_code": "zh-hans",
    },
    {
        "chat_id": 710005,
        "label": "English speaker",
        "description": "Try the bot in English",
        "first_name": "Alex",
        "language_code": "en",
    },
]


async def run_demo(settings: Settings, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with open_runtime(settings) as runtime:
        site_app = create_app(tokens=[DEMO_TOKEN])
        add_demo_page_routes(site_app, personas=DEMO_PERSONAS)
        runner = web.AppRunner(site_app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:
            await runner.cleanup()
            raise SystemExit(
                f"Cannot listen on {host}:{port} ({error.strerror}). Try --port 8090."
            ) from error
        try:
            base = f"http://{host}:{port}"
            application = build_application(DEMO_TOKEN, runtime.bot_services, base_url=f"{base}/bot")
            print(f"\n  Demo ready. Open {base} in a browser (Ctrl-C stops it).\n", flush=True)
            if ready is not None:
                ready.set()
            await poll_until(application, stop)
        finally:
            await runner.cleanup()
    print("Demo stopped.", flush=True)
