"""Five-point face alignment to the standard ArcFace 112 x 112 template (numpy and Pillow only).

ArcFace-class models are trained on face chips cut so that the two eye centres, the nose tip
and the two mouth corners land on fixed points. Feeding them anything else (a plain box crop)
costs a large part of their accuracy. The steps: the five points from the landmarks the
detector already gives → the similarity transform (rotation, uniform scale, translation) that
maps them onto the template with the least squared error (Umeyama's method, no reflection) →
resample the picture through it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from verification.faces.engine import Landmarks

# Where InsightFace's models expect (left eye, right eye, nose tip, left mouth corner, right
# mouth corner) in a 112 x 112 chip; "left" as seen in the image. (x, y) in pixels.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
CHIP_SIZE = 112


class AlignmentUnavailable(ValueError):
    """The landmarks lack a point the alignment needs (e.g. no mouth corners)."""


def five_points(landmarks: Landmarks) -> np.ndarray:
    """(5, 2) array: eye centres (mean of each eye's points), nose tip, mouth corners."""
    if landmarks.mouth_left is None or landmarks.mouth_right is None:
        raise AlignmentUnavailable("these landmarks have no mouth corners")
    if not landmarks.left_eye or not landmarks.right_eye:
        raise AlignmentUnavailable("these landmarks have no eye points")
    return np.array(
        [
            np.mean(np.asarray(landmarks.left_eye, dtype=np.float64), axis=0),
            np.mean(np.asarray(landmarks.right_eye, dtype=np.float64), axis=0),
            landmarks.nose_tip,
            landmarks.mouth_left,
            landmarks.mouth_right,
        ],
        dtype=np.float64,
    )


def umeyama(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2 x 3 similarity transform M minimising sum |M @ [s, 1] - t|^2 over point pairs.

    Umeyama (1991), "Least-squares estimation of transformation parameters between two point
    patterns": closed form from the SVD of the cross-covariance, with the sign fix that keeps
    it a rotation (never a mirror image of the face).
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 2 or len(source) < 2:
        raise ValueError("umeyama needs two (N, 2) arrays of the same shape, N >= 2")
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    centred_s, centred_t = source - mean_s, target - mean_t
    variance_s = (centred_s**2).sum() / len(source)
    if variance_s <= 1e-12:
        raise ValueError("the source points all coincide")
    covariance = centred_t.T @ centred_s / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rotation = u @ np.diag(sign) @ vt
    scale = float((singular * sign).sum() / variance_s)
    translation = mean_t - scale * rotation @ mean_s
    return np.hstack([scale * rotation, translation[:, None]])


def warp_affine(image: np.ndarray, matrix: np.ndarray, size: int = CHIP_SIZE) -> np.ndarray:
    """The size x size chip whose pixel (x, y) shows the image at M^-1 (x, y) (bilinear).

    Pixels falling outside the picture are black, as in InsightFace's own alignment.
    """
    full = np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(full)
    # Pillow's AFFINE takes the output -> input map. Its pixel centres sit at +0.5, whereas the
    # template (and OpenCV's warpAffine, which InsightFace uses) address pixel centres by
    # integer coordinates: shift in and out by half a pixel so both conventions agree.
    shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    unshift = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])
    pillow_map = shift @ inverse @ unshift
    coefficients = tuple(float(v) for v in pillow_map[:2].ravel())
    chip = Image.fromarray(np.ascontiguousarray(image)).transform(
        (size, size), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BILINEAR, fillcolor=0
    )
    return np.asarray(chip)


def align_face(image: np.ndarray, landmarks: Landmarks, size: int = CHIP_SIZE) -> np.ndarray:
    """The ArcFace chip (size x size x 3 uint8 RGB) of the face with these landmarks."""
    template = ARCFACE_TEMPLATE * (size / CHIP_SIZE)
    return warp_affine(image, umeyama(five_points(landmarks), template), size)
