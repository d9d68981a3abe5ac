"""`pension-bot` run as an operator runs it: a subprocess, with the settings a test names."""

from __future__ import annotations

import os
import subprocess
import sys
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
