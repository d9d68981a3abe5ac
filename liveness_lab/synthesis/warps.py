"""The warp: the face rig that gives one cropped photo a FaceState (eyelids, jaw, a 2.5-D
head turn) by landmark-driven backward mapping."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from liveness_lab.synthesis.photo import FacePhoto
from liveness_lab.synthesis.sampler import Sampler
from liveness_lab.synthesis.timing import FaceState, _smoothstep


@dataclass(frozen=True)
class _Eye:
    upper: np.ndarray  # parabola coefficients of the lid margins through p1-p2-p3-p4 and p1-p6-p5-p4:
    lower: np.ndarray  # smooth arcs, where straight lines between 4 points would kink the closed lid
    left: float
    right: float
    reach: float  # how far above the lid the stretched skin starts (towards the brow)
    reach_below: float  # and how far below the lower lid
    lash: float  # thickness of the dark lash line along the upper lid margin

    MEET = 0.6  # the closed lids meet 60 % of the way down the open eye at its corners,
    SAG = 0.15  # and further down in the middle
    LID_TONE = 0.25  # stretched lid skin keeps the crease's shadow, which reads as an open eye

    @classmethod
    def of(cls, eye: np.ndarray, brow: np.ndarray) -> _Eye:
        upper = np.polyfit(eye[[0, 1, 2, 3], 0], eye[[0, 1, 2, 3], 1], 2)
        lower = np.polyfit(eye[[0, 5, 4, 3], 0], eye[[0, 5, 4, 3], 1], 2)
        width = eye[3, 0] - eye[0, 0]
        lash = 0.04 * width
        reach = max(0.5 * (eye[1:3, 1].mean() - brow[:, 1].mean()), 3 * lash)
        return cls(upper, lower, eye[0, 0], eye[3, 0], reach, 0.25 * width, lash)

    @property
    def middle(self) -> float:
        return (self.left + self.right) / 2

    @property
    def rows(self) -> tuple[float, float]:
        corners = np.array([self.left, self.middle, self.right])
        return (
            np.polyval(self.upper, corners).min() - self.reach - 1,
            np.polyval(self.lower, corners).max() + self.reach_below + 1,
        )

    @property
    def cols(self) -> tuple[float, float]:
        taper = 0.35 * (self.right - self.left)
        return self.left - taper, self.right + taper

    def lid_shift(self, x: np.ndarray, y: np.ndarray, closed: float) -> tuple[np.ndarray, np.ndarray]:
        """Backward y-displacement that brings the lids `closed` of the way together, and how
        much skin colour to lay over where the eye was.

        The upper lid comes down MEET of the way, the lower lid rises to meet it. Per column,
        piecewise linear: the upper lid skin stretches down, the lash line moves down intact
        (stretched, it reads as a thick black bar), the eye opening squeezes shut, the skin
        below the lower lid stretches up."""
        inside = np.clip(x, self.left, self.right)
        up, low = np.polyval(self.upper, inside), np.polyval(self.lower, inside)
        top, bottom, lash = up - self.reach, low + self.reach_below, self.lash
        opening = np.maximum(low - up, 0)
        # Where the lid margins are drawn now: they meet on an arc that sags in the middle.
        across = (inside - self.middle) / (self.right - self.middle)
        meet = np.minimum(self.MEET + self.SAG * (1 - across**2), 1)
        upper_edge = up + closed * meet * opening
        lower_edge = low - closed * (1 - meet) * opening
        source = np.select(
            [y < upper_edge - lash, y < upper_edge, y < lower_edge],
            [
                top + (y - top) * (up - lash - top) / (upper_edge - lash - top),
                y - (upper_edge - up),
                up + (y - upper_edge) * opening / np.maximum(lower_edge - upper_edge, 1e-3),
            ],
            low + (y - lower_edge) * (bottom - low) / (bottom - lower_edge),
        )
        width = self.right - self.left
        weight = 1 - _smoothstep(np.maximum(self.left - x, x - self.right) / (0.35 * width))
        shift = np.where((y > top) & (y < bottom), weight * (source - y), 0.0)
        lid = np.clip(np.minimum(y - up, upper_edge - lash - y) / (2 * lash), 0, 1)
        return shift, (self.LID_TONE * closed * lid * weight).astype(np.float32)


class _Rig:
    """The geometry of one cropped face, and the warp that gives it a FaceState."""

    MOUTH_INTERIOR = np.array([20, 8, 9], np.float32)
    TONGUE = np.array([90, 38, 42], np.float32)
    TEETH = np.array([190, 182, 170], np.float32)

    def __init__(self, photo: FacePhoto):
        p = photo.landmarks
        self.base = photo.image
        self.sample = Sampler(photo.image)
        self.eyes = (_Eye.of(p[36:42], p[17:22]), _Eye.of(p[42:48], p[22:27]))
        self.lid_skin = [_skin_below(photo.image, p[i : i + 6]) for i in (36, 42)]
        # Mouth: the lower inner lip is the line below which lip and jaw drop.
        lower_inner = p[[60, 67, 66, 65, 64]]
        self.lip_x, self.lip_y = lower_inner[:, 0], lower_inner[:, 1]
        self.mouth_x = (p[60, 0] + p[64, 0]) / 2
        self.mouth_half = 0.55 * (p[64, 0] - p[60, 0])  # the gap reaches just past the inner corners
        self.jaw_half = 0.55 * (p[12, 0] - p[4, 0])
        self.chin_y = p[8, 1]
        self.mouth_open = 0.42 * (p[54, 0] - p[48, 0])
        self.neck = 0.25 * (p[8, 1] - p[27, 1])
        face_lum = photo.image[round(p[29, 1]), round(p[29, 0])].mean()
        self.interior_scale = float(np.clip(face_lum / 170, 0.5, 1.2))
        half_width = (p[16, 0] - p[0, 0]) / 2
        self.turn_px = 0.52 * half_width  # the nose's shift at a full turn (yaw state 1)
        self.roi = self._region(p, photo.size)
        top, bottom, left, right = self.roi
        self.grid_y, self.grid_x = np.mgrid[top:bottom, left:right].astype(np.float32)
        self.depth = _head_depth(p, self.grid_x, self.grid_y)
        turning = np.nonzero(self.depth.max(axis=1) > 0)[0]
        self.head_rows = slice(int(turning[0]), int(turning[-1]) + 1)
        self.mouth_rows = (self.lip_y.min() - 1, bottom)
        self.mouth_cols = (self.mouth_x - self.jaw_half, self.mouth_x + self.jaw_half)

    def _region(self, p: np.ndarray, size: int) -> tuple[int, int, int, int]:
        """Rows and columns the warps can touch: the head, and the neck under a dropped jaw."""
        brows = p[17:27, 1].min()
        top = min(p[30, 1] - 1.9 * (p[30, 1] - brows), brows - 2 * self.eyes[0].reach)
        bottom = p[8, 1] + self.mouth_open + self.neck + 4
        left, right = p[0, 0] - 0.05 * (p[30, 0] - p[0, 0]), p[16, 0] + 0.05 * (p[16, 0] - p[30, 0])
        return tuple(
            int(np.clip(v, 0, size))
            for v in (math.floor(top), math.ceil(bottom), math.floor(left), math.ceil(right))
        )

    def warp(self, state: FaceState) -> np.ndarray:
        """The photo with this state applied (uint8). Backward mapping: each output pixel undoes
        the head turn, then the expression, to find where in the photo it comes from. Only the
        parts an active piece of the state can reach are computed."""
        blink, mouth, yaw = (v if abs(v) > 1e-3 else 0.0 for v in state)
        out = self.base.copy()
        if not (blink or mouth or yaw):
            return out
        reach = abs(yaw) * self.turn_px + 1  # how far sideways a turn can carry a feature
        eyes = (
            [
                (self._block(eye.rows, eye.cols, reach), eye, skin)
                for eye, skin in zip(self.eyes, self.lid_skin, strict=True)
            ]
            if blink
            else []
        )
        jaw = self._block(self.mouth_rows, self.mouth_cols, reach) if mouth else None
        rows = [block[0] for block, _, _ in eyes] + ([jaw[0]] if jaw else [])
        if yaw:
            rows.append(self.head_rows)
        r0, r1 = min(r.start for r in rows), max(r.stop for r in rows)
        x, y = self.grid_x[r0:r1], self.grid_y[r0:r1]
        if yaw:
            x = self._unturn(x, y, yaw)
        sy = y.copy()
        overlays = []  # (rows, cols, alpha, colour) laid over the sampled patch
        for (rs, cs), eye, skin in eyes:
            rs = slice(rs.start - r0, rs.stop - r0)
            shift, alpha = eye.lid_shift(x[rs, cs], y[rs, cs], blink)
            sy[rs, cs] += shift
            overlays.append((rs, cs, alpha, skin))
        if jaw:
            rs, cs = slice(jaw[0].start - r0, jaw[0].stop - r0), jaw[1]
            drop, alpha, colour = self._jaw_drop(x[rs, cs], y[rs, cs], mouth)
            sy[rs, cs] -= drop
            overlays.append((rs, cs, alpha, colour))
        patch = self.sample(x, sy)
        for rs, cs, alpha, colour in overlays:
            region = patch[rs, cs].astype(np.float32)
            patch[rs, cs] = np.clip(region + (colour - region) * alpha[..., None], 0, 255).astype(np.uint8)
        top, _, left, right = self.roi
        out[top + r0 : top + r1, left:right] = patch
        return out

    def _block(
        self, rows: tuple[float, float], cols: tuple[float, float], reach: float
    ) -> tuple[slice, slice]:
        """Image rows and columns (given in photo pixels) as slices of the warp grid, widened
        sideways by `reach`."""
        top, bottom, left, right = self.roi
        r = slice(int(np.clip(rows[0] - top, 0, bottom - top)), int(np.clip(rows[1] - top, 0, bottom - top)))
        c = slice(
            int(np.clip(cols[0] - reach - left, 0, right - left)),
            int(np.clip(cols[1] + reach - left, 0, right - left)),
        )
        return r, c

    def _unturn(self, x: np.ndarray, y: np.ndarray, yaw: float) -> np.ndarray:
        """Invert the turn x' = x + shift * depth(x, y) by fixed-point iteration: the map's
        x-gradient stays well under 1, so a few rounds converge. Depth is looked up along each
        row of the precomputed map."""
        shift = yaw * self.turn_px
        top, left = int(self.grid_y[0, 0]), self.roi[2]
        rows = (y.astype(np.int32) - top) * self.depth.shape[1]
        depth = self.depth.reshape(-1)
        last = self.depth.shape[1] - 1.001
        source = x
        for _ in range(3):
            at = np.clip(source - left, 0, last)
            i = at.astype(np.int32)
            here = np.take(depth, rows + i)
            source = x - shift * (here + (np.take(depth, rows + i + 1) - here) * (at - i))
        return source

    def _jaw_drop(self, x: np.ndarray, y: np.ndarray, amount: float):
        """Backward y-displacement for an open mouth, and the mouth interior (alpha, colour) to
        blend into the gap between the lips."""
        opening = amount * self.mouth_open
        line = np.interp(x, self.lip_x, self.lip_y)
        t = (x - self.mouth_x) / self.mouth_half
        gap = opening * np.clip(1 - t * t, 0, None) ** 0.7  # lens-shaped, tapering into the corners
        jaw = opening * np.clip(1 - ((x - self.mouth_x) / self.jaw_half) ** 2, 0, None)
        below = line + gap
        chin_now = self.chin_y + jaw
        v = np.clip((y - below) / np.maximum(chin_now - below, 1.0), 0, 1)
        fade = 1 - _smoothstep((y - chin_now) / self.neck)  # the neck takes up the chin's drop
        in_gap = (y >= line) & (y < below)
        drop = np.where(y >= below, (gap * (1 - v) + jaw * v) * fade, np.where(in_gap, y - line, 0.0))
        soft = np.maximum(1.5, 0.2 * gap)  # the lips' inner edges are rounded, not cut
        alpha = np.where(in_gap, np.clip(np.minimum(y - line, below - y) / soft, 0, 1), 0.0)
        depth = (y - line) / np.maximum(gap, 1e-3)
        colour = (
            self.MOUTH_INTERIOR
            + (self.TONGUE - self.MOUTH_INTERIOR) * (0.6 * _smoothstep((depth - 0.55) / 0.45))[..., None]
        )
        teeth = (0.5 * (1 - _smoothstep(depth / 0.2)) * np.clip(1 - t * t, 0, 1))[..., None]
        colour = (colour + (self.TEETH - colour) * teeth) * self.interior_scale
        return drop, alpha.astype(np.float32), colour


def _skin_below(image: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """The colour of the skin under an eye (half an eye's width below it): a closed lid's tone."""
    width = eye[3, 0] - eye[0, 0]
    y = int(eye[:, 1].max() + 0.5 * width)
    x0, x1 = int(eye[0, 0] + 0.2 * width), int(eye[3, 0] - 0.2 * width)
    patch = image[y : y + max(2, int(0.2 * width)), x0:x1].reshape(-1, 3)
    return np.median(patch, axis=0).astype(np.float32)


def _head_depth(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Depth of the face towards the camera, 0..1: a blunt cone over the face, highest at the
    nose tip (point 30) and 0 at the outline (points 0 and 16 at the sides, the hairline above,
    the chin below), plus a ridge for the nose itself so it moves more than the cheeks."""
    nose_x, nose_y = p[30]
    half_left, half_right = nose_x - p[0, 0], p[16, 0] - nose_x
    half_up = 1.9 * (nose_y - p[17:27, 1].min())  # up to about the hairline
    half_down = 1.1 * (p[8, 1] - nose_y)
    dx, dy = x - nose_x, y - nose_y
    u = dx / np.where(dx < 0, half_left, half_right)
    v = dy / np.where(dy < 0, half_up, half_down)
    # r**1.3, not a sphere's root: its slope at the outline stays finite, so the far side
    # compresses without folding over.
    cone = np.clip(1 - (u * u + v * v) ** 0.65, 0, None)
    sigma = 0.16 * (half_left + half_right) / 2
    ridge = np.exp(-((dx / sigma) ** 2) - ((y - (p[27, 1] + nose_y) / 2) / (2 * sigma)) ** 2)
    return ((cone + 0.15 * ridge) / 1.15).astype(np.float32)
