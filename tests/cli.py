"""`pension-bot` run as an operator runs it: a subprocess, with the settings a test names."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# Settings a test gives its command itself: those of the suite's own process must not leak in.
OWN_SETTINGS = frozenset({"DATA_KEY", "ID_HASH_KEY", "TEST_POSTGRES_URL", "DATABASE_URL"})


def cli_env(**settings: str) -> dict[str, str]:
    """This process's environment without OWN_SETTINGS, with `settings` and the project importable."""
    env = {key: value for key, value in os.environ.items() if key not in OWN_SETTINGS}
    env.update(PYTHONPATH=str(REPO_ROOT), **settings)
    return env


def run_cli(
    *args: str, env: dict[str, str], cwd: Path = REPO_ROOT, timeout: float = 180, **options: Any
) -> subprocess.CompletedProcess:
    """`pension-bot ARGS…`, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **options,
    )


@asynccontextmanager
async def cli_database(env: dict[str, str]) -> AsyncIterator[tuple[Any, Any, Any]]:
    """The database and keys a command run with `env` will open, migrated, to seed a test's
    world first: (settings, unit-of-work factory, vault)."""
    from app.settings import Settings
    from storage.db import create_engine, create_session_factory
    from storage.protection import PersonalDataVault
    from storage.schema import upgrade
    from storage.uow import unit_of_work_factory

    settings = Settings(database_url=env["DATABASE_URL"], var_dir=Path(env["VAR_DIR"]))
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        vault = PersonalDataVault(*settings.personal_data_keys(create_if_missing=True))
        yield settings, unit_of_work_factory(create_session_factory(engine)), vault
    finally:
        await engine.dispose()
