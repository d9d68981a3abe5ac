"""The real photo a take is animated from: its one face found, with dlib's 68 landmarks,
and cropped square and upright around it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from liveness_lab.synthesis.sampler import Sampler, _resize

MIN_FACE_PX = 90  # smaller faces upscale into mush that no landmark model reads reliably
DETECT_MAX_SIDE = 800  # HOG detection on a 2000 px photo is slow and no better
MAX_YAW = 0.3  # a face already turned further has no room on one side to turn into


@dataclass(frozen=True, eq=False)
class FacePhoto:
    """One real photo cropped square around its face, with dlib's 68 landmarks (x, y) in crop
    pixels. The source photo is kept so the face can be reframed (two people side by side)."""

    path: Path
    image: np.ndarray
    landmarks: np.ndarray
    source: np.ndarray
    source_landmarks: np.ndarray
    source_face_height: float

    @property
    def size(self) -> int:
        return self.image.shape[0]


def load_face_photo(
    path: Path | str, *, size: int = 640, face_fraction: float = 0.5, max_yaw: float | None = MAX_YAW
) -> FacePhoto:
    """Detect the one face in a photo and crop a square so the face box is `face_fraction` of
    the frame height. ValueError("no usable face ...") when none is found, it is too small, or
    (unless max_yaw is None) it is turned too far aside to animate a turn both ways."""
    import face_recognition  # loads dlib's models: only when a photo is actually loaded

    path = Path(path)
    source = np.asarray(Image.open(path).convert("RGB"))
    box = _largest_face(source)
    if box is None:
        raise ValueError(f"no usable face in {path}: none detected")
    top, right, bottom, left = box
    if bottom - top < MIN_FACE_PX:
        raise ValueError(f"no usable face in {path}: the face is only {bottom - top} px tall")
    found = face_recognition.face_landmarks(source, [box], model="large")[0]
    points = _points68(found)
    yaw = ((points[30, 0] - points[0, 0]) / (points[16, 0] - points[0, 0]) - 0.5) * 2
    if max_yaw is not None and abs(yaw) > max_yaw:
        raise ValueError(f"no usable face in {path}: turned aside (yaw {yaw:+.2f}), a turn would fold it")
    return _frame(path, source, points, float(bottom - top), size, face_fraction)


def _largest_face(image: np.ndarray) -> tuple[int, int, int, int] | None:
    import face_recognition

    scale = min(1.0, DETECT_MAX_SIDE / max(image.shape[:2]))
    h, w = image.shape[:2]
    small = image if scale == 1.0 else _resize(image, round(w * scale), round(h * scale))
    boxes = face_recognition.face_locations(small, number_of_times_to_upsample=1)
    if not boxes:
        return None
    return tuple(round(v / scale) for v in _largest(boxes))


def _largest(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """The biggest of face_recognition's (top, right, bottom, left) boxes."""
    return max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))


def _points68(found: dict[str, list[tuple[int, int]]]) -> np.ndarray:
    """face_recognition's named groups back into dlib's 68-point order."""
    top, bottom = found["top_lip"], found["bottom_lip"]
    points = (
        found["chin"]
        + found["left_eyebrow"]
        + found["right_eyebrow"]
        + found["nose_bridge"]
        + found["nose_tip"]
        + found["left_eye"]
        + found["right_eye"]
        + top[0:7]
        + bottom[1:6]  # outer lip 48..59
        + top[7:12][::-1]  # inner upper lip 60..64
        + bottom[10:7:-1]  # inner lower lip 65..67
    )
    return np.asarray(points, dtype=np.float32)


def _frame(
    path: Path, source: np.ndarray, points: np.ndarray, face_h: float, size: int, face_fraction: float
) -> FacePhoto:
    """Crop square around the face, turned so the eyes are level: the warps move eyelids and
    jaw straight down and the head turn straight across, which only fits an upright face."""
    side = face_h / face_fraction
    eye_line = points[42:48].mean(axis=0) - points[36:42].mean(axis=0)
    across = eye_line / np.linalg.norm(eye_line)
    down = np.array([-across[1], across[0]])
    # The detector's box runs from the brows to the chin: centre a little higher so the crown fits.
    centre = ((points[0] + points[16]) / 2 + (points[19] + points[8]) / 2) / 2 - 0.04 * side * down
    scale = side / size
    grid = np.mgrid[0:size, 0:size].astype(np.float32) - size / 2 + 0.5
    sx = centre[0] + (grid[1] * across[0] + grid[0] * down[0]) * scale
    sy = centre[1] + (grid[1] * across[1] + grid[0] * down[1]) * scale
    image = _crop_padded(source, sx, sy, scale)
    offset = points - centre
    rough = np.stack([offset @ across, offset @ down], axis=1) / scale + size / 2 - 0.5
    return FacePhoto(path, image, _refit(image, rough), source, points, face_h)


def _refit(image: np.ndarray, rough: np.ndarray) -> np.ndarray:
    """Landmarks found again on the upright, resized crop: on a small or tilted source photo
    dlib's fit can be off by a lip's height, and every warp hangs on these points."""
    import face_recognition

    centre = rough.mean(axis=0)
    boxes = face_recognition.face_locations(image, number_of_times_to_upsample=0)
    near = [b for b in boxes if b[3] < centre[0] < b[1] and b[0] < centre[1] < b[2]]
    if not near:
        return rough.astype(np.float32)
    return _points68(face_recognition.face_landmarks(image, near[:1], model="large")[0])


def _crop_padded(image: np.ndarray, sx: np.ndarray, sy: np.ndarray, scale: float) -> np.ndarray:
    """The photo sampled at (sx, sy), which may reach past its edge: there the edge pixels
    repeat and are then blurred hard, so the padding reads as out-of-focus background rather
    than as stripes (and, unlike mirroring, can never grow a second face)."""
    h, w = image.shape[:2]
    inside = ((sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)).astype(np.float32)
    if scale > 1.5:  # bilinear sampling alone would alias a big reduction: shrink properly first
        shrink = scale / 1.2
        image = _resize(image, max(2, round(w / shrink)), max(2, round(h / shrink)))
        sx, sy = sx / shrink, sy / shrink
    crop = Sampler(image)(sx, sy)
    if inside.all():
        return np.ascontiguousarray(crop)
    size = crop.shape[0]
    mask = Image.fromarray((inside * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(size / 80))
    mask = np.asarray(mask, np.float32)[..., None] / 255
    blurred = Image.fromarray(np.ascontiguousarray(crop)).filter(ImageFilter.GaussianBlur(size / 30))
    blurred = np.asarray(blurred, np.float32)
    return (crop * mask + blurred * (1 - mask)).astype(np.uint8)


def _reframed(photo: FacePhoto, size: int, face_fraction: float = 0.5) -> FacePhoto:
    """The photo at another size (scaled landmarks) or with another share of face (cut again)."""
    if face_fraction == 0.5:
        if photo.size == size:
            return photo
        scale = size / photo.size
        return FacePhoto(
            photo.path,
            _resize(photo.image, size, size),
            photo.landmarks * scale,
            photo.source,
            photo.source_landmarks,
            photo.source_face_height,
        )
    return _frame(
        photo.path, photo.source, photo.source_landmarks, photo.source_face_height, size, face_fraction
    )
