"""Genuine takes: a live person doing the asked actions, animated from one photo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from verification.liveness.actions import MIRRORED, Action
from verification.liveness.synthesis.camera import _Camera
from verification.liveness.synthesis.photo import FacePhoto, _reframed
from verification.liveness.synthesis.timing import _plan
from verification.liveness.synthesis.warps import _Rig


@dataclass(frozen=True)
class Take:
    """How a genuine video was made: enough to render it again from its photo."""

    actions: tuple[Action, ...]
    seconds: float
    fps: int
    size: int
    seed: int


def plan_take(
    actions: Sequence[Action], *, seconds: float | None = None, fps: int = 30, size: int = 640, seed: int = 0
) -> Take:
    """The Take render_genuine makes for these arguments, with its length settled."""
    if seconds is None:  # the same draws render_genuine makes first, so the same length
        rng = np.random.default_rng(seed)
        seconds = _plan(actions, None, rng, natural_blinks=False, mirrored=MIRRORED).seconds
    return Take(tuple(actions), seconds, fps, size, seed)


def render_genuine(
    photo: FacePhoto,
    actions: Sequence[Action],
    *,
    seconds: float | None = None,
    fps: int = 30,
    size: int = 640,
    seed: int = 0,
    natural_blinks: bool = True,
    mirrored: bool = MIRRORED,
) -> list[np.ndarray]:
    """A live person doing `actions` in order, animated from one photo: RGB uint8 frames."""
    rng = np.random.default_rng(seed)
    plan = _plan(actions, seconds, rng, natural_blinks=natural_blinks, mirrored=mirrored)
    rig = _Rig(_reframed(photo, size))
    camera = _Camera(rng, size)
    times = np.arange(round(plan.seconds * fps)) / fps
    return [camera.shoot(rig.warp(plan.state(t)), t) for t in times]
