"""Timed jobs run in one process at a time across schedulers (issue 18): a PostgreSQL advisory
lock per job, released when its holder's connection goes; on SQLite every run goes ahead."""

from __future__ import annotations

import asyncio
import sys
from types import SimpleNamespace

from bot.alone import alone
from storage.db import create_engine
from storage.job_locks import JobLocks
from tests.conftest import REPO_ROOT


async def test_three_schedulers_ticking_at_once_run_a_job_once(database_url):
    engines = [create_engine(database_url) for _ in range(3)]  # three processes' pools
    runs: list[int] = []

    async def reminders(context) -> None:
        runs.append(context.scheduler)
        await asyncio.sleep(0.3)  # the job takes a while: the others tick meanwhile

    job = alone("certification-cycle", reminders)

    def scheduler(n: int, engine) -> SimpleNamespace:  # what a job sees of its PTB context
        services = SimpleNamespace(job_locks=JobLocks(engine))
        return SimpleNamespace(scheduler=n, application=SimpleNamespace(bot_data={"services": services}))

    contexts = [scheduler(n, engine) for n, engine in enumerate(engines)]
    try:
        await asyncio.gather(*(job(context) for context in contexts))
        if engines[0].dialect.name == "postgresql":
            assert len(runs) == 1
        else:  # the embedded default is one process: nothing to share
            assert sorted(runs) == [0, 1, 2]
        await job(contexts[2])  # the lock was released: the next tick runs
        assert runs[-1] == 2
    finally:
        for engine in engines:
            await engine.dispose()


HOLDER = """
import asyncio, sys
from storage.db import create_engine
from storage.job_locks import JobLocks
from tests.conftest import REPO_ROOT

async def main():
    engine = create_engine(sys.argv[1])
    async with JobLocks(engine).hold("assistance-sweep") as mine:
        print("held" if mine else "not held", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_a_killed_holder_leaves_no_job_locked(postgres_url):
    """A scheduler killed (SIGKILL) while its job runs: the server drops its connection and the
    lock with it; the next scheduler's tick runs the job."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, postgres_url, cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
    )
    engine = create_engine(postgres_url)
    try:
        assert holder.stdout is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 60)).strip() == b"held"
        async with JobLocks(engine).hold("assistance-sweep") as mine:
            assert mine is False
        async with JobLocks(engine).hold("publicity-sender") as other_job:
            assert other_job is True  # one lock per job
        holder.kill()
        await holder.wait()
        for _ in range(100):
            async with JobLocks(engine).hold("assistance-sweep") as mine:
                if mine:
                    break
            await asyncio.sleep(0.05)
        assert mine is True
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await engine.dispose()
