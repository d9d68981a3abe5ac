"""`pension-bot bench faults`: is an update lost or handled twice when the bot is killed
(SIGKILL) at random moments, or when its database is away for a while; and is a campaign
message lost or sent twice when its sender is killed or loses the database mid-campaign?

The stand-in Bot API runs in this process; the bot runs as a subprocess (`pension-bot run`,
polling the stand-in) on a fresh PostgreSQL database that it reaches through a TCP proxy of
this process. Three kinds of traffic:

* employers send questions (each a row in `employer_questions` when the bot is not sure of
  the answer, and one reply) and /help (one reply);
* retirees certify: a roster is imported into the fresh database and prepared as the office
  does (binding codes, reference faces from the roster's photos, from ../shared/faces); each
  retiree binds, consents and gets a liveness challenge in their chat, and later sends one
  video note doing the actions asked, animated from another photo of the same person (as the
  end-to-end tests film one). Each note must get exactly one attempt stored (the verdict)
  and exactly one verdict told, pass or fail alike. Without the photos this part is skipped,
  said in one line;
* campaigns (app/fault_bench_campaigns.py): `python -m app.publicity_worker` sends two
  campaigns to N subscribers, on a database of its own behind the same proxy.

Phase 1 kills the bot with SIGKILL at seeded random moments and starts it again at once:
half of the kills (where there are video notes) come within 2.5 s of the bot storing a note,
while it is downloaded or judged, the others just after a text. Meanwhile campaign 1 goes
out and its sender is killed at seeded random deliveries. Phase 2 starts campaign 2 and,
once it is part-way, cuts the proxy for `outage_seconds`: bot and sender lose their
databases together. Then the bench waits for everything to settle and counts, per update
sent: handled (its inbox row done, its effect stored once, one reply), lost and duplicated;
and per campaign recipient: received, lost, received twice.

The campaign sender is at least once by design (content/publicity/sender.py): a kill or the
cut landing between Telegram's answer and the delivery's mark sends that message again. The
bench counts such a duplicate as one; it does not hide it.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.bench_support import (
    BenchUnavailable,
    binding_code,
    drop_database,
    fresh_database,
    fresh_key_environment,
    last_id,
    quiet_about_killed_clients,
    say,
    tap,
)
from app.fault_bench_campaigns import CampaignBench, CampaignReport
from app.settings import Settings
from app.wiring import Runtime, open_runtime, prepare_roster
from content.i18n import Translator
from content.publicity.sender import TELEGRAM_RATE
from demo.standin.client import StandinClient
from demo.standin.server import running_standin
from kernel.clock import utc_now
from liveness_lab.synthesis import encode_mp4, load_face_photo, render_genuine
from liveness_lab.synthesis.photo import FacePhoto
from storage.db import create_engine, create_session_factory
from storage.models.certification import CertificationAttempt
from storage.models.durability import InboxUpdate
from storage.models.employer import EmployerQuestion
from storage.schema import upgrade
from storage.uow import UnitOfWorkFactory, unit_of_work_factory
from verification.liveness.actions import Action
from verification.roster.service import RosterSource, import_roster
from verification.roster.synthetic import synthetic_id_number

TOKEN = "7100000009:fault-bench-token-not-a-telegram-token"
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
FACES_DIR = Path(os.environ.get("PENSION_BOT_FACES_DIR", PROJECT_ROOT.parent / "shared" / "faces"))
# Questions the knowledge base is not sure about: each is queued for staff (one row).
QUESTION_STEMS = (
    "我们单位年会抽奖的奖品应该怎么选？编号{n}",
    "公司年会发的购物卡要不要算进缴费基数，编号{n}",
    "员工出国旅游期间的社保怎么处理 问题{n}",
)
FIRST_EMPLOYER_CHAT = 990001
FIRST_RETIREE_CHAT = 880001
RETIREE_NAMES = (
    "王秀英", "李桂兰", "张淑珍", "刘玉兰", "陈建国", "杨秀兰", "赵国强", "黄桂英", "周建华", "吴玉珍",
    "徐志强", "孙凤英", "胡建军", "朱秀珍", "高德明", "林淑英", "何永红", "郭志华", "马玉梅", "罗建平",
)  # fmt: skip
EAST_ASIAN = ("cn_", "jp_", "kr_")  # folder prefixes of ../shared/faces/people
# A kill up to this long after the bot stored a video note lands while it is downloaded or
# judged (1-2 s of one core in the face worker, more when the worker has just been started).
KILL_AFTER_NOTE = 2.5
TAKE_SIZE, TAKE_FPS = 480, 24  # as the end-to-end tests film a take


# ------------------------------------------------------------------ the database proxy


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the database; `cut()` drops every connection and refuses
    new ones (accepted and closed at once, as a server that went away), `restore()` heals."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.cut_off = False
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self.cut_off = True
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def restore(self) -> None:
        self.cut_off = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}
        try:
            await asyncio.gather(
                self._pipe(reader, upstream_writer),
                self._pipe(upstream_reader, writer),
                return_exceptions=True,
            )
        finally:
            for end in (writer, upstream_writer):
                self._writers.discard(end)
                end.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


# ------------------------------------------------------------------ the bot process


class BotProcess:
    """`python -m app.cli run` against the stand-in, killed and started again on demand; or,
    for the baseline, the same bot polling with PTB's Updater and no inbox (as before)."""

    def __init__(self, env: dict[str, str], log_path: Path, *, baseline: bool = False) -> None:
        self._env = env
        self.baseline = baseline
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.exits = 0  # stopped by itself (not killed by the bench) and started again
        self._killing = False

    def start(self) -> None:
        log = self.log_path.open("ab")
        command = ["-m", "app.fault_bench", "baseline-bot"] if self.baseline else ["-m", "app.cli", "run"]
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a fast fork; the bench waits on it below
            [sys.executable, *command],
            cwd=PROJECT_ROOT,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.starts += 1

    async def supervise(self) -> None:
        """As systemd would: a bot that stopped by itself (it cannot start while the database
        is away) is started again a second later. Runs until cancelled."""
        while True:
            await asyncio.sleep(1.0)
            if not self._killing and self.process is not None and self.process.poll() is not None:
                self.exits += 1
                self.start()

    async def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._killing = True  # the bench starts it again itself, not the supervisor
            try:
                self.process.send_signal(signal.SIGKILL)
                await asyncio.to_thread(self.process.wait)
            finally:
                self._killing = False

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            for _ in range(200):
                if self.process.poll() is not None:
                    return
                await asyncio.sleep(0.05)
            await self.kill()


# ------------------------------------------------------------------ what was sent


@dataclass
class Sent:
    chat_id: int
    update_id: int
    message_id: int
    kind: str  # "question", "help" or "video_note"
    text: str


@dataclass
class Certifier:
    """A retiree of the bench's roster in a chat of their own: bound, consented, a liveness
    challenge open and a take of it ready to send as a video note."""

    chat_id: int
    name: str
    id_number: str
    reference: Path  # their photo in the roster, enrolled as the reference face
    others: tuple[Path, ...]  # other photos of the same person: the first usable one is filmed
    face: FacePhoto | None = None  # that photo, its face found: what the take is animated from
    retiree_id: int = 0
    code: str = ""
    after_id: int = 0  # the challenge message: the verdict comes after it
    take: bytes = b""


@dataclass
class FaultBenchResult:
    sent: int = 0
    handled: int = 0
    lost: int = 0
    duplicated: int = 0
    questions_expected: int = 0
    questions_stored: int = 0
    questions_lost: int = 0
    questions_duplicated: int = 0
    replies_expected: int = 0
    replies_received: int = 0
    replies_lost: int = 0
    replies_duplicated: int = 0
    notes_sent: int = 0
    notes_judged: int = 0  # exactly one verdict stored and exactly one told
    notes_lost: int = 0
    notes_duplicated: int = 0
    notes_busy: int = 0  # told to send it again: not judged
    verdicts: dict[str, int] = field(default_factory=dict)  # attempt outcomes of the notes sent
    notes_skipped: str = ""  # why the video notes were not sent, where they were not
    campaigns: CampaignReport | None = None
    apologies: int = 0
    inbox_states: dict[str, int] = field(default_factory=dict)
    kills: int = 0
    kills_after_notes: int = 0
    interrupted: dict[str, int] = field(default_factory=dict)  # by kind: stored, not done at a kill
    restarts_after_exit: int = 0
    outage_seconds: float = 0.0
    seconds: float = 0.0
    load: float = 0.0  # the machine's 1-minute load average: the figures depend on it
    bot_log: str = ""

    @property
    def lost_updates(self) -> int:
        return self.sent - self.handled

    def lines(self) -> list[str]:
        states = ", ".join(f"{state} {count}" for state, count in sorted(self.inbox_states.items()))
        interrupted = ", ".join(f"{kind} {count}" for kind, count in sorted(self.interrupted.items()))
        campaigns = self.campaigns
        deliveries_lost = campaigns.lost if campaigns else 0
        deliveries_twice = campaigns.duplicated if campaigns else 0
        lines = [
            f"updates sent        {self.sent}   ({self.sent - self.notes_sent} questions and /help from "
            f"employers, {self.notes_sent} video notes from retirees)",
            f"processed           {self.handled}   (its effect and reply seen, its inbox row done)",
            f"lost                {self.lost}   ({self.lost_updates} update(s): no inbox row done, no "
            f"question or verdict stored, or no reply; {deliveries_lost} campaign recipient(s) who got "
            "nothing)",
            f"duplicated          {self.duplicated}   ({self.duplicated - deliveries_twice} update(s): a "
            f"question or verdict stored twice or a reply sent twice; {deliveries_twice} campaign "
            "recipient(s) who got it twice)",
            f"  questions         {self.questions_stored}/{self.questions_expected} stored, "
            f"{self.questions_lost} lost, {self.questions_duplicated} twice",
            f"  replies           {self.replies_received}/{self.replies_expected} received, "
            f"{self.replies_lost} missing, {self.replies_duplicated} extra (questions and /help, per chat)",
            self._video_line(),
            *(self._campaign_lines()),
            f"  apologies         {self.apologies}   (error texts sent while the database was away)",
            f"  inbox             {states}",
            f"faults              bot: {self.kills} SIGKILL(s), {self.kills_after_notes} of them within "
            f"{KILL_AFTER_NOTE:g} s of storing a video note; it stopped by itself {self.restarts_after_exit} "
            "time(s) and was started again",
            f"                    updates a kill left stored but not done (handled again at the next "
            f"start): {interrupted or 'none'}",
        ]
        if campaigns:
            lines.append(
                f"                    campaign sender: {campaigns.kills} SIGKILL(s) during campaign 1, "
                f"started again at once; {campaigns.failures} failed run(s) and {campaigns.exits} run(s) "
                f"that ended with a lease to wait for, each started again ({campaigns.rate:g} msg/s, "
                f"lease {campaigns.lease_seconds:g} s)"
            )
        cut = "the bot's and the campaigns' database" if campaigns else "the bot's database"
        lines += [
            f"                    a {self.outage_seconds:.0f} s outage of {cut} (one proxy cut)",
            f"took                {self.seconds:.0f} s (load average {self.load:.1f} on {os.cpu_count()} "
            f"CPUs at the end); logs: {self.bot_log}",
        ]
        return lines

    def _video_line(self) -> str:
        if self.notes_skipped:
            return f"  video notes       skipped: {self.notes_skipped}"
        verdicts = ", ".join(f"{outcome} {count}" for outcome, count in sorted(self.verdicts.items()))
        return (
            f"  video notes       {self.notes_judged}/{self.notes_sent} judged once and told once, "
            f"{self.notes_lost} lost ({self.notes_busy} told to resend), {self.notes_duplicated} twice; "
            f"verdicts: {verdicts or 'none'} (pass or fail does not matter here)"
        )

    def _campaign_lines(self) -> list[str]:
        if self.campaigns is None:
            return ["  campaigns         none sent (--campaign-recipients 0)"]
        return [figures.line() for figures in self.campaigns.campaigns]


# ------------------------------------------------------------------ the databases


def _through(proxy: TcpProxy, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


# ------------------------------------------------------------------ chats


async def _set_up_employer(client: StandinClient, chat_id: int) -> None:
    await say(client, chat_id, "/start")
    await tap(client, chat_id, "简体中文")
    await tap(client, chat_id, "🏢 我是用人单位经办人")


async def _set_up_certifier(client: StandinClient, certifier: Certifier) -> None:
    """As a retiree does it (tests/e2e/test_certification_flow.py): binds with the code of
    their letter, consents, and asks to certify; the bot answers with a challenge."""
    chat = certifier.chat_id
    await say(client, chat, "/bind")
    await tap(client, chat, "👤 给我自己")
    await say(client, chat, certifier.id_number)
    await say(client, chat, certifier.code)
    await tap(client, chat, "✅ 开始认证")
    await tap(client, chat, "✅ 同意")
    await tap(client, chat, "✅ 开始认证")
    certifier.after_id = await last_id(client, chat)


# ------------------------------------------------------------------ retirees who certify


def faces_folder() -> Path | None:
    """The shared real-face photos beside the project, or None where this checkout has none."""
    return FACES_DIR if (FACES_DIR / "manifest.csv").exists() else None


def _face_pairs(faces: Path) -> list[tuple[Path, tuple[Path, ...]]]:
    """(reference, the other photos) of every person with two photos or more; East Asian
    people first: the people this product serves, and their photos here are full-size."""
    photos: dict[str, list[Path]] = defaultdict(list)
    with (faces / "manifest.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["kind"] == "people" and row["identity"]:
                photos[row["identity"]].append(faces / row["path"])
    order = sorted(photos, key=lambda identity: (not identity.startswith(EAST_ASIAN), identity))
    return [
        (photos[identity][0], tuple(photos[identity][1:])) for identity in order if len(photos[identity]) >= 2
    ]


def _certifiers(faces: Path, count: int) -> list[Certifier]:
    pairs = _face_pairs(faces)
    certifiers = []
    for index in range(count):
        reference, others = pairs[index % len(pairs)]  # more notes than people: faces reused
        name = RETIREE_NAMES[index % len(RETIREE_NAMES)]
        if index >= len(RETIREE_NAMES):
            name += str(index // len(RETIREE_NAMES) + 1)
        born = date(1948, 1, 5) + timedelta(days=37 * index)  # born 1948 to the 1960s
        number = synthetic_id_number("110105", born, index % 1000)
        certifiers.append(Certifier(FIRST_RETIREE_CHAT + index, name, number, reference, others))
    return certifiers


def _write_roster(folder: Path, certifiers: list[Certifier], today: date) -> Path:
    """The roster an office would import, with a reference photo for everyone. Certified two
    months ago: no reminder falls due while the bench runs."""
    folder.mkdir(parents=True, exist_ok=True)
    roster = folder / "roster.csv"
    last_certified = (today - timedelta(days=60)).isoformat()
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "身份证号码", "参保地", "居住地", "退休日期", "上次认证日期", "参考照片"])
        for index, certifier in enumerate(certifiers):
            photo = f"reference_{index}{certifier.reference.suffix}"
            shutil.copyfile(certifier.reference, folder / photo)
            writer.writerow(
                [certifier.name, certifier.id_number, "440300", "110105", "2010-04-01", last_certified, photo]
            )
    return roster


async def _enrol(office: Runtime, certifiers: list[Certifier], folder: Path) -> list[Certifier]:
    """Imports the roster into the bot's database and prepares it as the office does (binding
    codes, due dates, reference faces); meanwhile each certifier's photo to film is looked
    at. Returns the certifiers with a face enrolled and a photo to film."""
    today = utc_now().astimezone(ZoneInfo(office.settings.timezone)).date()
    roster = _write_roster(folder, certifiers, today)
    looking = asyncio.create_task(asyncio.to_thread(find_faces, certifiers))
    try:
        await import_roster(RosterSource(roster), office.uow_factory, office.vault, today=today)
        await prepare_roster(office)
    finally:
        await looking
    ready = []
    async with office.uow_factory() as uow:
        for certifier in certifiers:
            retiree = await uow.retirees.by_id_hash(office.vault.lookup_hash(certifier.id_number))
            if retiree is None or certifier.face is None or not await uow.faces.references(retiree.id):
                continue
            certifier.retiree_id = retiree.id
            certifier.code = await binding_code(uow, office.vault, retiree.id)
            ready.append(certifier)
    return ready


async def _asked(uow_factory, certifier: Certifier) -> list[str]:
    """The actions of the certifier's open challenge, as the bot asked for them."""
    async with uow_factory() as uow:
        challenge = await uow.challenges.open_for(certifier.retiree_id, certifier.chat_id)
    if challenge is None:
        return []
    actions = list(challenge.actions)
    return actions if challenge.mode != "stepwise" else [actions[challenge.step]]


def find_faces(certifiers: list[Certifier]) -> None:
    """Each certifier's first photo (other than the reference) with a face a take can be
    animated from. One at a time: dlib's detector must not run in two threads at once."""
    for certifier in certifiers:
        for photo in certifier.others:
            try:
                certifier.face = load_face_photo(photo, size=TAKE_SIZE)
                break
            except ValueError:  # no face found, too small, or turned too far aside to turn
                continue


def film_take(face: FacePhoto, actions: list[str], seed: int) -> bytes:
    """A take of `actions` animated from a real photo by the lab (liveness_lab/synthesis/):
    the judge now refuses it as an animated photo, which is as good for this bench as a pass:
    what counts is that each note is judged once and told once. About 2 s of CPU."""
    frames = render_genuine(face, [Action(a) for a in actions], size=TAKE_SIZE, fps=TAKE_FPS, seed=seed)
    return encode_mp4(frames, fps=TAKE_FPS)


async def _ready_to_film(
    client: StandinClient, uow_factory, certifiers: list[Certifier], rng: random.Random
) -> list[Certifier]:
    """Each certifier set up in their chat and their take filmed (two at a time, in threads:
    the work is mostly in numpy and the encoder). Returns those with a take: one whose
    challenge did not come is left out, and said so."""
    seeds = {certifier.chat_id: rng.randrange(1_000_000) for certifier in certifiers}
    filming = asyncio.Semaphore(2)

    async def prepare(certifier: Certifier) -> None:
        await _set_up_certifier(client, certifier)
        actions = await _asked(uow_factory, certifier)
        if actions:
            assert certifier.face is not None  # find_faces chose it
            async with filming:
                certifier.take = await asyncio.to_thread(
                    film_take, certifier.face, actions, seeds[certifier.chat_id]
                )

    await asyncio.gather(*(prepare(certifier) for certifier in certifiers))
    return [certifier for certifier in certifiers if certifier.take]


# ------------------------------------------------------------------ the bench


async def run_fault_bench(
    *,
    updates: int = 150,
    users: int = 8,
    video_notes: int = 16,
    campaign_recipients: int = 200,
    campaign_rate: float = TELEGRAM_RATE,
    lease_seconds: float = 5.0,
    kills: int = 4,
    kill_seconds: float = 40.0,
    outage_seconds: float = 30.0,
    settle_seconds: float = 60.0,
    sweep_seconds: float = 5.0,
    seed: int = 1,
    database_url: str = DEFAULT_DATABASE_URL,
    workdir: Path | None = None,
    keep_database: bool = False,
    baseline: bool = False,
    progress=print,
) -> FaultBenchResult:
    began = time.monotonic()
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise BenchUnavailable("the fault bench needs PostgreSQL (--database-url postgresql+asyncpg://…)")
    databases: list[str] = []
    owned_dir = None
    if workdir is None:
        owned_dir = tempfile.TemporaryDirectory(prefix="pension-bot-faults-")
        workdir = Path(owned_dir.name)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    engine = None
    try:
        bot_url, name = await fresh_database(database_url, "bot")
        databases.append(name)
        engine = create_engine(bot_url)
        await upgrade(engine)
        await proxy.start()
        bench = _Bench(
            workdir=workdir,
            bot_url=bot_url,
            uow_factory=unit_of_work_factory(create_session_factory(engine)),
            proxy=proxy,
            rng=random.Random(seed),
            progress=progress,
        )
        campaign_url = None
        if campaign_recipients > 0:
            campaign_url, name = await fresh_database(database_url, "campaigns")
            databases.append(name)
        result = await bench.run(
            updates=updates,
            users=users,
            video_notes=video_notes,
            campaign=_CampaignPlan(campaign_url, campaign_recipients, campaign_rate, lease_seconds, seed),
            kills=kills,
            kill_seconds=kill_seconds,
            outage_seconds=outage_seconds,
            settle_seconds=settle_seconds,
            sweep_seconds=sweep_seconds,
            baseline=baseline,
        )
    finally:
        await proxy.close()
        if engine is not None:
            await engine.dispose()
        if not keep_database:
            for name in databases:
                with contextlib.suppress(Exception):
                    await drop_database(database_url, name)
    result.outage_seconds = outage_seconds
    result.seconds = time.monotonic() - began
    result.load = os.getloadavg()[0]
    result.bot_log = (
        f"{workdir / 'bot.log'}, {workdir / 'sender.log'}"
        if owned_dir is None
        else "(removed with their folder)"
    )
    if owned_dir is not None:
        owned_dir.cleanup()
    return result


@dataclass
class _CampaignPlan:
    database_url: str | None  # None: no campaigns
    recipients: int
    rate: float
    lease_seconds: float
    seed: int


@dataclass
class _Bench:
    """One run: the bot and the traffic, the faults, then the count."""

    workdir: Path
    bot_url: str
    uow_factory: UnitOfWorkFactory  # the bot's database, directly (not through the proxy)
    proxy: TcpProxy
    rng: random.Random
    progress: Callable[[str], object]
    sent: list[Sent] = field(default_factory=list)
    chats: list[int] = field(default_factory=list)
    to_film: list[Certifier] = field(default_factory=list)  # takes not sent yet, in order
    certifiers: dict[int, Certifier] = field(default_factory=dict)
    supervisor: asyncio.Task | None = None  # starts the bot again when it stopped by itself
    interrupted: Counter = field(default_factory=Counter)  # kinds of update a kill caught half-way

    async def run(
        self,
        *,
        updates: int,
        users: int,
        video_notes: int,
        campaign: _CampaignPlan,
        kills: int,
        kill_seconds: float,
        outage_seconds: float,
        settle_seconds: float,
        sweep_seconds: float,
        baseline: bool,
    ) -> FaultBenchResult:
        # Fresh keys for a fresh database, given to the office's side and every bot start.
        keys = fresh_key_environment()
        chosen, skipped = self._choose_certifiers(video_notes)
        async with (
            running_standin(tokens=[TOKEN]) as standin,
            StandinClient(standin.base_url) as client,
            quiet_about_killed_clients(),
        ):
            bot = BotProcess(
                self._bot_env(keys, standin, sweep_seconds), self.workdir / "bot.log", baseline=baseline
            )
            campaigns = self._campaign_bench(campaign, standin)
            try:
                await self._set_up(client, bot, campaigns, keys, users, chosen)
                last_setup = {chat: await last_id(client, chat) for chat in self.chats}
                note_kills = await self._phases(
                    client, bot, campaigns, updates, kills, kill_seconds, outage_seconds
                )
                await self._settle(campaigns, settle_seconds)
                await asyncio.sleep(min(2.0, sweep_seconds))  # late duplicates, if any, show now
                result = await self._count(client, last_setup)
                if campaigns is not None:
                    result.campaigns = await campaigns.count(client)
                    result.lost += result.campaigns.lost
                    result.duplicated += result.campaigns.duplicated
            finally:
                await self._stop(bot, campaigns)
        result.notes_skipped = skipped
        result.kills, result.kills_after_notes = kills, note_kills
        result.interrupted = dict(self.interrupted)
        result.restarts_after_exit = bot.exits
        return result

    def _choose_certifiers(self, video_notes: int) -> tuple[list[Certifier], str]:
        """The retirees who will send video notes, or why there are none."""
        if video_notes <= 0:
            return [], "--video-notes 0"
        faces = faces_folder()
        if faces is None:
            why = f"no face photos at {FACES_DIR} (set PENSION_BOT_FACES_DIR)"
            self.progress(f"video notes skipped: {why}; running the other parts")
            return [], why
        return _certifiers(faces, video_notes), ""

    def _bot_env(self, keys: dict[str, str], standin, sweep_seconds: float) -> dict[str, str]:
        return {
            **os.environ,
            **keys,
            "TELEGRAM_TOKEN": TOKEN,
            "BOT_MODE": "polling",
            "BOT_API_BASE_URL": standin.bot_base_url,
            "DATABASE_URL": _through(self.proxy, self.bot_url),
            "VAR_DIR": str(self.workdir / "var"),
            "INBOX_SWEEP_SECONDS": str(sweep_seconds),
            "PYTHONUNBUFFERED": "1",
        }

    def _campaign_bench(self, campaign: _CampaignPlan, standin) -> CampaignBench | None:
        if campaign.database_url is None:
            return None
        return CampaignBench(
            database_url=campaign.database_url,
            sender_url=_through(self.proxy, campaign.database_url),
            standin=standin,
            token=TOKEN,
            recipients=campaign.recipients,
            rate=campaign.rate,
            lease_seconds=campaign.lease_seconds,
            seed=campaign.seed,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=PROJECT_ROOT,
            log_path=self.workdir / "sender.log",
        )

    async def _set_up(
        self,
        client: StandinClient,
        bot: BotProcess,
        campaigns: CampaignBench | None,
        keys: dict[str, str],
        users: int,
        chosen: list[Certifier],
    ) -> None:
        """The office imports the roster and enrols the faces while the bot starts, employers
        open their chats and the campaigns' subscribers are written; then the retirees bind,
        consent and get their challenges, and their takes are filmed."""
        self.chats = [FIRST_EMPLOYER_CHAT + index for index in range(users)]
        enrolled: list[Certifier] = []
        async with contextlib.AsyncExitStack() as stack:
            office = None
            if chosen:
                settings = Settings(
                    database_url=self.bot_url,
                    var_dir=self.workdir / "var",
                    data_key=SecretStr(keys["DATA_KEY"]),
                    id_hash_key=SecretStr(keys["ID_HASH_KEY"]),
                )
                # Opened before the bot starts: it writes the keys' fingerprints into the fresh
                # database, which the bot then checks (two first starts at once could race).
                office = await stack.enter_async_context(open_runtime(settings))
            bot.start()
            self.supervisor = asyncio.create_task(bot.supervise())
            self.progress(
                f"the bot starting, {users} employers opening their chats"
                + (
                    f", a roster of {len(chosen)} retirees imported and their faces enrolled"
                    if chosen
                    else ""
                )
                + (f", {len(campaigns.subscribers)} subscribers written" if campaigns else "")
                + "…"
            )
            preparing: list[Awaitable[Any]] = [
                asyncio.gather(*(_set_up_employer(client, chat) for chat in self.chats))
            ]
            if campaigns is not None:
                preparing.append(campaigns.prepare())
            if office is not None:
                preparing.append(_enrol(office, chosen, self.workdir / "roster"))
            done = await asyncio.gather(*preparing)
            enrolled = done[-1] if office is not None else []
        if chosen:
            self.progress(f"{len(enrolled)} retirees binding, consenting and filming their takes…")
            self.to_film = await _ready_to_film(client, self.uow_factory, enrolled, self.rng)
            if len(self.to_film) < len(chosen):
                left_out = len(chosen) - len(self.to_film)
                self.progress(
                    f"{left_out} retiree(s) left out: no face enrolled, no photo to film or no challenge"
                )
        self.certifiers = {certifier.chat_id: certifier for certifier in self.to_film}

    async def _stop(self, bot: BotProcess, campaigns: CampaignBench | None) -> None:
        if self.supervisor is not None:
            self.supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.supervisor
        await bot.stop()
        if campaigns is not None:
            await campaigns.close()

    async def _settle(self, campaigns: CampaignBench | None, settle_seconds: float) -> None:
        """Waits (at most `settle_seconds`) for every update's inbox row to be done and every
        campaign to be done; says how long each took."""
        self.progress(f"settling (up to {settle_seconds:.0f} s)…")
        began = time.monotonic()
        waiting = {"updates": lambda: _settled(self.uow_factory, self.sent)}
        if campaigns is not None:
            waiting["campaigns"] = campaigns.done
        while waiting and time.monotonic() - began < settle_seconds:
            for part, settled in list(waiting.items()):
                if await settled():
                    self.progress(f"  {part} settled after {time.monotonic() - began:.0f} s")
                    del waiting[part]
            if waiting:
                await asyncio.sleep(0.5)

    async def _stored(self, update_id: int, give_up_after: float) -> None:
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            async with self.uow_factory() as uow:
                if await uow.session.get(InboxUpdate, update_id) is not None:
                    return
            await asyncio.sleep(0.05)

    async def _note_interrupted(self) -> None:
        """After a kill: the updates it caught stored in the inbox but not yet done, by kind
        (an update not stored yet is not seen here: Telegram delivers it again)."""
        kinds = {item.update_id: item.kind for item in self.sent}
        async with self.uow_factory() as uow:
            query = select(InboxUpdate.update_id).where(
                InboxUpdate.update_id.in_(list(kinds)), InboxUpdate.state == "pending"
            )
            pending = (await uow.session.execute(query)).scalars().all()
        self.interrupted.update(kinds[update_id] for update_id in pending)

    # --- the traffic

    def _text_update(self) -> tuple[int, str, str]:
        chat = self.rng.choice(self.chats)
        if self.rng.random() < 2 / 3:
            return chat, "question", self.rng.choice(QUESTION_STEMS).format(n=len(self.sent) + 1)
        return chat, "help", "/help"

    async def _send(self, client: StandinClient, kind: str) -> None:
        """One update: "text" (an employer's question or /help) or "video_note" (the next take)."""
        if kind == "video_note":
            certifier = self.to_film.pop(0)
            result = await client.send_video_note(certifier.chat_id, certifier.take)
            chat, kind, body = certifier.chat_id, "video_note", ""
        else:
            chat, kind, body = self._text_update()
            result = await client.send_text(chat, body)
        self.sent.append(Sent(chat, result["update_id"], result["message"]["message_id"], kind, body))

    async def _spread(self, client: StandinClient, kinds: list[str], seconds: float) -> None:
        for index, kind in enumerate(kinds):
            await self._send(client, kind)
            if index < len(kinds) - 1:
                await asyncio.sleep(seconds / max(1, len(kinds)))

    def _plan(self, texts: int, notes: int) -> list[str]:
        kinds = ["text"] * max(0, texts) + ["video_note"] * max(0, notes)
        self.rng.shuffle(kinds)
        return kinds

    async def _phases(
        self,
        client: StandinClient,
        bot: BotProcess,
        campaigns: CampaignBench | None,
        updates: int,
        kills: int,
        kill_seconds: float,
        outage_seconds: float,
    ) -> int:
        """Phase 1 (SIGKILLs), then phase 2 (the outage). Returns the kills that followed a
        video note."""
        margin = min(5.0, max(1.0, outage_seconds / 3))  # updates before and after the cut
        kill_share = kill_seconds / (kill_seconds + outage_seconds + 2 * margin)
        kill_updates = round(updates * kill_share)
        notes = len(self.to_film)
        kill_notes = round(notes * kill_share)
        # Half the kills (when there are notes) come just after a video note, while the bot
        # fetches or judges it; the others just after a text, as before.
        note_kills = min((kills + 1) // 2, kill_notes)
        kill_kinds = ["video_note"] * note_kills + ["text"] * (kills - note_kills)
        self.rng.shuffle(kill_kinds)

        # Phase 1: SIGKILL at seeded random moments while the updates arrive.
        self.progress(
            f"phase 1: {kill_updates} updates and {kill_notes} video notes over {kill_seconds:.0f} s, "
            f"{kills} SIGKILL(s) of the bot" + (f", {kills} of the campaign sender…" if campaigns else "…")
        )
        sending_campaign = asyncio.create_task(campaigns.under_kills(kills)) if campaigns else None
        moments = sorted(self.rng.uniform(0.5, kill_seconds) for _ in range(kills))
        plan = self._plan(kill_updates - (kills - note_kills), kill_notes - note_kills)
        sender = asyncio.create_task(self._spread(client, plan, kill_seconds))
        started = time.monotonic()
        for moment, kind in zip(moments, kill_kinds, strict=True):
            await asyncio.sleep(max(0.0, started + moment - time.monotonic()))
            # As in finding 3: killed just after an update arrived, while it is fetched, stored
            # or handled (a text takes a few ms to ~100 ms). A video note: once the bot has
            # stored it, while it is downloaded and judged (1-2 s; more on a fresh face worker).
            await self._send(client, kind)
            if kind == "video_note" and not bot.baseline:
                await self._stored(self.sent[-1].update_id, give_up_after=15.0)
            await asyncio.sleep(self.rng.uniform(0.0, KILL_AFTER_NOTE if kind == "video_note" else 0.25))
            await bot.kill()
            await self._note_interrupted()
            bot.start()
        await sender
        if sending_campaign is not None:
            await sending_campaign

        # Phase 2: the database away for `outage_seconds` while updates keep arriving.
        outage_updates = updates - kill_updates
        self.progress(
            f"phase 2: {outage_updates} updates and {len(self.to_film)} video notes around a "
            f"{outage_seconds:.0f} s database outage" + (", campaign 2 cut part-way…" if campaigns else "…")
        )
        plan = self._plan(outage_updates, len(self.to_film))
        sender = asyncio.create_task(self._spread(client, plan, outage_seconds + 2 * margin))
        if campaigns is not None:
            await campaigns.before_outage(minimum_seconds=margin)
        else:
            await asyncio.sleep(margin)
        self.proxy.cut()
        await asyncio.sleep(outage_seconds)
        self.proxy.restore()
        await sender
        return note_kills

    # --- the count

    async def _count(self, client: StandinClient, after: dict[int, int]) -> FaultBenchResult:
        result = FaultBenchResult(sent=len(self.sent))
        async with self.uow_factory() as uow:
            rows = (await uow.session.execute(select(InboxUpdate))).scalars().all()
        inbox = {row.update_id: row.state for row in rows}
        result.inbox_states = dict(Counter(inbox.get(item.update_id, "missing") for item in self.sent))
        # No inbox at all: the baseline, whose updates are judged by their effects alone.
        lost = {item.update_id for item in self.sent if inbox and inbox.get(item.update_id) != "done"}
        duplicated: set[int] = set()
        await _count_questions(self.uow_factory, self.sent, result, lost, duplicated)
        await _count_video_notes(
            self.uow_factory, client, self.sent, self.certifiers, result, lost, duplicated
        )
        await _count_replies(client, self.sent, after, result)
        result.apologies += await _count_apologies(client, self.certifiers)
        # A missing reply cannot be told apart from the others of its chat: counted as lost only
        # beyond the employers' updates already counted lost.
        employers_lost = sum(1 for item in self.sent if item.update_id in lost and item.kind != "video_note")
        result.lost = len(lost) + max(0, result.replies_lost - employers_lost)
        result.handled = result.sent - result.lost
        result.duplicated = len(duplicated) + result.replies_duplicated
        return result


async def _settled(uow_factory, sent: list[Sent]) -> bool:
    ids = [item.update_id for item in sent]
    async with uow_factory() as uow:
        query = select(InboxUpdate.update_id).where(
            InboxUpdate.update_id.in_(ids), InboxUpdate.state == "done"
        )
        return len((await uow.session.execute(query)).all()) == len(ids)


async def _count_questions(
    uow_factory, sent: list[Sent], result: FaultBenchResult, lost: set[int], duplicated: set[int]
) -> None:
    """Each question the knowledge base is not sure about: one row in `employer_questions`."""
    from content.knowledge.answering import AnswerStatus, default_answerer

    answerer = await asyncio.to_thread(default_answerer)
    async with uow_factory() as uow:
        questions = (await uow.session.execute(select(EmployerQuestion))).scalars().all()
    by_key = Counter(row.source_key for row in questions)
    by_text = Counter((row.chat_id, row.question) for row in questions)
    for item in sent:
        if item.kind != "question" or answerer.answer(item.text).status is not AnswerStatus.UNSURE:
            continue
        result.questions_expected += 1
        key = f"tg:{item.chat_id}:{item.message_id}"
        stored = max(by_key.get(key, 0), by_text.get((item.chat_id, item.text), 0))
        if stored == 0:
            result.questions_lost += 1
            lost.add(item.update_id)
        else:
            result.questions_stored += 1
        if stored > 1:
            result.questions_duplicated += 1
            duplicated.add(item.update_id)


async def _count_video_notes(
    uow_factory,
    client: StandinClient,
    sent: list[Sent],
    certifiers: dict[int, Certifier],
    result: FaultBenchResult,
    lost: set[int],
    duplicated: set[int],
) -> None:
    """Each video note: exactly one attempt stored (`certification_attempts`, keyed by its
    message; any other attempt of the same retiree is a second judgement) and exactly one
    verdict told in the chat (apologies and reminders aside)."""
    notes = [item for item in sent if item.kind == "video_note"]
    result.notes_sent = len(notes)
    if not notes:
        return
    retiree_ids = [certifiers[item.chat_id].retiree_id for item in notes]
    query = select(
        CertificationAttempt.idempotency_key, CertificationAttempt.retiree_id, CertificationAttempt.outcome
    ).where(CertificationAttempt.retiree_id.in_(retiree_ids))
    async with uow_factory() as uow:
        attempts = (await uow.session.execute(query)).all()
    by_key = Counter(key for key, _, _ in attempts)
    by_retiree = Counter(retiree for _, retiree, _ in attempts)
    keys = {f"tg:{item.chat_id}:{item.message_id}" for item in notes}
    result.verdicts = dict(Counter(outcome for key, _, outcome in attempts if key in keys))
    t = Translator("zh_Hans")
    busy = t("live.refused.busy")
    for item in notes:
        certifier = certifiers[item.chat_id]
        told = [
            m
            for m in await client.messages(item.chat_id, after_id=certifier.after_id)
            if m["from_bot"] and _is_verdict(m, t)
        ]
        result.notes_busy += sum(1 for m in told if m.get("text") == busy)
        stored = by_key[f"tg:{item.chat_id}:{item.message_id}"]
        if stored == 0 or not told:
            result.notes_lost += 1
            lost.add(item.update_id)
        elif by_retiree[certifier.retiree_id] > 1 or len(told) > 1:
            result.notes_duplicated += 1
            duplicated.add(item.update_id)
        else:
            result.notes_judged += 1


def _is_verdict(message: dict, t: Translator) -> bool:
    """A reply about the note: not an apology for the outage, not a cycle reminder."""
    words = message.get("text") or ""
    return words not in {t("error.transient"), t("error.generic")} and not words.startswith("⏰")


async def _count_replies(
    client: StandinClient, sent: list[Sent], after: dict[int, int], result: FaultBenchResult
) -> None:
    """Each question and /help: one reply in its employer's chat (counted per chat)."""
    t = Translator("zh_Hans")
    apologies = {t("error.transient"), t("error.generic")}
    expected = Counter(item.chat_id for item in sent if item.kind != "video_note")
    for chat_id, count in expected.items():
        replies = [m for m in await client.messages(chat_id, after_id=after.get(chat_id, 0)) if m["from_bot"]]
        answers = [m for m in replies if m.get("text") not in apologies]
        result.apologies += len(replies) - len(answers)
        result.replies_expected += count
        result.replies_received += len(answers)
        result.replies_lost += max(0, count - len(answers))
        result.replies_duplicated += max(0, len(answers) - count)


async def _count_apologies(client: StandinClient, certifiers: dict[int, Certifier]) -> int:
    t = Translator("zh_Hans")
    apologies = {t("error.transient"), t("error.generic")}
    count = 0
    for certifier in certifiers.values():
        messages = await client.messages(certifier.chat_id, after_id=certifier.after_id)
        count += sum(1 for m in messages if m["from_bot"] and m.get("text") in apologies)
    return count


async def _baseline_bot() -> None:
    """The bot as it was before the update inbox: PTB's Updater confirms an update as soon
    as it is queued in memory. For `bench faults --baseline` only."""
    from app.serve import poll_until, stop_on_signals
    from app.settings import Settings
    from app.wiring import open_runtime
    from bot.application import build_application

    settings = Settings()
    stop = asyncio.Event()
    stop_on_signals(stop)
    assert settings.telegram_token is not None, "TELEGRAM_TOKEN: the bench sets it"
    async with open_runtime(settings) as runtime:
        token = settings.telegram_token.get_secret_value()
        application = build_application(token, runtime.bot_services, base_url=settings.bot_api_base_url)
        await poll_until(application, stop)


if __name__ == "__main__" and sys.argv[1:] == ["baseline-bot"]:
    asyncio.run(_baseline_bot())
