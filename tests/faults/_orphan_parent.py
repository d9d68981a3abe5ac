"""A tiny parent for tests/faults/test_worker_orphans.py: the real FaceWorkerPool with an
engine that loads nothing, one job run, then the child pids printed; waits to be killed."""

from __future__ import annotations

import asyncio
import os
import sys


class TinyEngine:
    name = "tiny"


def tiny_engine() -> TinyEngine:
    return TinyEngine()


async def main() -> None:
    from verification.faces.pool import FaceWorkerPool

    pool = FaceWorkerPool(workers=int(sys.argv[1]) if len(sys.argv) > 1 else 1, engine_factory=tiny_engine)
    await pool.start()  # one job per worker: each runs its initializer
    print(os.getpid(), flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main())
