"""`pension-bot bench liveness`: time and memory to judge one video note on one core.

The note is a take rendered by the lab (`liveness_lab.synthesis.render_genuine`) from a real
photo, 640 x 640 at 30 fps, H.264 like Telegram's: what a face worker receives, at the most
work a note can ask for. It is an animated photo, so the verdict is `animated_photo`; the judge
has done every stage by then but the final comparison with the references (a few vector
distances). The caller pins the process to one CPU first (`one_core`); each run is decode to
verdict, after a warm-up. Part of the liveness lab: never installed.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from liveness_lab.synthesis import encode_mp4, load_face_photo, render_genuine
from verification.faces.engine import FaceEngine
from verification.faces.pipeline import ReferenceTemplate, default_engine, encode_reference
from verification.liveness.actions import Action
from verification.liveness.judge import VideoVerdict, judge_video

# A three-action challenge: the most work a note can ask for.
BENCH_ACTIONS = (Action.TURN_LEFT, Action.BLINK, Action.OPEN_MOUTH)
TARGET_SECONDS = 2.0


@dataclass(frozen=True)
class BenchNote:
    data: bytes
    actions: tuple[Action, ...]
    reference: ReferenceTemplate
    photo: Path
    seconds: float
    size: int


@dataclass(frozen=True)
class BenchResult:
    runs: tuple[float, ...]  # seconds, decode to verdict, after the warm-up
    verdict: VideoVerdict  # of the last run
    rss_before_mb: float  # the process's peak resident memory before judging (models loaded)
    max_rss_mb: float  # the process's peak resident memory after the runs
    # The peak of allocations tracemalloc sees during one judgement: Python objects and
    # numpy arrays, not FFmpeg's or dlib's own buffers (the RSS figures include those).
    traced_peak_mb: float

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def worst(self) -> float:
        return max(self.runs)


def bench_note_elsewhere(faces_dir: Path) -> BenchNote:
    """`bench_note`, made in a child process: rendering holds ~400 MB of frames, which
    would otherwise stand as this process's peak memory instead of the judgement's."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(bench_note, faces_dir).result()


def bench_note(
    faces_dir: Path, engine: FaceEngine | None = None, *, seconds: float = 10.0, size: int = 640
) -> BenchNote:
    """A genuine take of the first identity with two usable photos: one animated, the other
    the reference."""
    engine = engine or default_engine()
    for folder in sorted((faces_dir / "people").iterdir()):
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if len(photos) < 2:
            continue
        try:
            photo = load_face_photo(photos[0], size=size)
        except ValueError:
            continue
        reference = encode_reference(photos[1].read_bytes(), engine=engine).template
        if reference is None:
            continue
        frames = render_genuine(photo, BENCH_ACTIONS, seconds=seconds, size=size, fps=30, seed=1)
        return BenchNote(encode_mp4(frames, 30), BENCH_ACTIONS, reference, photos[0], seconds, size)
    raise ValueError(f"no identity with two usable photos under {faces_dir / 'people'}")


def run_bench(note: BenchNote, engine: FaceEngine, repeats: int = 5) -> BenchResult:
    def once() -> VideoVerdict:
        return judge_video(note.data, note.actions, [note.reference], engine=engine)

    # `engine` exists, its models loaded: the baseline includes them.
    before = _max_rss_mb()
    once()  # warm-up: first calls load dlib's landmark model and FFmpeg's decoder
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        verdict = once()
        runs.append(time.perf_counter() - start)
    tracemalloc.start()
    try:
        once()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return BenchResult(tuple(runs), verdict, before, _max_rss_mb(), peak / 2**20)


def _max_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB elsewhere


# BLAS/OpenMP pools read these when they start; set before anything that starts one.
THREAD_VARIABLES: Sequence[str] = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def one_core() -> Iterator[str]:
    """Pin this process to one CPU and ask thread pools for one thread; restore afterwards."""
    saved_env = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    saved_cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        if saved_cpus is None:
            yield "not pinned: this OS has no CPU affinity"
        else:
            cpu = min(saved_cpus)
            os.sched_setaffinity(0, {cpu})
            yield f"pinned to CPU {cpu} of {len(saved_cpus)} available"
    finally:
        if saved_cpus is not None:
            os.sched_setaffinity(0, saved_cpus)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
