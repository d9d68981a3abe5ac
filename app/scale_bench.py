"""`pension-bot bench scale`: the scaled-out deployment (`serve --role`, deploy/README.md) on
this machine's PostgreSQL, RabbitMQ and Redis, each role a process of its own.

Part 1, updates: the stand-in Bot API delivers webhook updates to two ingress processes in
front of two bot workers. Employers send questions in a burst (each is recorded once, in
`employer_questions`, when the assistant hands it to staff); half-way, one worker and the
ingress Telegram is posting to are killed with SIGKILL, Telegram's retries go to the other
ingress and the worker is started again. Counted from the database: updates a second, p50 and
p95 seconds from a question sent to it being recorded, questions lost, recorded twice, and
recorded out of the order of their chat.

Part 2, faces: a burst of liveness checks (`judge_video`, the real video-note pipeline, on a
real recording from ../shared/liveness/real against a real reference photo from
../shared/faces) sent through the task queue to one and then two face worker processes;
p50/p95 seconds from sending a check to its verdict, checks a second and the speed-up from
the second worker. In the two-worker run one face worker is killed mid-burst and started
again: every check must still get its verdict.
"""

from __future__ import annotations

import asyncio
import csv
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aio_pika
import aiohttp
from pydantic import SecretStr
from sqlalchemy import func, select

from accounts.binding import BindOutcome
from app.bench_support import (
    BenchUnavailable,
    binding_code,
    drop_database,
    fresh_database,
    fresh_key_environment,
    point_webhook,
    quiet_about_killed_clients,
    say,
    tap,
)
from app.local_deployment import RoleProcess
from app.settings import Settings
from app.wiring import Runtime, face_broker_of, open_runtime, prepare_roster
from broker.faces import RemoteFaceWork
from broker.topology import UpdateTopology
from demo.standin.client import StandinClient
from demo.standin.server import running_standin
from kernel.figures import percentile
from storage.models.employer import EmployerQuestion
from verification.cycle.policies import DEFAULT_POLICY_FILE
from verification.liveness.actions import Action
from verification.roster.service import RosterSource, import_roster
from verification.roster.synthetic import synthetic_id_number

TOKEN = "7100000010:scale-bench-token-not-a-telegram-token"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
FACES_DIR = Path(os.environ.get("PENSION_BOT_FACES_DIR", PROJECT_ROOT.parent / "shared" / "faces"))
LIVENESS_DIR = FACES_DIR.parent / "liveness" / "real"
RECORDING = "d12.mp4"  # a real selfie-style recording: face found, actions judged (~0.8 s)
REFERENCE = "people/cn_101_chen_weiting/13.jpg"
FIRST_CHAT = 770001
FIRST_RETIREE_CHAT = 771001
RESIDENCE = "110105"
PAYING = "440300"  # the bench retirees' paying region: its cycle policy has no quiet hours
SECRET = "scale-bench-secret"
PARTITIONS = 8


def _question(chat: int, n: str) -> str:
    return f"我们单位年会抽奖的奖品应该怎么选？（{chat}-{n}）"  # handed to staff: one row each


@dataclass
class UpdateFigures:
    killed: bool
    sent: int = 0
    lost: int = 0
    doubled: int = 0
    order_violations: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def lines(self) -> list[str]:
        rate = self.sent / self.seconds if self.seconds else float("nan")
        how = "1 ingress and 1 worker SIGKILLed half-way, the worker restarted" if self.killed else "no kill"
        return [
            f"updates ({how}): {self.sent} questions, first sent to last recorded in "
            f"{self.seconds:.1f} s = {rate:.1f} updates/s; sent to recorded p50 "
            f"{percentile(self.latencies, 0.5):.2f} s, p95 {percentile(self.latencies, 0.95):.2f} s",
            f"  lost {self.lost}, recorded twice {self.doubled}, "
            f"per-chat order violations {self.order_violations}",
        ]


@dataclass
class ReminderFigures:
    retirees: int
    schedulers: int
    received_once: int = 0
    received_twice: int = 0

    def line(self) -> str:
        missing = self.retirees - self.received_once - self.received_twice
        return (
            f"reminders ({self.schedulers} schedulers running): {self.retirees} retirees due, "
            f"reminded once {self.received_once}, twice or more {self.received_twice}, not reminded {missing}"
        )


@dataclass
class FaceRun:
    workers: int
    checks: int = 0
    verdicts: int = 0
    failed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    killed: bool = False

    @property
    def rate(self) -> float:
        return self.verdicts / self.seconds if self.seconds else float("nan")

    def line(self) -> str:
        return (
            f"faces, {self.workers} face worker(s)"
            f"{' (one SIGKILLed mid-burst, restarted)' if self.killed else ''}: "
            f"{self.verdicts}/{self.checks} verdicts in {self.seconds:.1f} s = {self.rate:.2f} checks/s; "
            f"send to verdict p50 {percentile(self.latencies, 0.5):.1f} s, p95 "
            f"{percentile(self.latencies, 0.95):.1f} s; no verdict {self.failed}"
        )


@dataclass
class ScaleBenchResult:
    updates: list[UpdateFigures] = field(default_factory=list)
    reminders: ReminderFigures | None = None
    faces: list[FaceRun] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [line for figures in self.updates for line in figures.lines()]
        if self.reminders is not None:
            lines.append(self.reminders.line())
        for run in self.faces:
            lines.append(run.line())
            if run.workers == 2 and not run.killed and self.faces[0].verdicts:
                lines.append(f"  speed-up from the second face worker: {run.rate / self.faces[0].rate:.2f}x")
        return lines + self.skipped

    @property
    def sound(self) -> bool:
        updates_sound = all(u.lost == 0 and u.doubled == 0 and u.order_violations == 0 for u in self.updates)
        reminders = self.reminders
        reminders_sound = reminders is None or (
            reminders.received_once == reminders.retirees and reminders.received_twice == 0
        )
        return updates_sound and reminders_sound and all(run.failed == 0 for run in self.faces)


async def run_scale_bench(
    *,
    employers: int,
    questions: int,
    face_checks: int,
    admin_url: str,
    reminded: int = 0,
    broker_url: str,
    redis_url: str,
    progress: Callable[[str], None] = print,
) -> ScaleBenchResult:
    result = ScaleBenchResult()
    prefix = f"bench-{secrets.token_hex(4)}"
    keys = fresh_key_environment()
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as work:
        workdir = Path(work)
        common = {
            **keys,
            "BROKER_URL": broker_url,
            "REDIS_URL": redis_url,
            "BROKER_PREFIX": prefix,
            "UPDATE_PARTITIONS": str(PARTITIONS),
        }
        try:
            async with aiohttp.ClientSession() as http, quiet_about_killed_clients():
                if (employers and questions) or reminded:
                    await _bot_roles(
                        workdir, common, http, employers, questions, reminded, admin_url, result, progress
                    )
                if face_checks:
                    await _faces(workdir, common, http, face_checks, result, progress)
        finally:  # the bench's queues go with it
            connection = await aio_pika.connect_robust(broker_url)
            try:
                await UpdateTopology(partitions=PARTITIONS, prefix=prefix).remove(connection)
            finally:
                await connection.close()
    return result


# ------------------------------------------------------------------ part 1: updates


async def _bot_roles(
    workdir: Path,
    common: dict[str, str],
    http: aiohttp.ClientSession,
    employers: int,
    questions: int,
    reminded: int,
    admin_url: str,
    result: ScaleBenchResult,
    progress: Callable[[str], None],
) -> None:
    """Two bursts of the employers' questions, one undisturbed, then one with the kills; then
    `reminded` retirees due for a reminder, with three schedulers running."""
    database_url, name = await fresh_database(admin_url, "scale")
    try:
        office = Settings(
            database_url=database_url,
            var_dir=workdir / "office",
            data_key=SecretStr(common["DATA_KEY"]),
            id_hash_key=SecretStr(common["ID_HASH_KEY"]),
        )
        # The office opens the new database first: the schema and the keys' fingerprints.
        opening = open_runtime(office, index_knowledge=False)
        async with running_standin([TOKEN]) as standin, opening as runtime:
            env = {
                **common,
                "TELEGRAM_TOKEN": TOKEN,
                "BOT_API_BASE_URL": standin.bot_base_url,
                "DATABASE_URL": database_url,
                "WEBHOOK_SECRET": SECRET,
                "WORKERS": "2",
            }

            def role(label: str, kind: str, **extra: str) -> RoleProcess:
                settings = {**env, "VAR_DIR": str(workdir / label), **extra}
                return RoleProcess(kind, settings, workdir / f"{label}.log")

            ingress = [role("ingress-a", "ingress"), role("ingress-b", "ingress")]
            workers = [role(f"worker-{i}", "worker", WORKER_INDEX=str(i)) for i in range(2)]
            everyone = [*ingress, *workers]
            try:
                progress("starting 2 ingress and 2 bot workers…")
                for process in everyone:
                    process.start()
                await asyncio.gather(*(process.ready(http) for process in everyone))
                await point_webhook(standin.bot_base_url, TOKEN, ingress[0].url, SECRET)
                chats = [FIRST_CHAT + n for n in range(employers)]
                async with StandinClient(standin.base_url) as client:
                    progress(f"{employers} employers opening their chats…")
                    await asyncio.gather(*(_employer(client, chat) for chat in chats))
                    for killed in (False, True) if employers and questions else ():
                        kills = ", SIGKILL half-way" if killed else ""
                        progress(f"burst: {employers} × {questions} questions{kills}…")
                        figures = UpdateFigures(killed)

                        async def between_halves() -> None:
                            await asyncio.gather(workers[0].kill(), ingress[0].kill())
                            await point_webhook(standin.bot_base_url, TOKEN, ingress[1].url, SECRET)
                            workers[0].start()

                        await _burst(
                            client, runtime, chats, questions, figures, between_halves if killed else None
                        )
                        result.updates.append(figures)
                    if reminded:
                        # The bench's paying region sends reminders at any hour, so the figure can
                        # be taken in the night of Asia/Shanghai too; the rest is the shipped policy.
                        policies = workdir / "cycle_policies.toml"
                        policies.write_text(
                            DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
                            + f'\n[regions."{PAYING}"]\nquiet_start = "00:00"\nquiet_end = "00:00"\n',
                            encoding="utf-8",
                        )
                        schedulers = [
                            role(f"scheduler-{i}", "scheduler", CYCLE_POLICIES_FILE=str(policies))
                            for i in range(3)
                        ]
                        everyone += schedulers
                        result.reminders = await _reminders(
                            runtime, client, http, schedulers, reminded, progress
                        )
            finally:
                await asyncio.gather(*(process.stop() for process in everyone))
    finally:
        await drop_database(admin_url, name)


async def _burst(
    client: StandinClient, runtime, chats: list[int], questions: int, figures: UpdateFigures, halfway
) -> None:
    """Each chat sends its questions without waiting for answers; `halfway` runs between the
    halves. Counted once every question is recorded (or five minutes passed)."""
    sent_at: dict[str, datetime] = {}
    tag = "k" if figures.killed else "c"

    async def ask(chat: int, numbers: range) -> None:
        for n in numbers:
            text = _question(chat, f"{tag}{n:03d}")
            sent_at[text] = datetime.now(UTC)
            await client.send_text(chat, text)

    async with runtime.uow_factory() as uow:
        counting = select(func.count()).select_from(EmployerQuestion)
        before = (await uow.session.execute(counting)).scalar_one()
    started = time.monotonic()
    half = questions // 2
    await asyncio.gather(*(ask(chat, range(1, half + 1)) for chat in chats))
    if halfway is not None:
        await halfway()
    await asyncio.gather(*(ask(chat, range(half + 1, questions + 1)) for chat in chats))
    figures.sent = len(sent_at)
    rows = [row for row in await _recorded(runtime, before + figures.sent) if row.question in sent_at]
    figures.seconds = time.monotonic() - started
    _count(figures, rows, sent_at, chats, [f"{tag}{n:03d}" for n in range(1, questions + 1)])


async def _reminders(
    office: Runtime,
    client: StandinClient,
    http: aiohttp.ClientSession,
    schedulers: list[RoleProcess],
    count: int,
    progress: Callable[[str], None],
) -> ReminderFigures:
    """`count` retirees certified 350 days ago (due in about two weeks: one reminder due
    now), each bound to a chat that has written to the bot; then the schedulers start."""
    figures = ReminderFigures(count, len(schedulers))
    cycle = office.bot_services.cycle
    progress(f"{count} retirees due for a reminder, bound to their chats…")
    people = await _reminder_roster(office, count, cycle.now().date())
    for chat, _, _ in people:
        await say(client, chat, "/start")  # the chat exists, as a person's does
    for chat, number, code in people:
        bound = await office.bot_services.binding.bind(chat, chat, number, code, "self")
        if bound.outcome is not BindOutcome.BOUND:
            raise BenchUnavailable(f"binding a bench retiree failed: {bound.outcome}")
    progress(f"{len(schedulers)} schedulers starting; each sweeps the reminders at its first tick…")
    for scheduler in schedulers:
        scheduler.start()
    await asyncio.gather(*(scheduler.ready(http) for scheduler in schedulers))
    chats = [chat for chat, _, _ in people]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        counts = [await _reminders_in(client, chat) for chat in chats]
        if all(counts):
            break
        await asyncio.sleep(1.0)
    await asyncio.sleep(5.0)  # a second sweep, had the locks failed, would land by now
    counts = [await _reminders_in(client, chat) for chat in chats]
    figures.received_once = sum(1 for n in counts if n == 1)
    figures.received_twice = sum(1 for n in counts if n > 1)
    return figures


async def _reminder_roster(office: Runtime, count: int, today: date) -> list[tuple[int, str, str]]:
    """Imports and prepares the retirees; (chat, ID number, binding code) of each."""
    numbers = [
        synthetic_id_number(RESIDENCE, date(1950, 1, 1) + timedelta(days=41 * i), i % 1000)
        for i in range(count)
    ]
    roster = await asyncio.to_thread(_write_reminder_roster, numbers, today - timedelta(days=350))
    try:
        await import_roster(RosterSource(roster), office.uow_factory, office.vault, today=today)
    finally:
        await asyncio.to_thread(roster.unlink)
    await prepare_roster(office, enrol_faces=False)
    people = []
    async with office.uow_factory() as uow:
        for index, number in enumerate(numbers):
            retiree = await uow.retirees.by_id_hash(office.vault.lookup_hash(number))
            assert retiree is not None  # imported just before
            people.append(
                (FIRST_RETIREE_CHAT + index, number, await binding_code(uow, office.vault, retiree.id))
            )
    return people


def _write_reminder_roster(numbers: list[str], certified: date) -> Path:
    handle = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="", encoding="utf-8")
    with handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "身份证号码", "参保地", "居住地", "退休日期", "上次认证日期", "参考照片"])
        for index, number in enumerate(numbers):
            writer.writerow(
                [f"退休人员{index}", number, PAYING, RESIDENCE, "2010-04-01", certified.isoformat(), ""]
            )
    return Path(handle.name)


async def _reminders_in(client: StandinClient, chat: int) -> int:
    return sum(1 for m in await client.messages(chat) if m["from_bot"] and m.get("text", "").startswith("⏰"))


async def _employer(client: StandinClient, chat: int) -> None:
    await say(client, chat, "/start")
    await tap(client, chat, "简体中文")
    await tap(client, chat, "🏢 我是用人单位经办人")


async def _recorded(runtime, expected: int, give_up_after: float = 300.0) -> list[EmployerQuestion]:
    """The recorded questions, once all are there (or `give_up_after` seconds passed)."""
    deadline = time.monotonic() + give_up_after
    while True:
        async with runtime.uow_factory() as uow:
            query = select(EmployerQuestion).order_by(EmployerQuestion.id)
            rows = list((await uow.session.execute(query)).scalars())
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def _count(
    figures: UpdateFigures,
    rows: list[EmployerQuestion],
    sent_at: dict[str, datetime],
    chats: list[int],
    numbers: list[str],
) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        seen[row.question] = seen.get(row.question, 0) + 1
        if row.question in sent_at and seen[row.question] == 1:
            asked = row.asked_at if row.asked_at.tzinfo else row.asked_at.replace(tzinfo=UTC)
            figures.latencies.append((asked - sent_at[row.question]).total_seconds())
    figures.lost = sum(1 for text in sent_at if text not in seen)
    figures.doubled = sum(count - 1 for count in seen.values())
    for chat in chats:
        order = [row.question for row in rows if row.chat_id == chat]
        expected = [_question(chat, n) for n in numbers if _question(chat, n) in order]
        deduplicated = list(dict.fromkeys(order))
        figures.order_violations += sum(1 for a, b in zip(deduplicated, expected, strict=False) if a != b)


# ------------------------------------------------------------------ part 2: faces


async def _faces(
    workdir: Path,
    common: dict[str, str],
    http: aiohttp.ClientSession,
    checks: int,
    result: ScaleBenchResult,
    progress: Callable[[str], None],
) -> None:
    recording, photo = LIVENESS_DIR / RECORDING, FACES_DIR / REFERENCE
    if not recording.exists() or not photo.exists():
        result.skipped.append(f"faces: skipped ({recording} or {photo} not found)")
        return
    video = recording.read_bytes()
    settings = Settings(
        broker_url=SecretStr(common["BROKER_URL"]),
        redis_url=SecretStr(common["REDIS_URL"]),
        broker_prefix=common["BROKER_PREFIX"],
        data_key=SecretStr(common["DATA_KEY"]),
        id_hash_key=SecretStr(common["ID_HASH_KEY"]),
        var_dir=workdir / "faces-client",
    )
    # A conversation waits FACE_QUEUE_TIMEOUT (120 s); here the whole burst is queued at once,
    # and the last check waits for all the others: about a second of one core each.
    remote = RemoteFaceWork(face_broker_of(settings), timeout=max(600.0, 3.0 * checks))
    try:
        for count, kill in ((1, False), (2, False), (2, True)):
            processes = [
                RoleProcess(
                    "faces",
                    {**common, "FACE_WORKERS": "1", "VAR_DIR": str(workdir / f"faces-{count}-{i}")},
                    workdir / f"faces-{count}-{i}.log",
                )
                for i in range(count)
            ]
            progress(
                f"faces: {checks} liveness checks on {count} face worker(s){', one killed' if kill else ''}…"
            )
            for process in processes:
                process.start()
            try:
                await asyncio.gather(*(process.ready(http) for process in processes))
                reference = await remote.encode_reference(photo.read_bytes())
                if reference.template is None:
                    raise BenchUnavailable(f"no face in {photo}")
                run = FaceRun(count, checks, killed=kill)
                await _face_burst(remote, video, reference.template, run, processes if kill else [])
                result.faces.append(run)
            finally:
                await asyncio.gather(*(process.stop() for process in processes))
    finally:
        await remote.shutdown()


async def _face_burst(
    remote: RemoteFaceWork, video: bytes, reference, run: FaceRun, kill: list[RoleProcess]
) -> None:
    """All checks sent at once; with `kill`, its last worker is killed once a third of the
    verdicts are in, and started again."""
    started = time.monotonic()
    third = asyncio.Event()

    async def check() -> None:
        sent = time.monotonic()
        try:
            await remote.judge_video(video, [Action.BLINK, Action.TURN_LEFT], [reference])
        except Exception:  # noqa: BLE001 - counted: a check without a verdict
            run.failed += 1
            return
        run.latencies.append(time.monotonic() - sent)
        run.verdicts += 1
        if run.verdicts >= run.checks // 3:
            third.set()

    burst = [asyncio.create_task(check()) for _ in range(run.checks)]
    if kill:
        await third.wait()
        victim = kill[-1]
        await victim.kill()
        victim.start()
    await asyncio.gather(*burst)
    run.seconds = time.monotonic() - started
