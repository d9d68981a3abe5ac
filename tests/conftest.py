"""Shared fixtures: databases (SQLite always; PostgreSQL when TEST_POSTGRES_URL names a
server), migrated with the real Alembic migrations, and a personal-data vault."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import create_engine, create_session_factory
from storage.protection import PersonalDataVault
from storage.schema import upgrade
from storage.uow import unit_of_work_factory

REPO_ROOT = Path(__file__).resolve().parents[1]
FACES_DIR = Path(os.environ.get("PENSION_BOT_FACES_DIR", REPO_ROOT.parent / "shared" / "faces"))
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        default=os.environ.get("PENSION_BOT_TEST_CLOCK"),
        metavar="ISO_INSTANT",
        help="run the whole session with the wall clock starting at this instant (it ticks on); "
        "CI uses a late evening in UTC at a month and year end, where UTC and Shanghai dates differ",
    )


def pytest_configure(config):
    from content.i18n import Translator

    # A text no catalog holds fails the test that asked for it (users see a kind apology).
    Translator.strict = True
    try:  # the lab's video notes, the same bytes on every run
        from liveness_lab.synthesis.media import repeatable_encoding

        repeatable_encoding()
    except ImportError:  # a checkout without the lab
        pass
    instant = config.getoption("--clock")
    if instant:
        # Started here, not in a fixture, so that fixtures of every scope see the same clock.
        import time_machine

        config.stash[_TRAVEL] = traveller = time_machine.travel(datetime.fromisoformat(instant), tick=True)
        traveller.start()
    # The knowledge base is loaded once per process, at start, as in production: a test that
    # later freezes an earlier clock (2026-11-27) must not see entries reviewed after it as
    # "reviewed in the future".
    from content.knowledge.answering import default_answerer

    default_answerer()


def pytest_unconfigure(config):
    if traveller := config.stash.get(_TRAVEL, None):
        traveller.stop()


def pytest_report_header(config):
    instant = config.getoption("--clock")
    return f"wall clock from {instant} (ticking)" if instant else None


_TRAVEL = pytest.StashKey[object]()

# The bot runs in the tests' process and reads the wall clock; the end-to-end flows name dates
# (a cycle valid to "2027年11月", a death on 2026-11-26), so they run from a fixed morning.
E2E_MORNING = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.fixture
def e2e_morning():
    """The fixed morning the end-to-end flows start from; the clock ticks on from there."""
    import time_machine

    with time_machine.travel(E2E_MORNING, tick=True):
        yield E2E_MORNING


@pytest.fixture
def host_clock(request):
    """The host's own clock for a test whose subprocesses read it: they cannot share a
    travelled one (a campaign due in this process's December would be in their future).
    Afterwards the session's clock goes on from where it would have been."""
    traveller = request.config.stash.get(_TRAVEL, None)
    if traveller is None:
        yield
        return
    import time_machine

    travelled, began = datetime.now(UTC), time.perf_counter()  # perf_counter is not travelled
    traveller.stop()
    try:
        yield
    finally:
        elapsed = timedelta(seconds=time.perf_counter() - began)
        request.config.stash[_TRAVEL] = resumed = time_machine.travel(travelled + elapsed, tick=True)
        resumed.start()


def faces_dir() -> Path:
    """The shared real-face photos, or a clean skip where this checkout has none beside it."""
    if not (FACES_DIR / "manifest.csv").exists():
        pytest.skip(f"real face photos not found at {FACES_DIR} (set PENSION_BOT_FACES_DIR)")
    return FACES_DIR


def _in_a_thread(work) -> None:
    """Run a coroutine function to completion on its own loop in another thread (session
    fixtures are built outside the tests' loops, and must leave the main thread's alone)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(work())
        except BaseException as error:  # handed to the caller's thread
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


@pytest.fixture(scope="session")
def answerer():
    """The employer assistant on the shipped knowledge base (built once: about four seconds)."""
    from content.knowledge.answering import default_answerer

    return default_answerer()


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once per session: each test gets a copy of it instead
    of running every migration again (~0.3 s a test)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    _in_a_thread(migrate)
    return path


@pytest.fixture(scope="session")
def migrated_postgres_template():
    """A PostgreSQL database migrated to head once per session, the template each test's
    database is created from (CREATE DATABASE ... TEMPLATE copies it in the server)."""
    if not POSTGRES_URL:
        yield None
        return
    names: list[str] = []

    async def migrate() -> None:
        url, name = await _fresh_postgres_database()
        names.append(name)
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()

    _in_a_thread(migrate)
    yield names[0]

    async def drop() -> None:
        await _drop_postgres_database(names[0])

    _in_a_thread(drop)


async def _fresh_postgres_database(template: str | None = None) -> tuple[str, str]:
    """A new database on the test server (empty, or a copy of `template`): tests never see
    each other's rows."""
    admin_url = make_url(POSTGRES_URL)
    name = f"pb_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        copy = f' TEMPLATE "{template}"' if template else ""
        await connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    await admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False), name


@asynccontextmanager
async def postgres_database(template: str | None, why: str = "PostgreSQL tests") -> AsyncIterator[str]:
    """A database of the test's own on the test server (a copy of `template`), dropped after;
    a skip that says so where TEST_POSTGRES_URL is not set."""
    if not POSTGRES_URL:
        pytest.skip(f"{why} need TEST_POSTGRES_URL (CI sets it to the local server)")
    url, name = await _fresh_postgres_database(template)
    try:
        yield url
    finally:
        await _drop_postgres_database(name)


async def _drop_postgres_database(name: str) -> None:
    admin = create_async_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request, tmp_path, migrated_sqlite_file, migrated_postgres_template):
    """A database URL migrated to head and holding no rows, on SQLite and (when configured)
    on PostgreSQL: a copy of the session's migrated template."""
    if request.param == "sqlite":
        shutil.copyfile(migrated_sqlite_file, tmp_path / "test.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    async with postgres_database(migrated_postgres_template) as url:
        yield url


@pytest.fixture
async def sqlite_url(tmp_path, migrated_sqlite_file):
    """A migrated SQLite database with no rows (a copy of the session's template)."""
    shutil.copyfile(migrated_sqlite_file, tmp_path / "test.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_database_url(request, tmp_path):
    """A database with no schema at all, on both servers (for the migrations' own tests)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    async with postgres_database(None) as url:
        yield url


@pytest.fixture
async def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def uow_factory(engine):
    return unit_of_work_factory(create_session_factory(engine))


@pytest.fixture
def vault() -> PersonalDataVault:
    return PersonalDataVault(Fernet.generate_key(), os.urandom(32))
