"""`pension-bot bench console`: how fast the staff console answers on a large region.

A PostgreSQL database (made once, then reused while its marker table says it holds the same
sizes under the same migrations) is filled with server-side SQL (INSERT ... SELECT ... FROM
generate_series): retirees spread over 100 residence regions under four prefectures, due dates
over the year, about 5 % suspended, and verification records of every kind over the year with
`occurred_at` written as the chain writes it. The records' hashes are made up: the hash chain
does not verify, and nothing here reads it. The ID numbers' encrypted copies are real Fernet
tokens of synthetic ID numbers (a pool of 1,000, under the bench's own fixed keys), so that the
lists pay for decrypting and masking as in production; the keyed hashes are md5 text.

Then it times the quarter's overview (verification.reporting.service) for a district and a
prefecture, and the lists (verification.reporting.lists): overdue, page 3, and a name search,
and prints p50/p95/max against the targets, the peak memory, and EXPLAIN (ANALYZE, BUFFERS)
of the statements behind them.
"""

from __future__ import annotations

import base64
import hashlib
import resource
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from kernel.figures import percentile
from storage.db import create_engine, create_session_factory
from storage.protection import PersonalDataVault
from storage.schema import upgrade
from storage.uow import UnitOfWorkFactory, unit_of_work_factory

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_console"
TARGET_OVERVIEW_P95_MS = 300.0
TARGET_LIST_P95_MS = 200.0
SHANGHAI = ZoneInfo("Asia/Shanghai")
# The bench's "now": a weekday morning late in the fourth quarter.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
PREFECTURES = ("110100", "310100", "440300", "320500")
DISTRICTS_PER_PREFECTURE = 25
DISTRICT = "110105"
PREFECTURE = "110100"
NAME_SEARCH = "人员1234"  # names are 退休人员<id>: matches ids 1234, 12340-12349, ...
ID_POOL = 1000  # distinct encrypted ID numbers (Fernet tokens) shared by the rows
RECORD_CHUNK = 1_000_000
MARKER = "console_bench_marker"


def bench_vault() -> PersonalDataVault:
    """The bench's own fixed keys: a database filled once is read by every later run."""
    encryption = base64.urlsafe_b64encode(hashlib.sha256(b"pension-bot console bench: encryption").digest())
    lookup = hashlib.sha256(b"pension-bot console bench: lookup").digest()
    return PersonalDataVault(encryption, lookup)


def regions() -> list[str]:
    return [
        prefecture[:4] + f"{number:02d}"
        for prefecture in PREFECTURES
        for number in range(1, DISTRICTS_PER_PREFECTURE + 1)
    ]


def clock() -> datetime:
    return NOW


UNRELEASED = "0011"  # the migration still being written: its indexes may change


def _migrations_fingerprint() -> tuple[str, str]:
    """What the schema is made of: the released migrations, and the unreleased one. A database
    migrated by other released migrations is filled anew; one whose unreleased migration changed
    gets the models' missing indexes built on the rows already there."""
    folder = Path(__file__).resolve().parents[1] / "storage" / "migrations" / "versions"
    released, unreleased = hashlib.sha256(), hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest = unreleased if path.name.startswith(UNRELEASED) else released
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return released.hexdigest()[:16], unreleased.hexdigest()[:16]


# --- the database


def _missing_indexes(connection: Connection) -> list[str]:
    """Build the indexes the models declare on the two tables the bench fills and the database
    lacks (what an unreleased migration being written adds); their names. A changed migration
    that does more than add indexes needs the database filled anew: drop the marker table."""
    from storage.models import Retiree
    from storage.models.records import VerificationRecord

    built = []
    for model in (Retiree, VerificationRecord):
        table = model.__table__
        present = {index["name"] for index in inspect(connection).get_indexes(table.name)}
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            if index.name not in present:
                index.create(connection)
                built.append(str(index.name))
    return built


async def _create_database(url: str, *, drop_first: bool) -> None:
    target = make_url(url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            name = target.database
            if drop_first:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            exists = (
                await connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            ).first()
            if exists is None:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


async def _marker(url: str) -> tuple[int, int, str] | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            found = (
                await connection.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": MARKER})
            ).scalar_one()
            if not found:
                return None
            row = (await connection.execute(text(f"SELECT retirees, records, schema FROM {MARKER}"))).first()
            return (int(row[0]), int(row[1]), str(row[2])) if row else None
    finally:
        await engine.dispose()


async def prepare(
    url: str, retirees: int, records: int, progress: Callable[[str], None] = lambda _line: None
) -> tuple[bool, float]:
    """The database filled to these sizes: (True if it was filled now, seconds spent)."""
    began = time.perf_counter()
    if make_url(url).get_backend_name() != "postgresql":
        raise ValueError("bench console runs on PostgreSQL (generate_series, EXPLAIN (ANALYZE, BUFFERS))")
    await _create_database(url, drop_first=False)
    released, unreleased = _migrations_fingerprint()
    wanted = (retirees, records, f"{released}:{unreleased}")
    found = await _marker(url)
    if found == wanted:
        return False, time.perf_counter() - began
    if found is not None and found[:2] == wanted[:2] and found[2].split(":")[0] == released:
        progress(f"bench console: migration {UNRELEASED} changed: building the models' missing indexes")
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                for name in await connection.run_sync(_missing_indexes):
                    progress(f"bench console: built index {name}")
                await connection.execute(text(f"UPDATE {MARKER} SET schema = :s"), {"s": wanted[2]})
            async with engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM ANALYZE retirees"))
                await connection.execute(text("VACUUM ANALYZE verification_records"))
        finally:
            await engine.dispose()
        return False, time.perf_counter() - began
    progress("bench console: filling the database anew (no marker of these sizes and migrations)")
    await _create_database(url, drop_first=True)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        await _fill(engine, retirees, records, progress)
        async with engine.begin() as connection:
            await connection.execute(
                text(f"CREATE TABLE {MARKER} (retirees bigint, records bigint, schema text)")
            )
            await connection.execute(
                text(f"INSERT INTO {MARKER} VALUES (:r, :n, :s)"),
                {"r": retirees, "n": records, "s": wanted[2]},
            )
    finally:
        await engine.dispose()
    return True, time.perf_counter() - began


def _region_array() -> str:
    return "ARRAY[" + ",".join(f"'{code}'" for code in regions()) + "]::text[]"


async def _fill(engine: AsyncEngine, retirees: int, records: int, progress: Callable[[str], None]) -> None:
    from verification.roster.synthetic import synthetic_id_number

    vault = bench_vault()
    pool = [
        vault.encrypt(synthetic_id_number(DISTRICT, date(1950 + n % 20, 1 + n % 12, 1 + n % 28), n % 1000))
        for n in range(ID_POOL)
    ]
    count = len(regions())
    # A retiree's residence, paying region and hash follow from its id, so that the records
    # can name them without a join: region k = (id * 7) % 100; one in ten is paid elsewhere.
    residence = f"({_region_array()})[1 + (({{id}})::bigint * 7) % {count}]"
    elsewhere = "CASE WHEN ({id}) % 10 = 3 THEN 31 ELSE 0 END"
    paying = f"({_region_array()})[1 + (({{id}})::bigint * 7 + {elsewhere}) % {count}]"
    id_hash = "md5('retiree ' || ({id})) || md5('hash ' || ({id}))"
    async with engine.begin() as connection:
        began = time.perf_counter()
        await connection.execute(
            text("CREATE TEMPORARY TABLE bench_id_pool (n int PRIMARY KEY, token bytea)")
        )
        await connection.execute(
            text("INSERT INTO bench_id_pool VALUES (:n, :token)"),
            [{"n": n, "token": token} for n, token in enumerate(pool)],
        )
        await connection.execute(text("SELECT setseed(0.16)"))
        # Nine in ten certified within the last year (due within the next), one in ten a year
        # earlier (due already: overdue unless suspended); one in twenty suspended.
        await connection.execute(
            text(
                f"""
                INSERT INTO retirees (id, id_number_hash, id_number_encrypted, name, birth_date,
                    pension_region, residence_region, pension_start, last_certified_on, due_on,
                    payment_state, created_at, updated_at)
                SELECT g, {id_hash.format(id="g")}, pool.token, '退休人员' || g,
                    date '1936-01-01' + ((g * 7919) % 9000)::int,
                    {paying.format(id="g")}, {residence.format(id="g")},
                    date '1996-01-01' + ((g * 104729) % 10000)::int,
                    c.certified, c.certified + 365,
                    CASE WHEN g % 20 = 7 THEN 'suspended' ELSE 'active' END, now(), now()
                FROM generate_series(1::bigint, {retirees}) AS g
                JOIN bench_id_pool AS pool ON pool.n = g % {ID_POOL}
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN g % 10 = 4 THEN date '2024-11-25' ELSE date '2025-11-21' END
                        + ((g * 2654435761) % 365)::int AS certified
                ) AS c
                """
            )
        )
        await connection.execute(text(f"SELECT setval(pg_get_serial_sequence('retirees', 'id'), {retirees})"))
        progress(f"bench console: {retirees:,} retirees in {time.perf_counter() - began:.1f} s")
    # Records in chunks (a transaction each): events and methods of every kind over the year.
    event_of = """CASE
        WHEN b < 620 THEN 'certified' WHEN b < 680 THEN 'review_approved'
        WHEN b < 700 THEN 'review_rejected' WHEN b < 760 THEN 'assisted_visit'
        WHEN b < 810 THEN 'suspended' WHEN b < 850 THEN 'resumed'
        WHEN b < 880 THEN 'hospital_reported' WHEN b < 930 THEN 'audit_confirmed'
        WHEN b < 950 THEN 'audit_review_opened' WHEN b < 960 THEN 'death_reported'
        WHEN b < 980 THEN 'recovery_step' ELSE 'recovery_opened' END"""
    method_of = """CASE
        WHEN b < 620 THEN (ARRAY['self_video','self_video','self_video','self_video','data','data',
            'data','assisted_photo','assisted_photo','review'])[1 + m % 10]
        WHEN b < 700 THEN 'review' WHEN b < 760 THEN 'assistance'
        WHEN b < 850 THEN 'system' ELSE 'staff' END"""
    detail_of = """CASE
        WHEN b < 620 AND m % 10 IN (7, 8) THEN
            CASE WHEN m % 3 = 0 THEN '{"place": "home_visit"}' ELSE '{"place": "service_point"}' END
        WHEN b BETWEEN 700 AND 759 THEN '{"assistance": {"finding": "alive_certified"}}'
        WHEN b BETWEEN 760 AND 809 THEN '{"reason": "not_certified"}'
        ELSE '{}' END"""
    done = 0
    while done < records:
        began = time.perf_counter()
        size = min(RECORD_CHUNK, records - done)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    f"""
                    INSERT INTO verification_records (record_uid, region, seq, retiree_hash, event,
                        occurred_at, residence_region, pension_region, method, evidence_hash, staff_id,
                        detail, prev_hash, hash)
                    SELECT md5('record ' || g)::uuid::text, '110000', g, {id_hash.format(id="r")},
                        {event_of},
                        to_char((timestamptz '2025-12-31 16:00:00+00'
                            + make_interval(secs => (g * 7793) % (324 * 86400))) AT TIME ZONE 'UTC',
                            'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
                        {residence.format(id="r")}, {paying.format(id="r")},
                        {method_of},
                        CASE WHEN b < 620 THEN md5('evidence ' || g) || md5('e ' || g) END,
                        CASE WHEN b >= 620 THEN 1 + g % 40 END,
                        ({detail_of})::json,
                        md5('prev ' || g) || md5('p ' || g), md5('hash ' || g) || md5('h ' || g)
                    FROM generate_series({done + 1}::bigint, {done + size}) AS g
                    CROSS JOIN LATERAL (
                        SELECT 1 + (g::bigint * 2654435761) % {retirees} AS r,
                               (g * 7) % 1000 AS b, (g * 13) / 7 AS m
                    ) AS v
                    """
                )
            )
        done += size
        progress(f"bench console: {done:,} of {records:,} records ({time.perf_counter() - began:.1f} s)")
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE retirees"))
        await connection.execute(text("VACUUM ANALYZE verification_records"))


# --- measuring


@dataclass
class Figure:
    name: str
    target_ms: float | None
    timings_ms: list[float] = field(default_factory=list)
    note: str = ""

    def line(self) -> str:
        if not self.timings_ms:
            return f"{self.name}: not measured ({self.note})"
        p50, p95 = percentile(self.timings_ms, 0.5), self.p95
        text_ = (
            f"{self.name}: p50 {p50:.1f} ms  p95 {p95:.1f} ms  max {max(self.timings_ms):.1f} ms"
            f"  (n={len(self.timings_ms)})"
        )
        if self.target_ms is not None:
            verdict = "met" if p95 <= self.target_ms else "NOT met"
            text_ += f"  target p95 <= {self.target_ms:.0f} ms: {verdict}"
        return text_ + (f"  [{self.note}]" if self.note else "")

    @property
    def p95(self) -> float:
        return percentile(self.timings_ms, 0.95) if self.timings_ms else 0.0

    @property
    def met(self) -> bool:
        return self.target_ms is None or not self.timings_ms or self.p95 <= self.target_ms


@dataclass
class ConsoleBenchResult:
    header: list[str]
    figures: list[Figure]
    peak_rss_mib: float
    plans: list[tuple[str, list[str]]]

    @property
    def all_met(self) -> bool:
        return all(figure.met for figure in self.figures)

    def lines(self) -> list[str]:
        out = [*self.header, *(figure.line() for figure in self.figures)]
        out.append(f"peak memory (ru_maxrss): {self.peak_rss_mib:.1f} MiB")
        out.append("targets: " + ("all met" if self.all_met else "NOT all met"))
        for title, plan in self.plans:
            out.append(f"plan: {title}")
            out.extend("    " + line for line in plan)
        return out


class _Statements:
    """The statements one call sends, with their parameters and times (to EXPLAIN the slowest)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.seen: list[tuple[float, str, Any]] = []
        self._began: dict[int, float] = {}

    def _before(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        self._began[id(context)] = time.perf_counter()

    def _after(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        began = self._began.pop(id(context), None)
        if began is not None:
            self.seen.append((time.perf_counter() - began, statement, parameters))

    @contextmanager
    def watching(self) -> Iterator[None]:
        sync = self.engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)
        try:
            yield
        finally:
            event.remove(sync, "before_cursor_execute", self._before)
            event.remove(sync, "after_cursor_execute", self._after)


async def _explain(connection: AsyncConnection, statement: str, parameters: Any) -> list[str]:
    result = await connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
    return [str(row[0]) for row in result]


async def _timed(
    name: str, target: float | None, repeat: int, call: Callable[[], Awaitable[object]], budget: float
) -> Figure:
    """`repeat` timed calls after one to warm up, or fewer (at least 3) once `budget` seconds
    are spent: a call of seconds is not timed fifty times."""
    figure = Figure(name, target)
    began = time.perf_counter()
    await call()  # warm: the connection pool, the prepared statements, the buffers
    for done in range(repeat):
        if done >= 3 and time.perf_counter() - began > budget:
            figure.note = f"stopped after {done} runs at the {budget:.0f} s budget"
            break
        start = time.perf_counter()
        await call()
        figure.timings_ms.append((time.perf_counter() - start) * 1000)
    return figure


async def _plans_of(
    engine: AsyncEngine, title: str, call: Callable[[], Awaitable[object]], *, heaviest_only: bool
) -> list[tuple[str, list[str]]]:
    statements = _Statements(engine)
    with statements.watching():
        await call()
    chosen = statements.seen
    if heaviest_only and chosen:
        chosen = [max(chosen, key=lambda seen: seen[0])]
    plans = []
    async with engine.connect() as connection:
        for seconds, statement, parameters in chosen:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):  # reads only
                continue
            lines = [" ".join(statement.split())] + await _explain(connection, statement, parameters)
            plans.append((f"{title} ({seconds * 1000:.1f} ms when captured)", lines))
    return plans


async def measure(
    url: str,
    *,
    repeat: int,
    header: list[str],
    explain: bool = True,
    budget: float = 120.0,
    progress: Callable[[str], None] = lambda _line: None,
) -> ConsoleBenchResult:
    from verification.checkplan.quarters import Quarter
    from verification.reporting.lists import RetireeListService

    engine = create_engine(url)
    try:
        uow_factory = unit_of_work_factory(create_session_factory(engine))
        quarter = Quarter.of(NOW.astimezone(SHANGHAI).date())
        lists = RetireeListService(uow_factory, bench_vault(), clock=clock, zone=SHANGHAI)
        figures: list[Figure] = []
        plans: list[tuple[str, list[str]]] = []

        async def timed(name: str, target: float, call: Callable[[], Awaitable[object]]) -> Figure:
            figure = await _timed(name, target, repeat, call, budget)
            progress("bench console: measured " + figure.line())
            return figure

        for region, kind in ((DISTRICT, "district"), (PREFECTURE, "prefecture")):
            overdue = lambda region=region: lists.page(region, quarter, status="overdue", page=3)  # noqa: E731
            found = lambda region=region: lists.page(region, quarter, search=NAME_SEARCH)  # noqa: E731
            figures.append(await timed(f"list overdue page 3 {kind} {region}", TARGET_LIST_P95_MS, overdue))
            figures.append(
                await timed(f"list name search {NAME_SEARCH!r} {kind} {region}", TARGET_LIST_P95_MS, found)
            )
            if explain and kind == "prefecture":
                plans += await _plans_of(
                    engine, f"list overdue page 3, {kind} {region}", overdue, heaviest_only=False
                )
                plans += await _plans_of(
                    engine, f"list name search, {kind} {region}", found, heaviest_only=False
                )
        everyone = lambda: lists.page("", quarter, page=1)  # noqa: E731
        figures.append(await timed("list all regions, page 1 (total capped)", TARGET_LIST_P95_MS, everyone))
        # An export of a whole district (no target: a download, not a page), a few runs only.
        district = lambda: lists.export(DISTRICT, quarter, "all", "", "csv")  # noqa: E731
        exported = await _timed(
            f"export csv district {DISTRICT}, all", None, min(repeat, 3), district, budget
        )
        rows = (await district()).count(b"\n") - 1
        exported.note = f"{rows:,} rows" + (f"; {exported.note}" if exported.note else "")
        progress("bench console: measured " + exported.line())
        figures.append(exported)
        overviews: list[Figure] = []
        overview = _overview(uow_factory)
        for region, kind in ((DISTRICT, "district"), (PREFECTURE, "prefecture")):
            if isinstance(overview, str):
                overviews.append(
                    Figure(f"overview {kind} {region} {quarter}", TARGET_OVERVIEW_P95_MS, note=overview)
                )
                continue
            overviews.append(
                await timed(
                    f"overview {kind} {region} {quarter}",
                    TARGET_OVERVIEW_P95_MS,
                    partial(overview, region, quarter),
                )
            )
            if explain and kind == "prefecture":
                plans += await _plans_of(
                    engine, f"heaviest overview statement, {kind} {region}",
                    partial(overview, region, quarter), heaviest_only=True,
                )  # fmt: skip
        figures = overviews + figures
        return ConsoleBenchResult(header, figures, peak_rss_mib(), plans)
    finally:
        await engine.dispose()


def _overview(uow_factory: UnitOfWorkFactory) -> Callable[[str, Any], Awaitable[object]] | str:
    """The overview's call, or why it cannot be measured (another feature, maybe not there yet)."""
    try:
        from verification.reporting.service import QuarterlyReportService
    except ImportError as missing:
        return f"verification.reporting.service is not available: {missing}"
    try:  # the bench's "now", where the service takes a clock
        service = QuarterlyReportService(uow_factory, clock=clock)
    except TypeError:
        service = QuarterlyReportService(uow_factory)
    figures: Callable[[str, Any], Awaitable[object]] = service.figures
    return figures


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_console_bench(
    *,
    retirees: int,
    records: int,
    repeat: int,
    database_url: str = DEFAULT_DATABASE_URL,
    progress: Callable[[str], None] = lambda _line: None,
    explain: bool = True,
    budget_seconds: float = 120.0,
) -> ConsoleBenchResult:
    filled, seconds = await prepare(database_url, retirees, records, progress)
    name = make_url(database_url).database
    how = f"filled in {seconds:.1f} s" if filled else "reused (marker matches)"
    header = [
        f"bench console: PostgreSQL database {name}, {retirees:,} retirees, "
        f"{records:,} verification records ({how})",
        f"regions: {len(regions())} residence regions under prefectures {', '.join(PREFECTURES)}; "
        f"now {NOW.astimezone(SHANGHAI):%Y-%m-%d %H:%M} Asia/Shanghai; "
        f"{repeat} runs each (fewer past {budget_seconds:.0f} s)",
    ]
    return await measure(
        database_url, repeat=repeat, header=header, explain=explain, budget=budget_seconds, progress=progress
    )
