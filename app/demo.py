"""`pension-bot demo`: the stand-in Bot API, the real bot polling it, and a web page that
plays a Telegram chat, all on one local port. Nothing leaves the machine."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path

from aiohttp import web

from app.console_app import mount_console
from app.inbox_poller import update_inbox
from app.serve import poll_until, stop_on_signals
from app.settings import Settings
from app.wiring import open_runtime
from bot.application import build_application
from demo.page import DemoRecording, add_demo_page_routes
from demo.seed import STAFF_REGION, DemoGuide, seed_demo
from demo.standin.server import create_app
from demo.standin.state import StandinState
from demo.standin_ids import IdsUsedUp, reserve_first_id
from verification.liveness.actions import Action

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
    if guide.recording is not None:
        certify = (
            " — 认证：按 ✅ 开始认证，再点 📎 附件 → 演示录像（真人录像：她的参考照片取自其中一帧，"
            "演示把认证动作设成录像里做的动作）"
            " · Certify: ✅, then 📎 Attach → Demo recording (a real person's video; her reference "
            "photo is a frame of it, and the demo asks for the actions it shows)"
        )
    else:
        certify = (
            " — 视频认证需要真人录像（../shared/liveness/real），本机没有"
            " · Certifying by video note needs the real recordings (../shared/liveness/real), not found"
        )
    hints = {
        710001: f"绑定 Link: {retiree.id_number} · {retiree_code}{certify}",
        710002: f"为{elder.name}绑定 Link for {elder.name}: {elder.id_number} · {elder_code}",
        710004: f"工作人员码 Staff code: {guide.staff_code}",
    }
    return [
        persona | {"description": f"{persona['description']} — {hints[persona['chat_id']]}"}
        if persona["chat_id"] in hints
        else persona
        for persona in DEMO_PERSONAS
    ]


def page_recording(guide: DemoGuide) -> DemoRecording | None:
    """The recording the page's attach menu offers, with what the page says about it."""
    if guide.recording is None:
        return None
    retiree, clip = guide.recording.retiree, guide.recording.clip
    actions = "、".join(_ACTION_NAMES[a][0] for a in clip.actions)
    actions_en = ", ".join(_ACTION_NAMES[a][1] for a in clip.actions)
    return DemoRecording(
        clip.path,
        f"这是一段真人录制的视频（公开的 MIT 许可录像 {clip.name}.mp4，只在本机读取）。演示里{retiree.name}的"
        f"参考照片取自其中一帧，认证动作也设成了录像里做的动作（{actions}）；真正的认证每次随机出动作。"
        f" A real recording ({clip.name}.mp4, MIT-licensed, read on this machine only): "
        f"{retiree.name}'s reference photo is a frame of it, and the demo asks her for the actions it "
        f"shows ({actions_en}); the real bot asks for random ones each time.",
    )


_ACTION_NAMES = {
    Action.BLINK: ("眨眼", "blink"),
    Action.TURN_LEFT: ("向左转头", "turn left"),
    Action.TURN_RIGHT: ("向右转头", "turn right"),
    Action.OPEN_MOUTH: ("张嘴", "open the mouth"),
}


def guide_text(guide: DemoGuide) -> str:
    lines = ["  Try it (made-up people; the ID numbers are valid in form only):"]
    for retiree, code in guide.retirees:
        lines.append(f"    {retiree.name}: ID number {retiree.id_number}, binding code {code}")
        if guide.recording is not None and guide.recording.retiree == retiree:
            clip = guide.recording.clip
            lines += [
                "      certify by video note: tap ✅, then on the page 📎 Attach → Demo recording",
                f"      (or attach {clip.path} as a video note). It is a real person's recording",
                "      (MIT-licensed, read at run time, never copied into the project): "
                f"{retiree.name}'s reference photo",
                "      is a frame of it, and the demo asks her for the actions it shows "
                f"({', '.join(clip.actions)})",
                "      instead of random ones. Each recording certifies once: the bot refuses a note "
                "it has seen before.",
            ]
    if guide.no_recording:
        lines.append(f"    (Certification by video note cannot be tried: {guide.no_recording}.)")
    lines.append(
        "    A video made from someone's photo is an animated photo, which the bot refuses; "
        "staff certify in person with a photo."
    )
    lines.append(f"    Community staff (region {STAFF_REGION}): staff code {guide.staff_code}")
    history = guide.history
    if history is not None and history.seeded:
        lines.append(
            f"    The staff console shows a made-up year of 110105 and 110106: {history.retirees} retirees,"
            f" {history.records} verification records, {history.coverage:.0%} checked this year"
            f" (seeded in {history.seconds:.1f} s)"
        )
    if guide.faces_dir is None:
        lines.append("    (No reference faces for the others: ../shared/faces is not beside the project.)")
    return "\n".join(lines) + "\n"


def standin_state(var_dir: Path) -> StandinState:
    """The stand-in, its ids going on above those of its last run (demo/standin_ids.py)."""
    try:
        first_id = reserve_first_id(var_dir / "demo" / "standin_ids")
    except IdsUsedUp as error:
        raise SystemExit(
            f"The demo's stand-in cannot go on from its last run: {error}. Delete the demo's"
            f" {var_dir}/ (made-up data only) and start it again."
        ) from error
    return StandinState([DEMO_TOKEN], first_id=first_id)


async def run_demo(
    settings: Settings,
    host: str,
    port: int,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serves the demo until `stop` is set (a test) or the process is told to stop."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    # The bot's sign-in links must point at this page's port.
    settings = settings.model_copy(update={"console_url": f"http://{host}:{port}/console"})
    async with open_runtime(settings) as runtime:
        guide = await seed_demo(runtime, settings.var_dir / "demo", date.today())
        site_app = create_app(state=standin_state(settings.var_dir))
        add_demo_page_routes(site_app, personas=personas_for(guide), recording=page_recording(guide))
        mount_console(site_app, runtime)
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
            print(f"\n  Demo ready. Open {base} in a browser (Ctrl-C stops it).", flush=True)
            print(
                f"  Staff console: {base}/console/ (as the staff persona, sign in with the staff code,"
                " then tap 🖥 网页工作台: the bot sends a one-time link)\n",
                flush=True,
            )
            print(guide_text(guide), flush=True)
            if ready is not None:
                ready.set()
            await poll_until(application, stop)
        finally:
            await runner.cleanup()
    print("Demo stopped.", flush=True)
