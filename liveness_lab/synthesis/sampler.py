"""Resampling a photo: bilinear backward sampling at arbitrary points (the warps' remap),
and a plain Lanczos resize."""

from __future__ import annotations

import numpy as np
from PIL import Image


class Sampler:
    """Bilinear backward sampling (a remap) of one RGB image at arbitrary points.

    Speed matters (a take is ~200 frames), so the pixels are packed as RGBA in uint32 and
    interpolated two channels at a time in integer lanes ("SWAR"): red and blue in the bits
    0x00ff00ff, green and alpha in 0xff00ff00, with 4-bit weights (1/16 px) that sum to 256
    so no lane overflows. That is one gather per neighbour and no float per channel."""

    LOW, HIGH = np.uint32(0x00FF00FF), np.uint32(0xFF00FF00)

    def __init__(self, image: np.ndarray):
        h, w = image.shape[:2]
        rgba = np.zeros((h, w, 4), np.uint8)
        rgba[..., :3] = image
        self.packed = rgba.view(np.uint32).reshape(-1)
        self.width, self.height = w, h

    def __call__(self, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
        """The image at (sx, sy), clamped to its edge: uint8, sx's shape plus 3 channels."""
        w = self.width
        fx = np.clip(sx, 0, w - 1.001) * 16
        fy = np.clip(sy, 0, self.height - 1.001) * 16
        ix, iy = fx.astype(np.int32), fy.astype(np.int32)
        wx, wy = (ix & 15).astype(np.uint32), (iy & 15).astype(np.uint32)
        i = (iy >> 4) * w + (ix >> 4)
        low = high = np.zeros(sx.shape, np.uint32)
        weights = ((16 - wx) * (16 - wy), wx * (16 - wy), (16 - wx) * wy, wx * wy)
        for offset, weight in zip((0, 1, w, w + 1), weights, strict=True):
            pixel = np.take(self.packed, i + offset)
            low = low + (pixel & self.LOW) * weight
            high = high + ((pixel >> 8) & self.LOW) * weight
        mixed = ((low >> 8) & self.LOW) | (high & self.HIGH)
        return mixed.view(np.uint8).reshape(*sx.shape, 4)[..., :3]


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((width, height), Image.LANCZOS))
