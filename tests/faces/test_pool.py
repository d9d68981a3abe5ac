"""Face work runs in worker processes: the event loop keeps serving while a face is checked."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from tests.faces.conftest import GENUINE_PAIR, TWO_FACES
from verification.faces.pipeline import check_selfie
from verification.faces.pool import FaceWorkerCrashed, FaceWorkerPool, FaceWorkError, FaceWorkTimeout
from verification.faces.reasons import Reason

pytestmark = pytest.mark.faces


@pytest.fixture(scope="module")
def pool():
    # One pool for the module: spawning a worker and loading its models takes a second or two.
    # The pool is bound to no event loop, so each test's own loop can use it.
    face_pool = FaceWorkerPool(workers=1, timeout=60.0)
    asyncio.run(face_pool.start())
    yield face_pool
    asyncio.run(face_pool.shutdown())


async def ticks_during(work, interval: float = 0.01) -> tuple[object, int, float]:
    """Run `work` while a coroutine ticks every `interval`: (result, ticks, longest gap)."""
    ticks = 0
    longest = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks, longest
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(interval)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # let the ticker start its clock before the work begins
    try:
        result = await work()
    finally:
        done.set()
        await task
    return result, ticks, longest


@pytest.mark.serial  # counts the event loop's ticks: another test's load would skew them
async def test_event_loop_keeps_running_while_a_face_is_checked(pool, read_photo, genuine_reference) -> None:
    selfie = read_photo(GENUINE_PAIR[1])

    started = time.perf_counter()
    verdict, ticks, longest = await ticks_during(lambda: pool.check_selfie(genuine_reference, selfie))
    elapsed = time.perf_counter() - started

    assert (verdict.verdict, verdict.reason) == ("pass", Reason.MATCH)
    assert elapsed > 0.1  # real work happened while we ticked
    assert ticks >= elapsed / 0.01 * 0.5  # at least half the ticks a free loop would make
    assert longest < 0.1  # no stall: the loop never waited for the face work

    # Contrast: the same work on the loop itself stalls it for the whole check.
    async def on_the_loop():
        return check_selfie(genuine_reference, selfie)

    started = time.perf_counter()
    _, _, blocked = await ticks_during(on_the_loop)
    on_loop = time.perf_counter() - started
    # Relative, not in seconds: a fast quiet machine checks a face in under 0.1 s.
    assert blocked > 0.8 * on_loop  # the loop stood still for (nearly) the whole check


async def test_encode_reference_in_the_pool(pool, read_photo) -> None:
    result = await pool.encode_reference(read_photo(GENUINE_PAIR[0]))
    assert result.ok and len(result.template.vector) == 512
    several = await pool.encode_reference(read_photo(TWO_FACES))
    assert several.reason is Reason.SEVERAL_FACES


async def test_per_call_time_limit(pool, read_photo, genuine_reference) -> None:
    with pytest.raises(FaceWorkTimeout):
        await pool.check_selfie(genuine_reference, read_photo(GENUINE_PAIR[1]), time_limit=0.001)
    # the pool still works afterwards
    verdict = await pool.check_selfie(genuine_reference, read_photo(GENUINE_PAIR[1]))
    assert verdict.verdict == "pass"


async def test_a_dead_worker_is_replaced(pool, read_photo, genuine_reference) -> None:
    with pytest.raises(FaceWorkerCrashed):
        await pool._run(os._exit, 3, time_limit=60.0)  # the worker process dies mid-call
    verdict = await pool.check_selfie(genuine_reference, read_photo(GENUINE_PAIR[1]))
    assert verdict.verdict == "pass"


async def test_shut_down_pool_refuses_work(read_photo) -> None:
    pool = FaceWorkerPool(workers=1)
    await pool.shutdown()
    with pytest.raises(FaceWorkError):
        await pool.encode_reference(read_photo(GENUINE_PAIR[0]))
