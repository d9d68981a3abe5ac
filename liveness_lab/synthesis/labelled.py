"""The rendered evaluation set: a labelled mix of takes animated from one photo (animated-photo
attacks, historically called genuine takes) and every other kind of attack, for
`pension-bot eval liveness` (real recordings are added there, from verification.liveness.real_clips)."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from liveness_lab.synthesis.attacks import (
    render_print_attack,
    render_screen_replay,
    render_still_photo_attack,
)
from liveness_lab.synthesis.media import decode_frames, encode_mp4, reencode
from liveness_lab.synthesis.photo import MAX_YAW, FacePhoto, _largest, load_face_photo
from liveness_lab.synthesis.takes import Take, plan_take, render_genuine
from verification.liveness.actions import Action

CLIP = Path("video/short_hamilton_clip.mp4")
EAST_ASIAN = ("cn_", "jp_", "kr_")


@dataclass(frozen=True)
class LabelledVideo:
    """One video of the evaluation set and what a correct liveness check makes of it.

    kind: "genuine" (one photo animated into the actions asked: an animated-photo attack, the
    name is historical), "real_recording" (a camera clip of a real person: should pass; made by
    liveness_lab.evaluation) or the attack it is: still_photo, print, screen, replay_exact,
    replay_reencoded, missing_action, wrong_order, real_clip. `asked` is the
    challenge, `performed` the deliberate actions in the video in order (natural blinks are
    not listed). Replays are asked what their source was asked: only recognising the earlier
    video can catch them. `source` is the `key` of the genuine video a replay reuses."""

    kind: str
    identity: str
    asked: tuple[Action, ...]
    performed: tuple[Action, ...]
    data: bytes
    reference_photo: Path
    source: str | None
    key: str
    take: Take | None = None


@dataclass(frozen=True)
class _Person:
    identity: str
    photo: FacePhoto
    reference: Path


ATTACKS = (
    "still_photo",
    "print",
    "screen",
    "replay_exact",
    "replay_reencoded",
    "missing_action",
    "wrong_order",
)


def evaluation_set(
    faces_dir: Path,
    *,
    identities: int | None = None,
    seed: int = 7,
    size: int = 640,
    fps: int = 30,
    workers: int = 2,
) -> Iterator[LabelledVideo]:
    """Genuine takes of every usable identity (East Asian ones first), then about a third as
    many of each attack kind, then the real clip. Genuine videos come first so that a
    replay's source has been seen before the replay. The videos are rendered by `workers`
    processes; every random choice is drawn here, in order, so a seed gives the same set
    whatever the number of workers. `size` and `fps` only make it cheaper."""
    rng = np.random.default_rng(seed)
    people = list(_people(Path(faces_dir), identities, rng))
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        genuine: list[LabelledVideo] = []
        jobs = []
        for i, person in enumerate(people):
            actions = _challenge(rng)
            take = plan_take(actions, fps=fps, size=size, seed=seed * 1000 + i)
            label = LabelledVideo(
                "genuine",
                person.identity,
                actions,
                actions,
                b"",
                person.reference,
                None,
                f"genuine-{i:02d}-{person.identity}",
                take,
            )
            jobs.append((label, pool.submit(_render_take, person.photo, take)))
        for label, job in jobs:
            genuine.append(replace(label, data=job.result()))
            yield genuine[-1]
        jobs = []
        for n in range(max(1, round(len(genuine) / 3))):
            for k, kind in enumerate(ATTACKS):
                index = (n * len(ATTACKS) + k) % len(people)
                key = f"{kind}-{n:02d}-{people[index].identity}"
                take_seed = seed * 1000 + 500 + n * len(ATTACKS) + k
                jobs.append(
                    _attack(
                        pool,
                        kind,
                        people[index],
                        genuine[index],
                        rng,
                        key,
                        fps=fps,
                        size=size,
                        seed=take_seed,
                    )
                )
        for label, job in jobs:
            yield label if job is None else replace(label, data=job.result())
    finally:  # a consumer that stops early should not wait for the rest to render
        pool.shutdown(wait=True, cancel_futures=True)
    yield _real_clip(Path(faces_dir), rng)


def _render_take(photo: FacePhoto, take: Take, *, natural_blinks: bool = True) -> bytes:
    frames = render_genuine(
        photo,
        take.actions,
        seconds=take.seconds,
        fps=take.fps,
        size=take.size,
        seed=take.seed,
        natural_blinks=natural_blinks,
    )
    return encode_mp4(frames, fps=take.fps)


def _render_held_up(kind: str, photo: FacePhoto, seconds: float, fps: int, size: int, seed: int) -> bytes:
    render = render_still_photo_attack if kind == "still_photo" else render_print_attack
    return encode_mp4(render(photo, seconds=seconds, fps=fps, size=size, seed=seed), fps=fps)


def _render_screen(data: bytes, fps: int, seed: int) -> bytes:
    return encode_mp4(render_screen_replay(decode_frames(data)[0], fps=fps, seed=seed), fps=fps)


def _people(faces_dir: Path, limit: int | None, rng: np.random.Generator) -> Iterator[_Person]:
    """Identities with a usable photo to animate and (where there is one) another as reference."""
    photos: dict[str, list[Path]] = {}
    with open(faces_dir / "manifest.csv", newline="") as manifest:
        for row in csv.DictReader(manifest):
            if row["kind"] == "people":
                photos.setdefault(row["identity"], []).append(faces_dir / row["path"])
    order = sorted(photos, key=lambda name: (not name.startswith(EAST_ASIAN), name))
    found = 0
    for identity in order:
        if limit is not None and found >= limit:
            return
        usable = _usable(photos[identity], rng, 2)
        if usable:
            found += 1
            yield _Person(identity, usable[0], usable[-1].path)


def _usable(paths: list[Path], rng: np.random.Generator, wanted: int) -> list[FacePhoto]:
    """Up to `wanted` photos with a usable face, tried in a random order."""
    out = []
    for index in rng.permutation(len(paths)):
        try:
            out.append(load_face_photo(paths[index], max_yaw=MAX_YAW if not out else None))
        except ValueError:
            continue
        if len(out) == wanted:
            break
    return out


def _challenge(rng: np.random.Generator, count: int | None = None) -> tuple[Action, ...]:
    """`count` different actions in a random order; 2 or 3 of them unless told."""
    if count is None:
        count = int(rng.integers(2, 4))
    return tuple(Action(a) for a in rng.choice([a.value for a in Action], size=count, replace=False))


def _attack(
    pool: ProcessPoolExecutor,
    kind: str,
    person: _Person,
    original: LabelledVideo,
    rng: np.random.Generator,
    key: str,
    *,
    fps: int,
    size: int,
    seed: int,
) -> tuple[LabelledVideo, Future | None]:
    """One attack of this kind on this person (`original` is their genuine video): its label,
    and the job rendering its bytes (None where the label already holds them)."""
    if kind in ("still_photo", "print"):
        asked = _challenge(rng)
        seconds = float(rng.uniform(5.0, 7.0))
        label = LabelledVideo(kind, person.identity, asked, (), b"", person.reference, None, key)
        return label, pool.submit(_render_held_up, kind, person.photo, seconds, fps, size, seed)
    if kind in ("replay_exact", "replay_reencoded", "screen"):
        label = LabelledVideo(
            kind,
            person.identity,
            original.asked,
            original.performed,
            original.data,
            person.reference,
            original.key,
            key,
            original.take,
        )
        if kind == "replay_exact":
            return label, None
        if kind == "replay_reencoded":
            return label, pool.submit(reencode, original.data)
        return label, pool.submit(_render_screen, original.data, fps, seed)
    asked = _challenge(rng, 3)
    if kind == "missing_action":
        dropped = asked[int(rng.integers(3))]
        performed = tuple(a for a in asked if a != dropped)
    else:
        performed = asked
        while performed == asked:
            performed = tuple(asked[i] for i in rng.permutation(3))
    take = plan_take(performed, fps=fps, size=size, seed=seed)
    label = LabelledVideo(kind, person.identity, asked, performed, b"", person.reference, None, key, take)
    # No involuntary blinks where a blink is asked: one could stand in for the missing or
    # misplaced blink and make the label wrong.
    return label, pool.submit(_render_take, person.photo, take, natural_blinks=Action.BLINK not in asked)


def _real_clip(faces_dir: Path, rng: np.random.Generator) -> LabelledVideo:
    """The real clip, in which nobody performs anything asked; its reference is a face cut
    from its own first frames, so identity is not what makes it fail."""
    import face_recognition

    data = (faces_dir / CLIP).read_bytes()
    reference = Path(tempfile.mkdtemp(prefix="liveness-eval-")) / "clip_reference.jpg"
    for frame in decode_frames(data)[0][:30]:
        boxes = face_recognition.face_locations(frame, number_of_times_to_upsample=1)
        if boxes:
            top, right, bottom, left = _largest(boxes)
            margin = (bottom - top) // 2
            crop = frame[max(0, top - margin) : bottom + margin, max(0, left - margin) : right + margin]
            Image.fromarray(crop).save(reference, quality=95)
            break
    else:
        raise ValueError(f"no face in the first 30 frames of {faces_dir / CLIP}")
    asked = _challenge(rng)
    return LabelledVideo("real_clip", "hamilton_clip", asked, (), data, reference, None, "real_clip")
