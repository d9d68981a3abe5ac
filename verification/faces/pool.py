"""Face work off the asyncio event loop, in worker processes that load the models once.

One selfie is ~0.2 s of pure CPU inside dlib. On the bot's event loop that would stall every
other chat for that long; in a thread it would still hold the GIL for parts of it. So it runs
in separate processes: `FaceWorkerPool` wraps a `ProcessPoolExecutor` whose workers build
their engine once at start-up (about a second of model loading) and reuse it for every call.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

import numpy as np

from kernel.parent_death import die_with_parent
from verification.faces.engine import FaceEngine
from verification.faces.media import MediaLimits
from verification.faces.pipeline import (
    ReferenceResult,
    ReferenceTemplate,
    SelfieVerdict,
    VerifyPolicy,
    check_selfie,
    default_engine,
    encode_reference,
    verify,
)

if TYPE_CHECKING:
    from verification.liveness.actions import Action
    from verification.liveness.judge import LivenessPolicy, VideoVerdict

T = TypeVar("T")


class FaceWorkError(RuntimeError):
    """The face work could not be done now (not a verdict): ask the person to try later."""


class FaceWorkTimeout(FaceWorkError):
    """A call took longer than its timeout."""


class FaceWorkerCrashed(FaceWorkError):
    """A worker process died (the pool has been replaced with a fresh one)."""


# --- in the worker process ---

_engine: FaceEngine | None = None


def _init_worker(engine_factory: Callable[[], FaceEngine], parent_pid: int | None = None) -> None:
    global _engine
    if parent_pid is not None:  # first, before the models load: no orphan if the bot is killed
        die_with_parent(parent_pid)
    _engine = engine_factory()


def _worker_engine() -> FaceEngine:
    if _engine is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("face worker used before its initializer ran")
    return _engine


def _ping() -> str:
    return _worker_engine().name


def _check_selfie_job(
    reference: ReferenceTemplate, selfie: bytes, policy: VerifyPolicy | None
) -> SelfieVerdict:
    return check_selfie(reference, selfie, policy, engine=_worker_engine())


def _verify_job(
    references: Sequence[ReferenceTemplate],
    frames: Sequence[bytes],
    policy: VerifyPolicy | None,
    reference_weights: Sequence[float] | None,
    cohort: np.ndarray | None,
    evidence_sha256: str | None,
) -> SelfieVerdict:
    return verify(
        references,
        frames,
        policy,
        engine=_worker_engine(),
        reference_weights=reference_weights,
        cohort=cohort,
        evidence_sha256=evidence_sha256,
    )


def _encode_reference_job(image_bytes: bytes, limits: MediaLimits | None) -> ReferenceResult:
    return encode_reference(image_bytes, limits=limits, engine=_worker_engine())


def _judge_video_job(
    data: bytes,
    actions: Sequence[Action],
    references: Sequence[ReferenceTemplate],
    policy: LivenessPolicy | None,
    match_policy: VerifyPolicy | None,
    reference_weights: Sequence[float] | None,
    cohort: np.ndarray | None,
) -> VideoVerdict:
    # Imported here: the liveness modules load PyAV, which only the workers need.
    from verification.liveness.judge import judge_video

    return judge_video(
        data,
        actions,
        references,
        policy=policy,
        match_policy=match_policy,
        engine=_worker_engine(),
        reference_weights=reference_weights,
        cohort=cohort,
    )


# What a worker may be asked to run, by name: the name travels to a worker of this process
# (FaceWorkerPool) or of another machine (broker/faces.py), never the function itself.
FACE_JOBS: dict[str, Callable[..., Any]] = {
    "ping": _ping,
    "check_selfie": _check_selfie_job,
    "verify": _verify_job,
    "encode_reference": _encode_reference_job,
    "judge_video": _judge_video_job,
}


# --- on the event loop ---


class FaceWork:
    """The face calls the services make (`FaceChecker`, `FaceEncoder`), whoever runs them:
    this process's workers (`FaceWorkerPool`) or face workers on other machines
    (broker/faces.py). A subclass runs a job of FACE_JOBS by name."""

    policy: VerifyPolicy | None = None

    async def run_job(self, job: str, *args: Any, time_limit: float | None) -> Any:
        raise NotImplementedError

    async def start(self) -> None:
        """Ready the workers now, so the first selfie is not slow."""

    async def shutdown(self) -> None:
        """Stop accepting work."""

    async def check_selfie(
        self,
        reference: ReferenceTemplate,
        selfie_bytes: bytes,
        policy: VerifyPolicy | None = None,
        *,
        time_limit: float | None = None,
    ) -> SelfieVerdict:
        verdict = await self.run_job(
            "check_selfie", reference, selfie_bytes, policy or self.policy, time_limit=time_limit
        )
        return cast(SelfieVerdict, verdict)

    async def verify(
        self,
        references: Sequence[ReferenceTemplate],
        frames: Sequence[bytes],
        policy: VerifyPolicy | None = None,
        *,
        reference_weights: Sequence[float] | None = None,
        cohort: np.ndarray | None = None,
        evidence_sha256: str | None = None,
        time_limit: float | None = None,
    ) -> SelfieVerdict:
        """`verification.faces.pipeline.verify` in a worker (several references and frames,
        S-norm against `cohort` when the policy has a threshold for it)."""
        verdict = await self.run_job(
            "verify",
            list(references),
            list(frames),
            policy or self.policy,
            None if reference_weights is None else list(reference_weights),
            cohort,
            evidence_sha256,
            time_limit=time_limit,
        )
        return cast(SelfieVerdict, verdict)

    async def judge_video(
        self,
        data: bytes,
        actions: Sequence[Action],
        references: Sequence[ReferenceTemplate],
        *,
        policy: LivenessPolicy | None = None,
        match_policy: VerifyPolicy | None = None,
        reference_weights: Sequence[float] | None = None,
        cohort: np.ndarray | None = None,
        time_limit: float | None = None,
    ) -> VideoVerdict:
        """`verification.liveness.judge.judge_video` in a worker: a video note against its
        challenge and the retiree's references (~1-2 s of one core for a 10-s note)."""
        verdict = await self.run_job(
            "judge_video",
            data,
            list(actions),
            list(references),
            policy,
            match_policy or self.policy,
            None if reference_weights is None else list(reference_weights),
            cohort,
            time_limit=time_limit,
        )
        return cast("VideoVerdict", verdict)

    async def encode_reference(
        self, image_bytes: bytes, limits: MediaLimits | None = None, *, time_limit: float | None = None
    ) -> ReferenceResult:
        result = await self.run_job("encode_reference", image_bytes, limits, time_limit=time_limit)
        return cast(ReferenceResult, result)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()


class FaceWorkerPool(FaceWork):
    """Async face work in `workers` processes; use `async with FaceWorkerPool() as pool:`."""

    def __init__(
        self,
        workers: int = 1,
        *,
        timeout: float = 30.0,
        engine_factory: Callable[[], FaceEngine] = default_engine,
        start_method: str = "spawn",
        policy: VerifyPolicy | None = None,
    ) -> None:
        # One worker by default: a selfie takes one core for ~0.2 s, so one worker serves
        # about five selfies a second, more than a bot of this kind sees; raise it with cores.
        # `timeout` (seconds) covers queueing and the work itself; 30 s only trips when
        # something is badly wrong, since decoding limits bound every single call.
        # "spawn" (not fork): forking a process that runs an event loop and threads can copy
        # held locks into the child; spawned workers start clean and import what they need.
        # `engine_factory` must be picklable (a module-level function, or
        # `verification.faces.engines.engine_factory(spec)`) to reach the workers.
        # `policy`: thresholds for calls that pass none, calibrated for the factory's engine
        # (`verification.faces.thresholds.policy_for`); None: the dlib defaults.
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.policy = policy
        self.timeout = timeout
        self._engine_factory = engine_factory
        self._context = multiprocessing.get_context(start_method)
        self._executor: ProcessPoolExecutor | None = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(self._engine_factory, os.getpid()),
        )

    async def start(self) -> None:
        """Start every worker and load its models now, so the first selfie is not slow."""
        await asyncio.gather(
            *(self._run(_ping, time_limit=max(self.timeout, 120.0)) for _ in range(self.workers))
        )

    async def run_job(self, job: str, *args: Any, time_limit: float | None) -> Any:
        return await self._run(FACE_JOBS[job], *args, time_limit=time_limit)

    async def _run(self, fn: Callable[..., T], *args: Any, time_limit: float | None) -> T:
        if self._executor is None:
            raise FaceWorkError("face worker pool is shut down")
        executor = self._executor
        limit = time_limit if time_limit is not None else self.timeout
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(executor, fn, *args), limit)
        except TimeoutError as error:
            # The job itself cannot be interrupted inside dlib; it finishes in its worker and
            # its result is dropped. Limits on the input bound how long that can be.
            raise FaceWorkTimeout(f"face work took longer than {limit} s") from error
        except BrokenProcessPool as error:
            # A worker died (killed, out of memory, a crash in native code). Every later call
            # on this executor would fail too: replace it, and report this call as failed.
            if self._executor is executor:
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
            raise FaceWorkerCrashed("a face worker process died; the pool was restarted") from error

    async def shutdown(self) -> None:
        """Stop accepting work, drop queued calls and wait for the workers to exit."""
        executor, self._executor = self._executor, None
        if executor is not None:
            # Waiting for workers blocks; do it in a thread so the loop keeps serving.
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
