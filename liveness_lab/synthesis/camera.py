"""The phone: a simulated hand-held camera filming a scene."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops

from liveness_lab.synthesis.timing import _wobble


class _Camera:
    """A hand-held phone: the frame sways, shakes and breathes in scale, the light drifts, and
    the sensor adds noise. Each seed gets its own motion. Pillow does the per-frame work in C:
    numpy's full-frame passes cost more than the whole face warp."""

    ZOOM = 1.06  # enough to hide the frame edge under the largest shift and roll

    def __init__(self, rng: np.random.Generator, size: int, *, moving: bool = True):
        self.size = size
        self.moving = moving
        self.roll, self.drift_x, self.drift_y = (_wobble(rng, 0.1, 0.6) for _ in range(3))
        self.tremor_x, self.tremor_y = (_wobble(rng, 3.0, 8.0) for _ in range(2))
        self.breath = _wobble(rng, 0.2, 0.35, parts=1)
        self.light, self.tint, self.side_light = (_wobble(rng, 0.05, 0.3) for _ in range(3))
        self.ramp = np.linspace(-0.5, 0.5, size, dtype=np.float32)[None, :, None]
        # Sensor noise (sigma 2.5) as images offset by 128, a few drawn ahead and reused at random.
        self.noise = [
            Image.fromarray(rng.normal(128, 2.5, (size, size, 3)).astype(np.uint8)) for _ in range(6)
        ]
        self.rng = rng

    def shoot(self, scene: np.ndarray, t: float) -> np.ndarray:
        """The scene (uint8 RGB, the camera's size) as this phone records it at time t."""
        image = Image.fromarray(scene)
        if self.moving:
            image = image.transform((self.size, self.size), Image.AFFINE, self._affine(t), Image.BILINEAR)
        return self.expose(image, t)

    def expose(self, image: Image.Image, t: float) -> np.ndarray:
        """Light and sensor noise only, for scenes whose motion is already drawn in."""
        image = ImageChops.multiply(image, self._light(t))
        image = ImageChops.add(image, self.noise[self.rng.integers(len(self.noise))], offset=-128)
        return np.asarray(image)

    def _light(self, t: float) -> Image.Image:
        """Exposure drift, a slight colour cast and light from one side, as one multiplier
        (Pillow's multiply only darkens, so the brightest it gets is the photo as taken)."""
        gain = 0.92 + 0.06 * self.light(t) + np.array([0.02, 0.0, -0.02], np.float32) * self.tint(t)
        row = gain * (1 + 0.08 * self.side_light(t) * self.ramp)
        row = Image.fromarray(np.clip(row * 255, 0, 255).astype(np.uint8))
        return row.resize((self.size, self.size), Image.NEAREST)

    def shift(self, t: float) -> tuple[float, float]:
        """The hand's sideways drift and tremor at time t, in pixels."""
        s = self.size
        return (
            s * (0.012 * self.drift_x(t) + 0.002 * self.tremor_x(t)),
            s * (0.012 * self.drift_y(t) + 0.002 * self.tremor_y(t)),
        )

    def _affine(self, t: float) -> tuple[float, ...]:
        """PIL's output-to-input affine for a small roll, shift and zoom about the centre."""
        s = self.size
        angle = math.radians(1.2 * self.roll(t))
        zoom = self.ZOOM + 0.01 * self.breath(t)
        shift_x, shift_y = self.shift(t)
        cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
        c = s / 2
        return (
            cos,
            -sin,
            c - cos * (c + shift_x) + sin * (c + shift_y),
            sin,
            cos,
            c - sin * (c + shift_x) - cos * (c + shift_y),
        )
