"""The scaled-out deployment as separate processes (issue 18): two webhook ingress processes,
two bot workers and the scheduler (`pension-bot serve --role ...`) on PostgreSQL and RabbitMQ, the stand-in
Bot API delivering over HTTP. Employers ask questions while one ingress and one worker are
killed with SIGKILL and the worker is started again: every question is answered, in order,
and recorded exactly once."""

from __future__ import annotations

import asyncio
import base64
import secrets
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from app.local_deployment import RoleProcess
from app.settings import Settings
from app.wiring import open_runtime
from demo.standin.client import StandinClient
from demo.standin.server import running_standin
from storage.models.employer import EmployerQuestion
from tests.e2e.harness import TOKEN, ChatUser
from web.webhook import WEBHOOK_PATH

pytestmark = pytest.mark.serial

CHATS = [880001 + n for n in range(6)]
QUESTIONS = 4
SECRET = "roles-s3cret"


def _question(n: int) -> str:
    # Outside the assistant's scope: each one is handed to staff, one row per question.
    return f"我们单位的住房公积金缴存比例应该定多少？（第{n}问）"


async def _employer(client: StandinClient, chat_id: int) -> ChatUser:
    user = ChatUser(client, chat_id)
    await user.say("/start", wait=90)
    await user.tap("简体中文", wait=60)
    await user.tap("🏢 我是用人单位经办人", wait=60)
    return user


async def _set_webhook(http: aiohttp.ClientSession, standin, ingress: RoleProcess) -> None:
    hook = {"url": f"{ingress.url}{WEBHOOK_PATH}", "secret_token": SECRET}
    async with http.post(f"{standin.bot_base_url}{TOKEN}/setWebhook", json=hook) as response:
        assert (await response.json())["ok"]


async def test_two_ingress_and_two_workers_lose_nothing_when_one_of_each_is_killed(
    tmp_path: Path, postgres_url: str, rabbitmq_url: str, redis_url: str, topology
):
    keys = {
        "DATA_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "ID_HASH_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    # The office opens the database first: it writes the keys' fingerprints, which every
    # role then checks (two first starts at once could race).
    office_settings = Settings(
        database_url=postgres_url,
        var_dir=tmp_path / "office",
        data_key=keys["DATA_KEY"],
        id_hash_key=keys["ID_HASH_KEY"],
    )
    async with (
        running_standin([TOKEN]) as standin,
        open_runtime(office_settings, index_knowledge=False) as office,
    ):
        common = {
            **keys,
            "TELEGRAM_TOKEN": TOKEN,
            "BOT_API_BASE_URL": standin.bot_base_url,
            "DATABASE_URL": postgres_url,
            "BROKER_URL": rabbitmq_url,
            "REDIS_URL": redis_url,  # the shared sending limit
            "BROKER_PREFIX": topology.prefix,
            "UPDATE_PARTITIONS": str(topology.partitions),
            "WEBHOOK_SECRET": SECRET,
            "WORKERS": "2",
        }

        def role(name: str, role: str, **env: str) -> RoleProcess:
            return RoleProcess(
                role, {**common, "VAR_DIR": str(tmp_path / name), **env}, tmp_path / f"{name}.log"
            )

        ingress = [role("ingress-a", "ingress"), role("ingress-b", "ingress")]
        workers = [role(f"worker-{i}", "worker", WORKER_INDEX=str(i)) for i in range(2)]
        everyone = [*ingress, *workers, role("scheduler", "scheduler")]
        async with aiohttp.ClientSession() as http, StandinClient(standin.base_url) as client:
            try:
                for process in everyone:
                    process.start()
                await asyncio.gather(*(process.ready(http) for process in everyone))
                await _set_webhook(http, standin, ingress[0])
                users = await asyncio.gather(*(_employer(client, chat) for chat in CHATS))

                async def ask(user: ChatUser, numbers: range) -> None:
                    for n in numbers:
                        await client.send_text(user.chat_id, _question(n))

                await asyncio.gather(*(ask(user, range(1, 3)) for user in users))
                # Mid-burst: a worker and the ingress Telegram is posting to die at once;
                # Telegram's retries then reach the other ingress (the load balancer's work).
                await asyncio.gather(workers[0].kill(), ingress[0].kill())
                await _set_webhook(http, standin, ingress[1])
                await asyncio.gather(*(ask(user, range(3, QUESTIONS + 1)) for user in users))
                workers[0].start()
                await workers[0].ready(http)

                async def all_recorded() -> bool:
                    async with office.uow_factory() as uow:
                        query = select(func.count()).select_from(EmployerQuestion)
                        return (await uow.session.execute(query)).scalar_one() >= len(CHATS) * QUESTIONS

                for _ in range(1200):
                    if await all_recorded():
                        break
                    await asyncio.sleep(0.1)
                async with office.uow_factory() as uow:
                    query = select(EmployerQuestion).order_by(EmployerQuestion.id)
                    rows = (await uow.session.execute(query)).scalars().all()
                    assert not await uow.inbox.pending(max_tries=100)
                for chat in CHATS:
                    asked = [row.question for row in rows if row.chat_id == chat]
                    # every question recorded once, in the order asked
                    assert asked == [_question(n) for n in range(1, QUESTIONS + 1)], (chat, asked)
                async with http.get(f"{workers[1].url}/metrics") as response:
                    assert "pension_bot_updates_handled_total" in await response.text()
            finally:
                await asyncio.gather(*(process.stop() for process in everyone))
                for process in everyone:
                    print(f"--- {process.role} (started {process.starts}x)\n{process.log_tail(15)}")
