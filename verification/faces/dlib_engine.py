"""`FaceEngine` on face_recognition/dlib: HOG detector, 68-point landmarks, ResNet encoder.

This is the only module of the product that imports face_recognition (importing it loads
~100 MB of dlib models, so it happens in face workers and console commands, not in the bot).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from importlib import metadata

import numpy as np
from PIL import Image, ImageFile

from verification.faces.engine import DetectedFace, FaceBox, Landmarks

_truncated_before = ImageFile.LOAD_TRUNCATED_IMAGES
with warnings.catch_warnings():
    # face_recognition_models still imports pkg_resources, which warns on every start.
    warnings.simplefilter("ignore")
    import dlib
    import face_recognition as face_recognition  # re-exported (verification.liveness.signals)
# face_recognition sets this Pillow-wide flag on import, which would make every later decode
# accept half-uploaded JPEGs; the product refuses those (verification.faces.media), so undo it.
ImageFile.LOAD_TRUNCATED_IMAGES = _truncated_before


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:  # pragma: no cover - installed differently
        return "unknown"


@dataclass(frozen=True)
class DlibEngineConfig:
    # HOG runs on a copy whose long side is at most this. Its window finds faces from ~80 px
    # up, i.e. 1/8 of the long side here: a selfie's face is far larger, and the scan costs
    # ~35 ms instead of ~0.4 s for the library default (the 1280 px picture upsampled 2x).
    # Smaller faces are found by the full-size second look below, then refused as too far.
    # Pictures smaller than this are scanned with one 2x upsample instead, as the library
    # does, so faces in small pictures still show.
    detect_long_side: int = 640
    # Re-encodings of a slightly shifted face, averaged. 1 = the library default; each extra
    # jitter costs one more ResNet pass (~0.14 s on one core here).
    num_jitters: int = 1
    # When the reduced copy shows no face, scan the full working image once more (see detect).
    full_size_retry: bool = True


class DlibEngine:
    """Euclidean distance between 128-d dlib ResNet vectors (lower = more alike)."""

    # The vector space is fixed by the ResNet weights, not by the dlib build: templates made
    # with any dlib version and these weights compare with each other.
    name = "dlib-resnet-v1"
    higher_is_closer = False

    def __init__(self, config: DlibEngineConfig | None = None) -> None:
        self.config = config or DlibEngineConfig()
        self.version = (
            f"dlib {dlib.__version__}; face_recognition {_package_version('face_recognition')}; "
            f"face_recognition_models {_package_version('face_recognition_models')}"
        )

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        height, width = image.shape[:2]
        long_side = max(width, height)
        if long_side > self.config.detect_long_side:
            scale = self.config.detect_long_side / long_side
            small = Image.fromarray(image).resize(
                (max(1, round(width * scale)), max(1, round(height * scale))),
                Image.Resampling.BILINEAR,
                reducing_gap=2.0,
            )
            locations = face_recognition.face_locations(np.asarray(small), 0, "hog")
            if not locations and self.config.full_size_retry:
                # Nothing at the reduced size: look once more at full size, so a face that is
                # merely small is reported as "too far" rather than "no face" (the fix the
                # person needs to hear is "come closer"). Costs ~0.15 s, only in this case.
                scale = 1.0
                locations = face_recognition.face_locations(image, 0, "hog")
        else:
            scale = 1.0
            locations = face_recognition.face_locations(image, 1, "hog")
        boxes = [_scaled_box(css, scale, width, height) for css in locations]
        boxes = [box for box in boxes if box.width > 0 and box.height > 0]
        if not boxes:
            return []
        # Landmarks on the full working image: sharper than on the detection copy.
        marks = face_recognition.face_landmarks(image, [_css(box) for box in boxes], "large")
        return [DetectedFace(box, _landmarks(points)) for box, points in zip(boxes, marks, strict=True)]

    def embed(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        # Known location: face_recognition would otherwise run the detector a second time.
        vectors = face_recognition.face_encodings(
            image, known_face_locations=[_css(face.box)], num_jitters=self.config.num_jitters, model="small"
        )
        return np.asarray(vectors[0], dtype=np.float32)

    def compare(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))

    def compare_many(self, a: np.ndarray, others: np.ndarray) -> np.ndarray:
        """`compare(a, row)` for every row of an N x 128 array."""
        return np.linalg.norm(np.asarray(others, np.float32) - np.asarray(a, np.float32), axis=1)


def _scaled_box(css: tuple[int, int, int, int], scale: float, width: int, height: int) -> FaceBox:
    top, right, bottom, left = (round(v / scale) for v in css)
    return FaceBox(top=max(top, 0), right=min(right, width), bottom=min(bottom, height), left=max(left, 0))


def _css(box: FaceBox) -> tuple[int, int, int, int]:
    return box.top, box.right, box.bottom, box.left


def _landmarks(points: dict[str, list[tuple[int, int]]]) -> Landmarks:
    # dlib's 68-point scheme: 36-41 the eye on the image's left, 42-47 the other, and 30 the
    # tip of the nose (face_recognition files it as the last "nose_bridge" point; its
    # "nose_tip" list is the nostril line below it). The mouth corners are points 48 and 54,
    # the first and the seventh of face_recognition's "top_lip" list.
    lip = points["top_lip"]
    return Landmarks(
        left_eye=tuple((float(x), float(y)) for x, y in points["left_eye"]),
        right_eye=tuple((float(x), float(y)) for x, y in points["right_eye"]),
        nose_tip=(float(points["nose_bridge"][-1][0]), float(points["nose_bridge"][-1][1])),
        mouth_left=(float(lip[0][0]), float(lip[0][1])),
        mouth_right=(float(lip[6][0]), float(lip[6][1])),
    )


# --- the plain library, for the benchmark's baseline only (never used by the product) ---


def plain_library_encode(data: bytes) -> np.ndarray | None:
    """face_recognition with its defaults on the full picture: load, locate (HOG, upsample 1),
    encode the first face. None when no face is found."""
    image = face_recognition.load_image_file(io.BytesIO(data))
    locations = face_recognition.face_locations(image)
    if not locations:
        return None
    return face_recognition.face_encodings(image, locations)[0]


def plain_library_compare(known: np.ndarray, candidate: np.ndarray, tolerance: float = 0.6) -> bool:
    """The library's `compare_faces` at its default tolerance."""
    return bool(face_recognition.compare_faces([known], candidate, tolerance)[0])
