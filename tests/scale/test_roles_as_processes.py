"""The scaled-out deployment as separate processes (issue 18): two webhook ingress processes,
two bot workers, a face worker and two schedulers (`pension-bot serve --role ...`) on
PostgreSQL, RabbitMQ and Redis, the stand-in Bot API delivering over HTTP.

Employers ask questions while one ingress, one worker and one scheduler are killed with
SIGKILL and the worker is started again: every question is recorded exactly once, in order. Retirees bind,
consent and certify with real video notes judged by the face worker on the task queue; the
face worker is killed while it judges one and another is started: each retiree is told one
verdict and has exactly one attempt stored."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from app.bench_support import fresh_key_environment, point_webhook
from app.local_deployment import RoleProcess
from app.settings import Settings
from app.wiring import open_runtime, prepare_roster
from demo.standin.client import StandinClient
from demo.standin.server import running_standin
from storage.models.employer import EmployerQuestion
from tests.binding.helpers import unused_code
from tests.e2e.harness import ROSTER_HEADER, TOKEN, ChatUser
from tests.real_clips import clip, seed_challenge
from verification.roster.service import RosterSource, import_roster
from verification.roster.synthetic import synthetic_id_number

pytestmark = [pytest.mark.serial, pytest.mark.faces]

CHATS = [880001 + n for n in range(6)]
QUESTIONS = 4
SECRET = "roles-s3cret"
# chat -> (name, ID number, the real clip whose person the retiree is)
RETIREES = {
    881001: ("蔡刚", synthetic_id_number("110105", date(1950, 3, 4), 11), "d18"),
    881002: ("蔡丽", synthetic_id_number("110105", date(1951, 6, 9), 14), "d19"),
}
EVER = datetime(2000, 1, 1, tzinfo=UTC)
WAIT = 120  # seconds for a reply: a role may be starting, a face worker loading its models


def _question(n: int) -> str:
    # Outside the assistant's scope: each one is handed to staff, one row per question.
    return f"我们单位年会抽奖的奖品应该怎么选？（第{n}问）"


async def _employer(client: StandinClient, chat_id: int) -> ChatUser:
    user = ChatUser(client, chat_id)
    await user.say("/start", wait=WAIT)
    await user.tap("简体中文", wait=WAIT)
    await user.tap("🏢 我是用人单位经办人", wait=WAIT)
    return user


def _write_roster(folder: Path) -> Path:
    """The roster, each reference photo a frame of the person's own clip."""
    folder.mkdir()
    with (folder / "roster.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ROSTER_HEADER)
        for name, number, shown in RETIREES.values():
            (folder / f"{shown}.jpg").write_bytes(clip(shown).reference_photo())
            writer.writerow([name, number, "440300", "110105", "2010-04-01", "2025-12-01", f"{shown}.jpg"])
    return folder / "roster.csv"


async def _import_retirees(office, folder: Path) -> dict[int, int]:
    """The roster imported and prepared as the office does; chat -> retiree id."""
    roster = _write_roster(folder)
    await import_roster(RosterSource(roster), office.uow_factory, office.vault, today=date(2026, 11, 27))
    prepared = await prepare_roster(office)
    assert prepared.enrolment.enrolled == len(RETIREES), prepared
    ids = {}
    async with office.uow_factory() as uow:
        for chat, (_, number, _) in RETIREES.items():
            ids[chat] = (await uow.retirees.by_id_hash(office.vault.lookup_hash(number))).id
    return ids


async def _ready_to_film(client: StandinClient, office, chat: int, retiree_id: int) -> ChatUser:
    """Binds with the letter's code, consents, asks to certify; the challenge then asks for
    what the clip (filmed long before) shows."""
    _, number, shown = RETIREES[chat]
    user = ChatUser(client, chat)
    await user.say("/bind", wait=WAIT)
    await user.tap("👤 给我自己", wait=WAIT)
    await user.say(number, wait=WAIT)
    [bound] = await user.say(await unused_code(office.uow_factory, office.vault, retiree_id), wait=WAIT)
    assert "绑定成功" in bound["text"]
    await user.tap("✅ 开始认证", wait=WAIT)
    await user.tap("✅ 同意", wait=WAIT)
    await user.tap("✅ 开始认证", wait=WAIT)
    await seed_challenge(office, retiree_id, chat, clip(shown).actions)
    return user


async def _count(office, model) -> int:
    async with office.uow_factory() as uow:
        return (await uow.session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_the_roles_as_processes_lose_nothing_when_one_of_each_is_killed(
    tmp_path: Path, postgres_url: str, rabbitmq_url: str, redis_url: str, topology
):
    for _, _, shown in RETIREES.values():
        clip(shown)  # skips, saying why, where the real recordings are absent
    keys = fresh_key_environment()
    # The office opens the database first: it writes the keys' fingerprints, which every
    # role then checks (two first starts at once could race), and imports the roster.
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
        retiree_ids = await _import_retirees(office, tmp_path / "roster")
        common = {
            **keys,
            "TELEGRAM_TOKEN": TOKEN,
            "BOT_API_BASE_URL": standin.bot_base_url,
            "DATABASE_URL": postgres_url,
            "BROKER_URL": rabbitmq_url,
            "REDIS_URL": redis_url,  # the shared sending limit and the face jobs' results
            "FACE_QUEUE": "broker",
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
        faces = [role("faces-a", "faces"), role("faces-b", "faces")]
        schedulers = [role(f"scheduler-{i}", "scheduler") for i in range(2)]
        everyone = [*ingress, *workers, faces[0], *schedulers]
        async with aiohttp.ClientSession() as http, StandinClient(standin.base_url) as client:
            try:
                for process in everyone:
                    process.start()
                await asyncio.gather(*(process.ready(http) for process in everyone))
                await point_webhook(standin.bot_base_url, TOKEN, ingress[0].url, SECRET)
                users = await asyncio.gather(*(_employer(client, chat) for chat in CHATS))
                retirees = await asyncio.gather(
                    *(_ready_to_film(client, office, chat, retiree_ids[chat]) for chat in RETIREES)
                )

                async def ask(user: ChatUser, numbers: range) -> None:
                    for n in numbers:
                        await client.send_text(user.chat_id, _question(n))

                await asyncio.gather(*(ask(user, range(1, 3)) for user in users))
                # Mid-burst: a worker, a scheduler and the ingress Telegram is posting to die;
                # Telegram's retries then reach the other ingress (the load balancer's work).
                await asyncio.gather(workers[0].kill(), ingress[0].kill(), schedulers[0].kill())
                await point_webhook(standin.bot_base_url, TOKEN, ingress[1].url, SECRET)
                await asyncio.gather(*(ask(user, range(3, QUESTIONS + 1)) for user in users))
                workers[0].start()

                # The video notes; the face worker dies while it judges, another takes over.
                sent = {}
                for user in retirees:
                    video = clip(RETIREES[user.chat_id][2]).path.read_bytes()
                    sent[user.chat_id] = await client.send_video_note(user.chat_id, video, duration=8)
                await asyncio.sleep(1.0)
                await faces[0].kill()
                faces[1].start()
                for user in retirees:
                    [verdict] = await user.replies(sent[user.chat_id]["message"]["message_id"], wait=WAIT)
                    assert "认证成功" in verdict["text"], verdict["text"]
                await workers[0].ready(http)

                for _ in range(1200):
                    if await _count(office, EmployerQuestion) >= len(CHATS) * QUESTIONS:
                        break
                    await asyncio.sleep(0.1)
                async with office.uow_factory() as uow:
                    query = select(EmployerQuestion).order_by(EmployerQuestion.id)
                    rows = (await uow.session.execute(query)).scalars().all()
                    assert not await uow.inbox.pending(max_tries=100)
                    for chat, retiree_id in retiree_ids.items():
                        attempts = await uow.attempts.since(retiree_id, EVER)
                        assert len(attempts) == 1, (chat, [a.reason for a in attempts])
                        assert (await uow.certifications.latest(retiree_id)).method == "self_video"
                for chat in CHATS:
                    asked = [row.question for row in rows if row.chat_id == chat]
                    # every question recorded once, in the order asked
                    assert asked == [_question(n) for n in range(1, QUESTIONS + 1)], (chat, asked)
                async with http.get(f"{workers[1].url}/metrics") as response:
                    assert "pension_bot_updates_handled_total" in await response.text()
            finally:
                await asyncio.gather(*(process.stop() for process in [*everyone, faces[1]]))
                for process in [*everyone, faces[1]]:
                    print(f"--- {process.role} (started {process.starts}x)\n{process.log_tail(15)}")
