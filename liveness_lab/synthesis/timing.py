"""When the face moves: a take's deliberate actions, the rests between them and the natural
blinks, planned as a FaceState at every moment."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from verification.liveness.actions import Action, yaw_sign

FaceState = tuple[float, float, float]  # (blink 0..1, mouth 0..1, yaw -1..1)


def _smoothstep(x: np.ndarray | float) -> np.ndarray | float:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _wobble(
    rng: np.random.Generator, low_hz: float, high_hz: float, parts: int = 3
) -> Callable[[float], float]:
    """A smooth random signal of roughly unit amplitude: a few sines of random frequency."""
    freqs = rng.uniform(low_hz, high_hz, parts)
    phases = rng.uniform(0, 2 * math.pi, parts)
    weights = rng.uniform(0.5, 1.0, parts)
    weights /= weights.sum()
    return lambda t: float(np.dot(weights, np.sin(2 * math.pi * freqs * t + phases)))


@dataclass(frozen=True)
class _Move:
    """One rise-hold-fall of a state channel."""

    channel: int  # index into FaceState
    start: float
    ramp: float
    hold: float
    peak: float

    @property
    def length(self) -> float:
        return 2 * self.ramp + self.hold

    def level(self, t: float) -> float:
        rise = _smoothstep((t - self.start) / self.ramp)
        fall = _smoothstep((t - self.start - self.ramp - self.hold) / self.ramp)
        return self.peak * (rise - fall)


def _deliberate(action: Action, rng: np.random.Generator, mirrored: bool) -> _Move:
    if action is Action.BLINK:  # a deliberate blink, slower than a natural one: 0.3-0.5 s
        return _Move(0, 0.0, rng.uniform(0.1, 0.14), rng.uniform(0.12, 0.2), 1.0)
    if action is Action.OPEN_MOUTH:  # held open 0.8-1.2 s
        return _Move(1, 0.0, rng.uniform(0.2, 0.3), rng.uniform(0.8, 1.2), rng.uniform(0.85, 1.0))
    # A turn: out ~0.45 s, hold ~0.5 s, back.
    peak = yaw_sign(action, mirrored) * rng.uniform(0.9, 1.0)
    return _Move(2, 0.0, rng.uniform(0.4, 0.5), rng.uniform(0.45, 0.6), peak)


@dataclass(frozen=True)
class _Plan:
    moves: tuple[_Move, ...]
    seconds: float

    def state(self, t: float) -> FaceState:
        levels = [0.0, 0.0, 0.0]
        for move in self.moves:
            level = move.level(t)
            if move.channel == 2:
                levels[2] += level
            else:
                levels[move.channel] = max(levels[move.channel], level)
        return levels[0], levels[1], levels[2]


def _plan(
    actions: Sequence[Action],
    seconds: float | None,
    rng: np.random.Generator,
    *,
    natural_blinks: bool,
    mirrored: bool,
) -> _Plan:
    """Actions in order after ~1 s of rest, with rests between; given `seconds`, the rests
    stretch or shrink to fit."""
    moves = [_deliberate(action, rng, mirrored) for action in actions]
    lead, tail = rng.uniform(0.9, 1.3), rng.uniform(0.8, 1.1)
    after = [rng.uniform(0.5, 0.9) for _ in moves[1:]] + [tail]  # the rest after each move
    rests = [lead, *after]
    busy = sum(move.length for move in moves)
    if seconds is None:  # a video note runs 5-6 s at least, even for one quick blink
        seconds = max(busy + sum(rests), rng.uniform(5.0, 6.0))
    elif moves and seconds < busy + 0.2 * len(rests):
        raise ValueError(f"{seconds:.1f} s is too short for {len(moves)} actions ({busy:.1f} s of moving)")
    stretch = (seconds - busy) / sum(rests)
    placed, t = [], lead * stretch
    for move, rest in zip(moves, after, strict=False):
        placed.append(_Move(move.channel, t, move.ramp, move.hold, move.peak))
        t += move.length + rest * stretch
    if natural_blinks:
        placed += _natural_blinks(placed, seconds, rng)
    return _Plan(tuple(placed), seconds)


def _natural_blinks(moves: list[_Move], seconds: float, rng: np.random.Generator) -> list[_Move]:
    """Quick involuntary blinks (~0.2 s, every few seconds) where no action is going on."""
    blinks, t = [], rng.uniform(0.3, 2.5)
    while t < seconds - 0.4:
        busy = any(m.start - 0.35 < t < m.start + m.length + 0.35 for m in moves)
        if not busy:
            ramp, hold, depth = rng.uniform(0.06, 0.08), rng.uniform(0.02, 0.05), rng.uniform(0.8, 1.0)
            blinks.append(_Move(0, t, ramp, hold, depth))
        t += rng.uniform(2.5, 5.0)
    return blinks
