"""Animated stills (照片活化): a video note made by warping one photo into the actions asked.

An animation tool moves the eyelids, the jaw and the face inside one photo; everything else in
the picture (hair, ears, neck, shoulders, the room) stays the photo, and the "camera" of the
animation only moves the whole picture at once. A real head is never glued to its surroundings
like that: it sways on the neck, breathes, settles after a turn, and a hand-held phone adds
parallax between the head and the room behind it.

The cue measures exactly that, on the frames the judge has already decoded and the landmarks it
has already found. Frames where the face rests (eyes open, mouth at rest, facing as usual, and
the landmarks in the reference frame's shape) are compared with one reference resting frame, in
the middle of the longest rest: the face's interior (brows to nose, between the outer
eye corners) is registered by image (an affine transform with gain and offset, refined from the
landmarks' fit by Lucas-Kanade), and the ring around the head is then checked for a shift that
the face's own transform does not explain. The figure, `surround_shift`, is the 75th percentile
of that shift over the resting frames, in inter-ocular distances. An animated photo gives only
the registration's noise; a real recording gives the head's own motion against its
surroundings.

Chosen by measurement (issue 13), tuned on 12 identities of the shared faces and 4 of the 8 real
clips (`verification/liveness/data/animation_split.toml`): animated photos of the project's
renderer measured 0.0010-0.0051 on the tuning identities (held out: 0.0006-0.0068, at 320, 480
and 640 px), real recordings 0.031-0.092 on the tuning clips (held out: 0.011 for a man sitting
very still in front of a fixed camera, 0.094-0.16 for the others). Other cues were measured and
not used: the temporal correlation of the high-pass band inside the face, gaze movement, how a
closed eye looks, and the face's width in a turn all overlapped between the two.
`turn_parallax` is reported beside the verdict (how far the face's outline follows the nose in a
head turn: a real head turns as a whole, a 2.5-D warp leaves the outline in place; animated
-0.32 to 0.15, real 0.23-0.66) but decides nothing: three real clips with a turn are too few to
set a threshold on.

What it does NOT stop: an animation that moves the head against its surroundings (a neural
re-enactment that pastes a moving head onto a background with motion of its own, or a photo
composited onto a moving video), a real person's recording replayed (the replay and screen
checks' job), a deep-fake injected through a modified client. It is a cue, not a proof.

Cost: ~12 resting frames at half the working size, a few milliseconds each; no decoding or
landmark fitting of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from verification.liveness.events import Baseline, EventThresholds
from verification.liveness.signals import BROWS, EYES, JAW_LEFT, JAW_RIGHT, NOSE_TIP, FrameSignals

# Landmarks that a resting face keeps in place relative to the head (jaw outline, brows, nose,
# eyes; not the mouth), for the first, rough fit of the face's transform.
STABLE = np.r_[0:48]
NOSE_BOTTOM = 33
OUTER_EYE_CORNERS = (36, 45)


@dataclass(frozen=True)
class AnimationConfig:
    # animated_photo when `surround_shift` is under this (inter-ocular distances): 1.5 x the
    # largest figure of an animated photo of the tuning identities (0.0051). A real person who
    # sits very still before a fixed camera comes close (0.010 in the held-out clip d19), and a
    # false alarm costs a pensioner a failed try, so the threshold hugs the animations' side.
    min_surround_shift: float = 0.0077
    # Resting frames compared with the reference frame (spread over the note): each costs ~3 ms.
    frames: int = 12
    # At least this many, else the figure is None (the check abstains).
    min_frames: int = 4
    # The frames are looked at at this share of the working size (half: a 480-px note -> 240).
    scale: float = 0.5
    # A resting frame faces within this yaw of the note's usual one (a turn's start and end
    # excluded; events.yaw is a share of half the face width).
    rest_yaw: float = 0.08
    # The ring: between these multiples of the landmarks' half extent around their centre (the
    # box raised by a quarter of its height, where the head's crown is); sampled every
    # `ring_step` pixels, the face interior every `face_step` (denser sampling measured the
    # same figures, in twice the time).
    ring_inner: float = 1.05
    ring_outer: float = 2.2
    ring_step: int = 3
    face_step: int = 2
    # Resting frames whose landmark shape is further from the reference frame's than this many
    # times the median are not compared (see _same_shape).
    shape_spread: float = 3.0
    # Lucas-Kanade rounds for the face's affine transform, and for the ring's shift.
    face_rounds: int = 4
    ring_rounds: int = 3
    # A turn for `turn_parallax`: the yaw this far from the usual one (as events.turn_shift).
    turn_shift: float = 0.2


@dataclass(frozen=True)
class AnimationFigures:
    surround_shift: float | None  # None: too few resting frames, or no ring to look at
    frames: int  # resting frames compared with the reference frame
    turn_parallax: float | None  # None: no head turn in the note

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "surround_shift": self.surround_shift,
            "surround_frames": self.frames,
            "turn_parallax": self.turn_parallax,
        }


def measure(
    frames: Sequence[np.ndarray],
    signals: Sequence[FrameSignals],
    rest: Baseline,
    events: EventThresholds | None = None,
    config: AnimationConfig | None = None,
) -> AnimationFigures:
    """The animation figures of a note: its sampled RGB frames and their signals (judge's)."""
    config = config or AnimationConfig()
    events = events or EventThresholds()
    shift, used = surround_shift(frames, signals, rest, events, config)
    return AnimationFigures(shift, used, turn_parallax(signals, rest, config.turn_shift))


def looks_animated(figures: AnimationFigures, config: AnimationConfig | None = None) -> bool:
    """True when the face never moved against its surroundings: an animated photo."""
    config = config or AnimationConfig()
    return figures.surround_shift is not None and figures.surround_shift < config.min_surround_shift


# --- the face against its surroundings ---


def resting_frames(
    signals: Sequence[FrameSignals], rest: Baseline, events: EventThresholds, config: AnimationConfig
) -> list[int]:
    """Indices of frames where the face rests: eyes open, mouth at rest, facing as usual. When
    fewer than `min_frames + 1` do, the faced frames nearest to rest (a note that never rests
    is still compared on its calmest frames)."""
    faced = [n for n, s in enumerate(signals) if s.points is not None]
    if not faced:
        return []
    ear = np.array([signals[n].ear for n in faced]) / max(rest.ear, 1e-6)
    mar = np.array([signals[n].mar for n in faced]) - rest.mar
    yaw = np.abs(np.array([signals[n].yaw for n in faced]) - rest.yaw)
    calm = (ear >= events.blink_recover) & (mar < events.mouth_rise / 2) & (yaw <= config.rest_yaw)
    chosen = [n for n, ok in zip(faced, calm, strict=True) if ok]
    if len(chosen) > config.min_frames:
        return chosen
    # How far from rest, each in units of its own threshold.
    away = (
        np.maximum(0.0, events.blink_recover - ear) / (1 - events.blink_recover)
        + np.maximum(0.0, mar) / (events.mouth_rise / 2)
        + yaw / config.rest_yaw
    )
    nearest = np.argsort(away, kind="stable")[: max(len(faced) // 3, config.min_frames + 1)]
    return sorted(faced[k] for k in nearest)


def surround_shift(
    frames: Sequence[np.ndarray],
    signals: Sequence[FrameSignals],
    rest: Baseline,
    events: EventThresholds,
    config: AnimationConfig,
) -> tuple[float | None, int]:
    """(75th percentile of the ring's shift against the face, in inter-ocular distances, or
    None; the number of frames compared)."""
    resting = resting_frames(signals, rest, events, config)
    if len(resting) <= config.min_frames:
        return None, 0
    reference = _middle_of_longest_run(resting)
    others = _same_shape(signals, reference, [n for n in resting if n != reference], config)
    if len(others) > config.frames:
        others = [others[k] for k in np.linspace(0, len(others) - 1, config.frames).round().astype(int)]
    scale = config.scale
    anchor = _landmarks(signals, reference) * scale
    eyes = float(np.linalg.norm(anchor[EYES[0]].mean(axis=0) - anchor[EYES[1]].mean(axis=0)))
    template = _Template(_small_gray(frames[reference], scale), anchor, config)
    if eyes < 4 or template.face is None or template.ring is None:
        return None, 0
    shifts = []
    for n in others:
        image = _small_gray(frames[n], scale)
        rough = _affine(anchor[STABLE], _landmarks(signals, n)[STABLE] * scale)
        fitted = template.fit_face(image, rough)
        shifts.append(float(np.hypot(*template.ring_shift(image, fitted))) / eyes)
    return round(float(np.percentile(shifts, 75)), 5), len(shifts)


def _landmarks(signals: Sequence[FrameSignals], n: int) -> np.ndarray:
    """Frame n's 68 landmarks as float64; `n` is one of `resting_frames`, all frames with a face."""
    points = signals[n].points
    assert points is not None  # resting_frames picks only frames with landmarks
    return points.astype(np.float64)


def _same_shape(
    signals: Sequence[FrameSignals], reference: int, candidates: list[int], config: AnimationConfig
) -> list[int]:
    """The candidates whose 68 landmarks, once the best affine transform maps them onto the
    reference frame's, are left no further from them than `shape_spread` times the median of
    the candidates (at least `min_frames` of the closest): the same face shape as the
    reference's. The eye, mouth and yaw series miss a movement now and then (a jaw dropped
    from a photo of a smiling mouth reads as hardly open); the shape does not."""
    if len(candidates) <= config.min_frames:
        return candidates
    target = _landmarks(signals, reference)
    residuals = []
    for n in candidates:
        design = np.hstack([_landmarks(signals, n), np.ones((len(target), 1))])
        solution, *_ = np.linalg.lstsq(design, target, rcond=None)
        left = design @ solution - target
        residuals.append(float(np.sqrt((left**2).sum(axis=1).mean())))
    limit = config.shape_spread * float(np.median(residuals))
    order = np.argsort(residuals, kind="stable")
    keep = {candidates[k] for k in order[: config.min_frames]} | {
        n for n, r in zip(candidates, residuals, strict=True) if r <= limit
    }
    return sorted(keep)


class _Template:
    """The reference frame's face interior and ring, with what Lucas-Kanade needs of them
    (inverse compositional: the gradients are the reference's, computed once)."""

    def __init__(self, image: np.ndarray, points: np.ndarray, config: AnimationConfig) -> None:
        self.image, self.config = image, config
        gy, gx = np.gradient(image)
        height, width = image.shape
        x0, x1 = points[OUTER_EYE_CORNERS[0], 0], points[OUTER_EYE_CORNERS[1], 0]
        y0, y1 = points[BROWS, 1].min(), points[NOSE_BOTTOM, 1]
        fy, fx = np.mgrid[
            max(1, int(np.ceil(y0))) : min(height - 1, int(y1)) : config.face_step,
            max(1, int(np.ceil(x0))) : min(width - 1, int(x1)) : config.face_step,
        ]
        self.face = None
        if fx.size >= 50:
            x, y = fx.ravel().astype(np.float64), fy.ravel().astype(np.float64)
            gxs, gys, values = gx[fy, fx].ravel(), gy[fy, fx].ravel(), image[fy, fx].ravel()
            jacobian = np.stack([gxs * x, gxs * y, gxs, gys * x, gys * y, gys, values, np.ones_like(x)], 1)
            self.face = (x, y, jacobian, _inverse(jacobian))
        # The ring around the head: the landmarks' box, raised towards the crown.
        cx, cy = points[:, 0].mean(), points[:, 1].mean()
        half_w = max((points[:, 0].max() - points[:, 0].min()) / 2, 1.0)
        half_h = max((points[:, 1].max() - points[:, 1].min()) / 2, 1.0)
        step = config.ring_step
        ry, rx = np.mgrid[2 : height - 2 : step, 2 : width - 2 : step]
        reach = np.maximum(np.abs(rx - cx) / half_w, np.abs(ry - (cy - 0.25 * half_h)) / (1.25 * half_h))
        inside = (reach > config.ring_inner) & (reach < config.ring_outer)
        self.ring = None
        if inside.sum() >= 200:
            ry, rx = ry[inside], rx[inside]
            values = image[ry, rx].astype(np.float64)
            # Light: a gain and an offset, and the gain may slope across the picture (light from
            # one side, a phone's vignetting), which would otherwise read as a shift.
            across, down = (rx - cx) / half_w, (ry - cy) / half_h
            jacobian = np.stack(
                [gx[ry, rx], gy[ry, rx], values, np.ones(rx.size), values * across, values * down], 1
            )
            self.ring = (rx.astype(np.float64), ry.astype(np.float64), jacobian, _inverse(jacobian))

    def fit_face(self, image: np.ndarray, affine: np.ndarray) -> np.ndarray:
        """The affine transform (3 x 2, reference -> this frame) that maps the face interior
        onto this frame, refined from `affine`."""
        assert self.face is not None
        x, y, _, solve = self.face
        points = np.stack([x, y, np.ones_like(x)], 1)
        for _ in range(self.config.face_rounds):
            moved = points @ affine
            solution = solve @ _bilinear(image, moved[:, 0], moved[:, 1])
            gain = solution[6] if abs(solution[6]) > 0.3 else 1.0
            step = -solution[:6] / gain  # the warp in reference coordinates that undoes it
            warp = np.array([[1 + step[0], step[3]], [step[1], 1 + step[4]], [step[2], step[5]]])
            affine = np.vstack([warp[:2] @ affine[:2], warp[2] @ affine[:2] + affine[2]])
            if np.abs(step).max() < 1e-3:
                break
        return affine

    def ring_shift(self, image: np.ndarray, affine: np.ndarray) -> np.ndarray:
        """The shift (reference pixels) of the ring once the face's transform is undone."""
        assert self.ring is not None
        x, y, _, solve = self.ring
        shift = np.zeros(2)
        for _ in range(self.config.ring_rounds):
            moved = np.stack([x + shift[0], y + shift[1], np.ones_like(x)], 1) @ affine
            solution = solve @ _bilinear(image, moved[:, 0], moved[:, 1])
            gain = solution[2] if abs(solution[2]) > 0.3 else 1.0
            shift = shift - solution[:2] / gain
        return shift


def _inverse(jacobian: np.ndarray) -> np.ndarray:
    """The least-squares solver of `jacobian @ p = values` as one matrix (pseudo-inverse)."""
    normal = jacobian.T @ jacobian
    return np.linalg.solve(normal + 1e-6 * np.trace(normal) / len(normal) * np.eye(len(normal)), jacobian.T)


def _small_gray(frame: np.ndarray, scale: float) -> np.ndarray:
    """Luma at `scale` of the frame's size (a box filter for a halving), then smoothed once
    with [1 2 1] / 4 both ways: the sensor's and the codec's finest grain out (float32)."""
    image = Image.fromarray(frame).convert("L")
    if scale == 0.5:
        image = image.reduce(2)
    elif scale != 1.0:
        size = (max(8, round(frame.shape[1] * scale)), max(8, round(frame.shape[0] * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32)
    smooth = pixels.copy()
    smooth[:, 1:-1] = (pixels[:, :-2] + 2 * pixels[:, 1:-1] + pixels[:, 2:]) / 4
    out = smooth.copy()
    out[1:-1] = (smooth[:-2] + 2 * smooth[1:-1] + smooth[2:]) / 4
    return out


def _bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    height, width = image.shape
    x = np.clip(x, 0, width - 1.001)
    y = np.clip(y, 0, height - 1.001)
    x0, y0 = x.astype(np.int32), y.astype(np.int32)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares affine transform, 3 x 2: target ~ [source, 1] @ A."""
    design = np.hstack([source, np.ones((len(source), 1))])
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    return solution


def _middle_of_longest_run(indices: Sequence[int]) -> int:
    """The middle of the longest run of consecutive indices: a frame well inside a rest, not at
    the edge of a movement."""
    runs: list[list[int]] = [[indices[0]]]
    for index in indices[1:]:
        if index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    longest = max(runs, key=len)
    return longest[len(longest) // 2]


# --- the outline in a head turn ---


def turn_parallax(signals: Sequence[FrameSignals], rest: Baseline, turn_shift: float = 0.2) -> float | None:
    """How far the face's outline (the middle of jaw points 0 and 16) moves with the nose tip
    across the note, as the least-squares slope of one on the other (both from their usual
    places, in half face widths): a real head turns as a whole and its outline follows the
    nose part of the way (0.2-0.7 in the real clips measured), a 2.5-D warp of a photo moves
    the nose and leaves the outline where it was (-0.3 to 0.13). None without a turn."""
    faced = [s.points.astype(np.float64) for s in signals if s.points is not None]
    if len(faced) < 3:
        return None
    yaws = np.array([s.yaw for s in signals if s.points is not None]) - rest.yaw
    if int((np.abs(yaws) >= turn_shift).sum()) < 2:
        return None
    nose = np.array([p[NOSE_TIP, 0] for p in faced])
    outline = np.array([(p[JAW_LEFT, 0] + p[JAW_RIGHT, 0]) / 2 for p in faced])
    half = max(float(np.median([p[JAW_RIGHT, 0] - p[JAW_LEFT, 0] for p in faced])) / 2, 1e-6)
    dn = (nose - np.median(nose)) / half
    do = (outline - np.median(outline)) / half
    spread = float(np.dot(dn, dn))
    return None if spread < 1e-9 else round(float(np.dot(dn, do) / spread), 4)
