"""Takes of a person doing the asked actions, animated from one photo (`render_genuine`: the
name is historical; the result is an animated-photo attack, which the judge refuses)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from liveness_lab.synthesis.camera import _Camera
from liveness_lab.synthesis.photo import FacePhoto, _reframed
from liveness_lab.synthesis.timing import _plan
from liveness_lab.synthesis.warps import _Rig
from verification.liveness.actions import MIRRORED, Action


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
    """The person of `photo` seeming to do `actions` in order, animated from that one photo:
    RGB uint8 frames."""
    rng = np.random.default_rng(seed)
    plan = _plan(actions, seconds, rng, natural_blinks=natural_blinks, mirrored=mirrored)
    rig = _Rig(_reframed(photo, size))
    camera = _Camera(rng, size)
    times = np.arange(round(plan.seconds * fps)) / fps
    return [camera.shoot(rig.warp(plan.state(t)), t) for t in times]
