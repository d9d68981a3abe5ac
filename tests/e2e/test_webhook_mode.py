"""`pension-bot run` in webhook mode: the Bot API (the stand-in) POSTs updates to the bot's
aiohttp endpoint with the secret token; a request without it is refused and recorded."""

from __future__ import annotations

import asyncio
import socket

import aiohttp

from app.serve import webhook_until
from app.settings import Settings
from app.wiring import open_runtime
from bot.application import build_application
from demo.standin.client import StandinClient
from demo.standin.server import running_standin
from tests.e2e.harness import TOKEN
from web.webhook import WEBHOOK_PATH


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_updates_arrive_by_webhook_and_forged_requests_are_refused(database_url, tmp_path):
    port = _free_port()
    async with running_standin(tokens=[TOKEN]) as standin:
        settings = Settings(
            database_url=database_url,
            var_dir=tmp_path / "var",
            telegram_token=TOKEN,
            bot_mode="webhook",
            webhook_url=f"http://127.0.0.1:{port}",
            webhook_secret="a-secret-only-telegram-knows",
            listen_port=port,
            bot_api_base_url=standin.bot_base_url,
        )
        async with open_runtime(settings) as runtime, StandinClient(standin.base_url) as user:
            application = build_application(TOKEN, runtime.bot_services, base_url=standin.bot_base_url)
            stop = asyncio.Event()
            server = asyncio.create_task(webhook_until(application, runtime, stop))
            try:
                for _ in range(200):
                    if standin.state.updates.webhook is not None:
                        break
                    await asyncio.sleep(0.05)
                sent = await user.send_text(840001, "/start")
                [greeting] = await user.wait_for_bot_messages(
                    840001, sent["message"]["message_id"], timeout=20
                )
                assert "请先选择语言" in greeting["text"]

                url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
                async with aiohttp.ClientSession() as http:
                    forged = {
                        "update_id": 99,
                        "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
                    }
                    async with http.post(
                        url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
                    ) as response:
                        assert response.status == 403
                    async with http.post(url, json=forged) as response:
                        assert response.status == 403
                    headers = {"X-Telegram-Bot-Api-Secret-Token": "a-secret-only-telegram-knows"}
                    async with http.post(url, data=b"{not json", headers=headers) as response:
                        assert response.status == 400
                async with runtime.uow_factory() as uow:
                    codes = sorted(e.code for e in await uow.errors.list(source="webhook"))
                assert codes == ["forged_webhook_request", "forged_webhook_request", "malformed_update"]
            finally:
                stop.set()
                await asyncio.wait_for(server, 20)
