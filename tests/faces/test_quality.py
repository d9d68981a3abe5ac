"""Each quality gate on made-up faces: the figures and the reason codes they lead to."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from verification.faces.engine import DetectedFace, FaceBox, Landmarks
from verification.faces.quality import (
    QualityThresholds,
    assess,
    eye_aspect_ratio,
    laplacian_variance,
    yaw_ratio,
)
from verification.faces.reasons import Reason


def open_eye(cx: float, cy: float, height: float = 9.0) -> tuple[tuple[float, float], ...]:
    # dlib order: outer corner, two upper-lid points, inner corner, two lower-lid points
    half = height / 2
    return ((cx - 15, cy), (cx - 5, cy - half), (cx + 5, cy - half), (cx + 15, cy), (cx + 5, cy + half),
            (cx - 5, cy + half))  # fmt: skip


def face(box=(100, 300, 300, 100), eye_height: float = 9.0, nose_dx: float = 0.0) -> DetectedFace:
    top, right, bottom, left = box
    cx, cy = (left + right) / 2, top + (bottom - top) * 0.4
    marks = Landmarks(
        open_eye(cx - 30, cy, eye_height), open_eye(cx + 30, cy, eye_height), (cx + nose_dx, cy + 40)
    )
    return DetectedFace(FaceBox(top=top, right=right, bottom=bottom, left=left), marks)


def textured(
    size: int = 400, mean: float = 128, spread: float = 60, block: int = 4, seed: int = 1
) -> np.ndarray:
    """Grey blocks of random level: sharp edges everywhere, with the given mean and spread."""
    rng = np.random.default_rng(seed)
    grey = np.clip(rng.normal(mean, spread, (size // block, size // block)), 0, 255).astype(np.uint8)
    big = np.asarray(Image.fromarray(grey).resize((size, size), Image.Resampling.NEAREST))
    return np.repeat(big[:, :, None], 3, axis=2)


def test_good_capture_passes_and_reports_every_figure() -> None:
    report = assess(textured(), [face()])
    assert report.ok and report.reason is None and report.failed == ()
    assert report.figures["faces_found"] == 1
    for key in ("face_width_px", "face_ratio", "brightness_mean", "contrast_std", "sharpness", "yaw_ratio",
                "eye_aspect_ratio"):  # fmt: skip
        assert report.figures[key] is not None, key


def test_face_count_gates() -> None:
    assert assess(textured(), []).reason is Reason.NO_FACE
    assert assess(textured(), [face(), face((10, 90, 90, 10))]).reason is Reason.SEVERAL_FACES


def test_small_face_is_too_far() -> None:
    image = textured(1000)
    report = assess(image, [face((100, 160, 160, 100))])  # 60 px in a 1000 px picture
    assert report.reason is Reason.TOO_FAR
    assert report.figures["face_width_px"] == 60 and report.figures["face_ratio"] == 0.06


@pytest.mark.parametrize(
    ("mean", "spread", "reason"),
    [
        (25, 10, Reason.TOO_DARK),
        (235, 10, Reason.TOO_BRIGHT),
        (100, 4, Reason.TOO_DARK),
        (170, 4, Reason.TOO_BRIGHT),
    ],
    ids=["dark", "bright", "flat-dim", "flat-washed-out"],
)
def test_light_gates(mean: float, spread: float, reason: Reason) -> None:
    report = assess(textured(mean=mean, spread=spread), [face()])
    assert report.reason is reason
    assert Reason.TOO_BLURRY not in report.failed  # light is the fix, not steadiness


def test_blur_gate() -> None:
    sharp = textured(block=25)  # large blocks: blurring removes their edges, not their contrast
    blurred = np.asarray(Image.fromarray(sharp).filter(ImageFilter.GaussianBlur(6)))
    assert laplacian_variance(sharp[..., 0].astype(np.float32)) > 100
    report = assess(blurred, [face()])
    assert report.reason is Reason.TOO_BLURRY
    assert report.figures["sharpness"] < QualityThresholds().min_sharpness


def test_turned_head_is_not_frontal() -> None:
    assert abs(yaw_ratio(open_eye(100, 100), open_eye(160, 100), (130, 140))) < 1e-9
    assert yaw_ratio(open_eye(100, 100), open_eye(160, 100), (154, 140)) == pytest.approx(0.4)
    report = assess(textured(), [face(nose_dx=24)])  # 0.4 eye distances to the side
    assert report.reason is Reason.NOT_FRONTAL


def test_tilted_head_is_not_counted_as_turned() -> None:
    # Roll 45 degrees: the nose lies on the perpendicular through the eyes' midpoint.
    assert abs(yaw_ratio(((0.0, 0.0),), ((40.0, 40.0),), (0.0, 40.0))) < 1e-9


def test_closed_eyes() -> None:
    assert eye_aspect_ratio(open_eye(0, 0, 9)) == pytest.approx(0.3)
    assert eye_aspect_ratio(open_eye(0, 0, 2)) == pytest.approx(2 / 30)
    assert eye_aspect_ratio(((0, 0), (1, 1))) is None  # a 5-point engine gives no contour
    report = assess(textured(), [face(eye_height=2)])
    assert report.reason is Reason.EYES_CLOSED


def test_narrow_open_eyes_are_not_closed() -> None:
    # 0.176 is the narrowest open eye in the shared photos (an East Asian face).
    report = assess(textured(), [face(eye_height=0.18 * 30)])
    assert report.ok, report.failed


def test_all_failures_listed_in_order() -> None:
    image = textured(1000, mean=25, spread=10)
    report = assess(image, [face((100, 160, 160, 100), eye_height=1, nose_dx=25)])
    assert report.failed == (Reason.TOO_FAR, Reason.TOO_DARK, Reason.NOT_FRONTAL, Reason.EYES_CLOSED)
    assert report.reason is Reason.TOO_FAR


def test_reference_mode_gates_only_the_face_count() -> None:
    dark = textured(mean=25, spread=10)
    assert assess(dark, [face()], face_count_only=True).ok
    assert assess(dark, [], face_count_only=True).reason is Reason.NO_FACE


def test_face_without_landmarks_skips_landmark_gates() -> None:
    plain = DetectedFace(FaceBox(100, 300, 300, 100), None)
    report = assess(textured(), [plain])
    assert report.ok and report.figures["yaw_ratio"] is None and report.figures["eye_aspect_ratio"] is None
