"""The attacks a fraudster can film instead of a live take: two people in one frame, the
photo held up, a print of it, a screen replaying an earlier video."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageChops, ImageFilter

from liveness_lab.synthesis.camera import _Camera
from liveness_lab.synthesis.photo import FacePhoto, _reframed
from liveness_lab.synthesis.timing import _plan, _wobble
from liveness_lab.synthesis.warps import _Rig
from verification.liveness.actions import MIRRORED, Action


def render_two_people(
    photo_a: FacePhoto,
    photo_b: FacePhoto,
    actions: Sequence[Action],
    *,
    seconds: float | None = None,
    fps: int = 30,
    size: int = 640,
    seed: int = 0,
) -> list[np.ndarray]:
    """Two people side by side in one frame (each face ~40 % of its height): A, on the left,
    performs the actions; B just sits there, blinking now and then. One phone films both."""
    rng = np.random.default_rng(seed)
    plan_a = _plan(actions, seconds, rng, natural_blinks=True, mirrored=MIRRORED)
    plan_b = _plan((), plan_a.seconds, rng, natural_blinks=True, mirrored=MIRRORED)
    rigs = [_Rig(_reframed(p, size, face_fraction=0.4)) for p in (photo_a, photo_b)]
    camera = _Camera(rng, size)
    half, seam = size // 2, max(2, size // 40)
    left, right = slice(size // 4, size // 4 + half + seam), slice(size // 4 - seam, size // 4 + half)
    blend = np.linspace(1, 0, 2 * seam, dtype=np.float32)[None, :, None]
    frames = []
    for t in np.arange(round(plan_a.seconds * fps)) / fps:
        a, b = rigs[0].warp(plan_a.state(t))[:, left], rigs[1].warp(plan_b.state(t))[:, right]
        # The two photos meet at a soft seam: A's right edge fades into B's left edge.
        middle = (a[:, -2 * seam :] * blend + b[:, : 2 * seam] * (1 - blend)).astype(np.uint8)
        scene = np.concatenate([a[:, : -2 * seam], middle, b[:, 2 * seam :]], axis=1)
        frames.append(camera.shoot(scene, t))
    return frames


def render_still_photo_attack(
    photo: FacePhoto, *, seconds: float = 6.0, fps: int = 30, size: int = 640, seed: int = 0
) -> list[np.ndarray]:
    """A photo (printed or on a phone screen) held up to the camera: the face never changes,
    but the hand shakes, the sheet tilts slowly, the light drifts; sometimes its edge shows."""
    rng = np.random.default_rng(seed)
    image = _reframed(photo, size).image
    if rng.random() < 0.5:  # a phone screen: black bezel; else white paper margin
        return _held_up(_bordered(image, (12, 12, 14), 0.05), size, seconds, fps, rng, edge_shows=True)
    return _held_up_paper(image, size, seconds, fps, rng)


def render_print_attack(
    photo: FacePhoto, *, seconds: float = 6.0, fps: int = 30, size: int = 640, seed: int = 0
) -> list[np.ndarray]:
    """A colour print of the photo held up: halftone dots (period 3-5 px) and paper grain."""
    rng = np.random.default_rng(seed)
    printed = _halftone(_reframed(photo, size).image, rng)
    return _held_up_paper(printed, size, seconds, fps, rng)


def _held_up_paper(
    image: np.ndarray, size: int, seconds: float, fps: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """The image on a sheet of paper with a white margin, held up; its edge shows 60 % of the time."""
    paper = _bordered(image, (238, 236, 228), 0.08)
    return _held_up(paper, size, seconds, fps, rng, edge_shows=rng.random() < 0.6)


def _bordered(image: np.ndarray, colour: tuple[int, int, int], width: float) -> np.ndarray:
    pad = round(image.shape[0] * width)
    out = np.empty((image.shape[0] + 2 * pad, image.shape[1] + 2 * pad, 3), np.uint8)
    out[:] = colour
    out[pad:-pad, pad:-pad] = image
    return out


def _halftone(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cyan, magenta and yellow dot screens at the classic angles: each cell's dot grows with
    the ink the colour needs. Then paper: slightly warm white with a faint grain."""
    size = image.shape[0]
    period = rng.uniform(3.0, 5.0)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    ink = 1 - image.astype(np.float32) / 255
    out = np.empty_like(ink)
    for channel, angle in enumerate((15.0, 75.0, 0.0)):
        a = math.radians(angle + rng.uniform(-3, 3))
        u, v = (x * math.cos(a) + y * math.sin(a)) / period, (-x * math.sin(a) + y * math.cos(a)) / period
        spot = 0.5 + 0.25 * (np.cos(2 * math.pi * u) + np.cos(2 * math.pi * v))
        out[..., channel] = 1 - np.clip((spot - (1 - ink[..., channel])) / 0.2 + 0.5, 0, 1)
    # The phone's lens, focused at arm's length, takes the edge off the dots: half of each
    # pixel is the smooth ink tone.
    out = 0.55 * out + 0.45 * (1 - ink)
    grain = Image.fromarray(rng.normal(128, 40, (size, size)).clip(0, 255).astype(np.uint8))
    grain = np.asarray(grain.filter(ImageFilter.GaussianBlur(1.2)), np.float32)[..., None] / 128 - 1
    paper = np.array([0.96, 0.95, 0.92], np.float32) * (1 + 0.05 * grain)
    printed = Image.fromarray(np.clip(out * paper * 255, 0, 255).astype(np.uint8))
    return np.asarray(printed.filter(ImageFilter.GaussianBlur(0.6)))


def _held_up(
    sheet: np.ndarray, size: int, seconds: float, fps: int, rng: np.random.Generator, *, edge_shows: bool
) -> list[np.ndarray]:
    """Film a flat sheet held in a hand against a blurred room: its corners follow a slow
    tilt (a small homography) plus the hand's drift and tremor; a glare spot wanders on it."""
    background = _room(size, rng)
    paper = Image.fromarray(sheet).convert("RGBA")
    # Cover: the sheet overfills the frame; edge: all of it plus some room fits inside.
    scale = rng.uniform(0.82, 0.92) if edge_shows else rng.uniform(1.12, 1.22)
    tilt_x, tilt_y, roll = (_wobble(rng, 0.08, 0.35) for _ in range(3))
    camera = _Camera(rng, size, moving=False)  # the motion is drawn into the sheet's corners
    glare = rng.uniform(0, 60)
    frames = []
    for t in np.arange(round(seconds * fps)) / fps:
        corners = _sheet_corners(size, scale, 0.03 * tilt_x(t), 0.03 * tilt_y(t), math.radians(2 * roll(t)))
        corners += camera.shift(t)
        warped = paper.transform(
            (size, size), Image.PERSPECTIVE, _homography(corners, sheet.shape[0]), Image.BILINEAR
        )
        scene = background.copy()
        scene.paste(warped, (0, 0), warped)
        scene = ImageChops.add(scene, _glare(size, 0.5 + 0.2 * tilt_x(t), 0.4 + 0.2 * tilt_y(t), glare))
        frames.append(camera.expose(scene, t))
    return frames


def _sheet_corners(size: int, scale: float, tilt_x: float, tilt_y: float, roll: float) -> np.ndarray:
    """Where the sheet's corners (tl, tr, br, bl) land: turning it about its vertical axis
    shortens one side edge, tipping it shortens the top or bottom edge."""
    half = size * scale / 2
    unit = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64)
    corners = unit * half
    corners[:, 1] *= 1 + tilt_x * unit[:, 0]
    corners[:, 0] *= 1 + tilt_y * unit[:, 1]
    rotation = np.array([[math.cos(roll), -math.sin(roll)], [math.sin(roll), math.cos(roll)]])
    return corners @ rotation.T + size / 2


def _homography(corners: np.ndarray, sheet_size: int) -> tuple[float, ...]:
    """PIL's PERSPECTIVE coefficients mapping frame points back to sheet points."""
    sheet = np.array([[0, 0], [sheet_size, 0], [sheet_size, sheet_size], [0, sheet_size]], np.float64)
    rows, rhs = [], []
    for (x, y), (u, v) in zip(corners, sheet, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return tuple(np.linalg.solve(np.array(rows), np.array(rhs)))


def _room(size: int, rng: np.random.Generator) -> Image.Image:
    """An out-of-focus indoor background: soft blobs of muted colour round one grey."""
    coarse = rng.uniform(60, 180) + rng.normal(0, 18, (4, 4, 3))
    coarse = coarse.clip(0, 255).astype(np.uint8)
    return Image.fromarray(coarse).resize((size, size), Image.BICUBIC)


def _glare(size: int, cx: float, cy: float, peak: float) -> Image.Image:
    """A soft bright spot (a lamp reflected on the sheet) centred at (cx, cy) in frame units;
    drawn small and scaled up, since it is smooth anyway."""
    y, x = (axis / np.float32(64) for axis in np.ogrid[0:64, 0:64])
    spot = peak * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 0.03)
    return Image.fromarray(spot.astype(np.uint8)).resize((size, size), Image.BILINEAR).convert("RGB")


def render_screen_replay(frames: Sequence[np.ndarray], *, fps: int = 30, seed: int = 0) -> list[np.ndarray]:
    """The frames as a second phone films them off a screen: the screen's pixel grid beats
    with the sensor's into moiré, its gamma and contrast differ, it is slightly out of focus,
    and its bezel shows round the picture."""
    rng = np.random.default_rng(seed)
    size = frames[0].shape[0]
    inner = round(size * rng.uniform(0.86, 0.94)) // 2 * 2
    margin = (size - inner) // 2
    moire = _moire(size + 16, rng)
    lut = _screen_curve(rng)
    blur = ImageFilter.GaussianBlur(rng.uniform(0.6, 1.1))
    bezel = Image.new("RGB", (size, size), (int(rng.integers(8, 25)),) * 3)
    camera = _Camera(rng, size, moving=False)
    out = []
    for i, frame in enumerate(frames):
        t = i / fps
        picture = Image.fromarray(frame).resize((inner, inner), Image.BILINEAR).filter(blur).point(lut)
        dx, dy = (round(v / 4) for v in camera.shift(t))  # the filming hand moves a little
        scene = bezel.copy()
        scene.paste(picture, (margin + dx, margin + dy))
        # The moiré drifts as the hand moves against the screen.
        scene = ImageChops.multiply(scene, moire.crop((8 + dx, 8 + dy, 8 + dx + size, 8 + dy + size)))
        out.append(camera.expose(scene, t))
    return out


def _screen_curve(rng: np.random.Generator) -> list[int]:
    """A lookup table for a screen's other gamma, lower contrast and bluish white point,
    brightened to make up for the moiré's darkening."""
    gamma, contrast = rng.uniform(0.75, 1.3), rng.uniform(0.8, 0.95)
    level = np.arange(256, dtype=np.float32) / 255
    curve = (level**gamma) * contrast + (1 - contrast) / 2
    table = []
    for gain in (rng.uniform(1.08, 1.16), 1.15, rng.uniform(1.15, 1.25)):
        table += np.clip(curve * gain * 255, 0, 255).astype(np.uint8).tolist()
    return table


def _moire(size: int, rng: np.random.Generator) -> Image.Image:
    """Two fine sinusoidal gratings, slightly rotated against each other, multiplied: their
    beat is the broad banding a camera sees on a screen."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    pattern = np.ones((size, size), np.float32)
    angle, period = rng.uniform(0, math.pi), rng.uniform(3.0, 6.0)
    for turn, stretch in ((0.0, 1.0), (math.radians(rng.uniform(2, 6)), rng.uniform(0.96, 1.04))):
        a, p = angle + turn, period * stretch
        grating = 0.5 + 0.5 * np.cos(2 * math.pi * (x * math.cos(a) + y * math.sin(a)) / p)
        pattern *= 1 - rng.uniform(0.12, 0.2) * grating
    return Image.fromarray((255 * pattern / pattern.max()).astype(np.uint8)).convert("RGB")
