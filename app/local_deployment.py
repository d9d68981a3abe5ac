"""A scaled-out deployment on this machine, each role a process of its own
(`python -m app.cli serve --role ...`), for the tests and `bench scale`: the same commands and
settings as deploy/compose.yaml, with SIGKILL and restart on demand."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RoleProcess:
    """One role, started with `env`; its log in `log_path`; health on `port`."""

    role: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - a fast fork; callers wait on readiness
                [sys.executable, "-m", "app.cli", "serve", "--role", self.role],
                cwd=PROJECT_ROOT,
                env={**os.environ, **self.env, "LISTEN_PORT": str(self.port), "PYTHONUNBUFFERED": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, http: aiohttp.ClientSession, wait: float = 90.0) -> None:
        """Returns once /readyz answers 200; raises with the log's tail if the process ended
        or `wait` seconds passed."""
        for _ in range(int(wait / 0.2)):
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.role} exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                async with http.get(f"{self.url}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.role} not ready after {wait:.0f} s:\n{self.log_tail()}")

    async def kill(self) -> None:
        """SIGKILL: no clean-up, nothing acknowledged or marked that was not already."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(self.process.wait)

    async def stop(self, grace: float = 20.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(self.process.wait), grace)
            except TimeoutError:
                await self.kill()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"
