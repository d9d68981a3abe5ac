"""`pension-bot demo`: the stand-in Bot API, the real bot polling it, and a web page that
plays a Telegram chat, all on one local port. Nothing leaves the machine."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from app.demo_seed import STAFF_REGION, DemoGuide, seed_demo
from app.inbox_poller import update_inbox
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


def personas_for(guide: DemoGuide) -> list[dict]:
    """The page's personas, with what each needs to try the bot written on them."""
    (retiree, retiree_code), (elder, elder_code), _ = guide.retirees
    hints = {
        710001: f"绑定 Link: {retiree.id_number} · {retiree_code}",
        710002: f"为{elder.name}绑定 Link for {elder.name}: {elder.id_number} · {elder_code}",
        710004: f"工作人员码 Staff code: {guide.staff_code}",
    }
    return [
        persona | {"description": f"{persona['description']} — {hints[persona['chat_id']]}"}
        if persona["chat_id"] in hints
        else persona
        for persona in DEMO_PERSONAS
    ]


def guide_text(guide: DemoGuide) -> str:
    lines = ["  Try it (made-up people; the ID numbers are valid in form only):"]
    for retiree, code in guide.retirees:
        line = f"    {retiree.name}: ID number {retiree.id_number}, binding code {code}"
        lines.append(line)
        if guide.faces_dir:
            lines.append(
                "      certify: tap ✅, then attach (📎 → 视频 video) a note doing the actions asked, e.g. "
                f".venv/bin/pension-bot liveness sample --photo {guide.faces_dir / retiree.selfie_to_try} "
                "--actions blink,turn_left --out take.mp4"
            )
    lines.append(f"    Community staff (region {STAFF_REGION}): staff code {guide.staff_code}")
    if guide.faces_dir is None:
        lines.append("    (No reference faces: ../shared/faces is not beside the project.)")
    return "\n".join(lines) + "\n"


async def run_demo(settings: Settings, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with open_runtime(settings) as runtime:
        guide = await seed_demo(runtime, settings.var_dir / "demo")
        site_app = create_app(tokens=[DEMO_TOKEN])
        add_demo_page_routes(site_app, personas=personas_for(guide))
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
            application = build_application(
                DEMO_TOKEN, runtime.bot_services, base_url=f"{base}/bot", inbox=update_inbox(runtime)
            )
            print(f"\n  Demo ready. Open {base} in a browser (Ctrl-C stops it).\n", flush=True)
            print(guide_text(guide), flush=True)
            if ready is not None:
                ready.set()
            await poll_until(application, stop)
        finally:
            await runner.cleanup()
    print("Demo stopped.", flush=True)
