"""Cues of a presentation attack: a photo held up (no facial motion), a screen or a print
(a fine periodic pattern over the face). Cues, not proofs: each is one figure compared
with a threshold, reported beside the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from verification.liveness.signals import EYES, FrameSignals

# --- non-rigid motion ---


def nonrigid_motion(signals: Sequence[FrameSignals]) -> float | None:
    """How far the landmarks move *within* the face: each frame's 68 points are mapped onto
    the first frame's by the best affine transform (which absorbs a shaking hand, a tilted
    or turned sheet of paper, a zoom), and the RMS of what is left, in inter-ocular
    distances, is taken; the figure is the 90th percentile over frames (one bad landmark
    fit does not make a photo live). A photo gives landmark noise only (~0.01); a live face
    blinking, speaking or turning its head 0.05 and more. None without two faced frames."""
    shapes = [s.points for s in signals if s.points is not None]
    if len(shapes) < 2:
        return None
    reference = shapes[0].astype(np.float64)
    eyes = np.linalg.norm(reference[EYES[0]].mean(axis=0) - reference[EYES[1]].mean(axis=0))
    design = np.hstack([reference, np.ones((len(reference), 1))])
    residuals = []
    for shape in shapes[1:]:
        # Least squares: shape ~ [reference, 1] @ A, A 3 x 2 (rotation, scale, shear, shift).
        solution, *_ = np.linalg.lstsq(design, shape.astype(np.float64), rcond=None)
        left = shape - design @ solution
        residuals.append(np.sqrt((left**2).sum(axis=1).mean()) / max(eyes, 1e-6))
    return round(float(np.percentile(residuals, 90)), 4)


# --- a fine periodic pattern (moire of a screen, halftone of a print) ---

# Periods (pixels of the stored video) where a screen's pixel grid or a print's halftone
# shows after a phone camera films it. Finer is beyond what the video keeps; coarser, the
# pattern is seen as a pattern and is no longer fine texture.
MIN_PERIOD, MAX_PERIOD = 2.5, 7.0
# H.264 and JPEG code 8 x 8 (and 4 x 4) blocks: the steps at block edges put energy on the
# lines where either frequency is a multiple of 1/8 cycle per pixel. Frequencies this close
# (in cycles per pixel) to such a line are never counted, whatever they show.
BLOCK_GUARD = 0.012


def periodic_peak(luma: np.ndarray) -> float:
    """The strongest isolated spectral peak of a grayscale face crop in the period band, in
    natural-log units above the median of its own frequency ring (a ring of equal
    frequency: a face's spectrum falls smoothly with frequency, equally in all directions).
    Live skin stays under ~2; a screen or halftone pattern stands 3-5 above its ring."""
    crop = np.asarray(luma, dtype=np.float64)
    crop = crop - crop.mean()
    height, width = crop.shape
    window = np.outer(np.hanning(height), np.hanning(width))
    spectrum = np.log(np.abs(np.fft.fftshift(np.fft.fft2(crop * window))) + 1e-6)
    fy = np.fft.fftshift(np.fft.fftfreq(height))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(width))[None, :]
    radius = np.hypot(fx, fy)
    rings = np.round(radius * min(height, width)).astype(int)
    band = (radius >= 1 / MAX_PERIOD) & (radius <= 1 / MIN_PERIOD)
    near_block = (np.abs(fx - np.round(fx * 8) / 8) < BLOCK_GUARD) | (
        np.abs(fy - np.round(fy * 8) / 8) < BLOCK_GUARD
    )
    best = 0.0
    for ring in np.unique(rings[band]):
        members = rings == ring
        level = np.median(spectrum[members])
        candidates = members & band & ~near_block
        if candidates.any():
            best = max(best, float(spectrum[candidates].max() - level))
    return round(best, 3)


def face_crop(luma: np.ndarray, box_scaled: tuple[int, int, int, int], side: int = 128) -> np.ndarray | None:
    """The central square of the face (top, right, bottom, left in `luma` pixels), `side`
    pixels or the largest that fits; None when the face is too small for the band."""
    top, right, bottom, left = box_scaled
    size = min(side, int(0.7 * min(bottom - top, right - left)))
    if size < 48:
        return None
    cy, cx = (top + bottom) // 2, (left + right) // 2
    y0, x0 = max(0, cy - size // 2), max(0, cx - size // 2)
    crop = luma[y0 : y0 + size, x0 : x0 + size]
    return crop if crop.shape == (size, size) else None
