"""Per-frame face signals of a video note: eye and mouth opening, head turn, the face's box.

dlib's 68 landmarks give all of them. Finding the face (HOG) costs ~20 ms a frame even on a
reduced copy, the landmarks ~2 ms; so the detector runs only every few sampled frames (and
whenever the face was lost), and in between the face is followed by moving the last box
with the landmarks. That keeps a 10-s note well inside the time budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Imported through dlib_engine, which undoes face_recognition's Pillow-wide side effect.
from verification.faces.dlib_engine import face_recognition
from verification.faces.engine import DetectedFace, FaceBox, Landmarks

# dlib 68-point indices.
JAW_LEFT, JAW_RIGHT, CHIN, NOSE_TIP = 0, 16, 8, 30
BROWS = slice(17, 27)
EYES = (slice(36, 42), slice(42, 48))
MOUTH_CORNERS = (48, 54)
INNER_LIPS = ((61, 67), (62, 66), (63, 65))  # upper / lower inner lip pairs


@dataclass(frozen=True)
class TrackerConfig:
    # Sampled frames between two detector runs (at 10 fps, 0.8 s): a head does not leave
    # its box in that time, and a second person stepping in is seen soon enough.
    detect_every: int = 8
    # With no face, the detector looks again every this many frames (not every frame: a
    # note without a face would otherwise cost a detector run per frame, 3x the budget).
    retry_every: int = 3
    # HOG runs on a copy with this long side. Its window finds faces from ~80 px, i.e. a
    # quarter of it: a video-note face fills half the picture, and a second face of
    # comparable size (judge: several_faces) is found as well.
    detect_long_side: int = 320
    # The box followed by the landmarks is given up (and the detector runs at once) when
    # the eyes and nose move by more than this share of the box's width from one sampled
    # frame to the next: faster than a head moves, so the landmark fit has lost the face.
    max_jump: float = 0.3


@dataclass(frozen=True)
class FrameSignals:
    time: float  # seconds from the first frame
    points: np.ndarray | None  # 68 x 2 landmarks in working-frame pixels; None: no face
    box: FaceBox | None
    faces: tuple[FaceBox, ...] | None  # every face the detector found; None: it did not run

    @property
    def has_face(self) -> bool:
        return self.points is not None

    @property
    def ear(self) -> float | None:
        return None if self.points is None else eye_aspect_ratio(self.points)

    @property
    def mar(self) -> float | None:
        return None if self.points is None else mouth_aspect_ratio(self.points)

    @property
    def yaw(self) -> float | None:
        return None if self.points is None else yaw(self.points)


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Mean over both eyes of (the two lid-to-lid heights) / (2 x corner-to-corner width):
    ~0.25-0.35 open, under ~0.15 shut."""
    values = []
    for eye in EYES:
        p = points[eye]
        height = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
        values.append(height / (2.0 * max(float(np.linalg.norm(p[0] - p[3])), 1e-6)))
    return float(np.mean(values))


def mouth_aspect_ratio(points: np.ndarray) -> float:
    """Inner-lip opening (mean of three upper/lower pairs) / mouth width: ~0 closed."""
    opening = np.mean([np.linalg.norm(points[a] - points[b]) for a, b in INNER_LIPS])
    width = np.linalg.norm(points[MOUTH_CORNERS[0]] - points[MOUTH_CORNERS[1]])
    return float(opening / max(width, 1e-6))


def yaw(points: np.ndarray) -> float:
    """The nose tip's offset from the jaw's midline, as a fraction of half the jaw width,
    positive towards the image's right (see actions.yaw_sign); 0 frontal, ~±0.5 at a clear
    turn of ~30 degrees. Measured along the line from jaw point 0 to 16, which for an
    upright head is ((nose_x - jaw0_x) / (jaw16_x - jaw0_x) - 0.5) * 2; along the line, a
    head tilted sideways (common in selfies) does not read as turned."""
    left, right, nose = points[JAW_LEFT], points[JAW_RIGHT], points[NOSE_TIP]
    axis = right - left
    share = float(np.dot(nose - left, axis) / max(float(np.dot(axis, axis)), 1e-6))
    return (share - 0.5) * 2.0


def detected_face(signals: FrameSignals) -> DetectedFace:
    """The tracked face as a `FaceEngine` input (box, and the landmarks an engine aligns by)."""
    p = signals.points
    assert p is not None and signals.box is not None
    return DetectedFace(
        signals.box,
        Landmarks(
            left_eye=tuple(map(tuple, p[EYES[0]].tolist())),
            right_eye=tuple(map(tuple, p[EYES[1]].tolist())),
            nose_tip=tuple(p[NOSE_TIP].tolist()),
            mouth_left=tuple(p[MOUTH_CORNERS[0]].tolist()),
            mouth_right=tuple(p[MOUTH_CORNERS[1]].tolist()),
        ),
    )


def track(
    frames: Sequence[np.ndarray], times: Sequence[float], config: TrackerConfig | None = None
) -> list[FrameSignals]:
    """Signals for every frame, following the largest face."""
    config = config or TrackerConfig()
    result: list[FrameSignals] = []
    anchor: _Anchor | None = None
    since_detection = 0
    for pixels, time in zip(frames, times, strict=True):
        faces = None
        box = anchor.box_for() if anchor is not None else None
        due = config.detect_every if box is not None else config.retry_every
        if since_detection >= due or not result:
            faces = _detect(pixels, config.detect_long_side)
            since_detection = 0
            box = max(faces, key=lambda b: b.width * b.height) if faces else None
            anchor = None
        since_detection += 1
        if box is None:
            result.append(FrameSignals(time, None, None, faces))
            continue
        points = _landmarks(pixels, box)
        if anchor is None:
            anchor = _Anchor(box, points)
        elif not anchor.follow(points, config.max_jump):
            # The landmarks no longer look like the face found last: look again next frame.
            anchor = None
            result.append(FrameSignals(time, None, None, faces))
            continue
        result.append(FrameSignals(time, points, box, faces))
    return result


def redetect(pixels: np.ndarray, signals: FrameSignals, config: TrackerConfig) -> FrameSignals | None:
    """The frame's face as the detector finds it afresh (the box overlapping the followed
    one most, else the largest, with its own landmarks), or None when the detector finds no
    face there. The follower's box can drift off a face that moves fast in a hand-held note,
    and its landmarks with it (measured on a real one: 0.02 overlap with the detector's box,
    and 0.8 between two identity vectors of the same man): fine for eye and mouth signals
    read over many frames, not for an identity vector taken from one frame."""
    followed = signals.box
    if followed is None:
        return None
    faces = _detect(pixels, config.detect_long_side)
    if not faces:
        return None
    box = max(faces, key=lambda face: (_overlap(face, followed), face.width * face.height))
    return FrameSignals(signals.time, _landmarks(pixels, box), box, faces)


def _overlap(a: FaceBox, b: FaceBox) -> float:
    """Intersection over union of two boxes."""
    height = max(0, min(a.bottom, b.bottom) - max(a.top, b.top))
    width = max(0, min(a.right, b.right) - max(a.left, b.left))
    inter = height * width
    return inter / max(a.width * a.height + b.width * b.height - inter, 1)


class _Anchor:
    """The detector's box and the landmarks found in it; later boxes keep the same relation
    to the landmarks: the box's offset from their centre and its size, both scaled with the
    brow-to-chin height (which a head turn hardly changes). Tried on the tuning takes
    against two alternatives, a box of fixed size following the eyes and nose, and a box
    around the landmarks' extent: both drift more on tilted or turning heads."""

    def __init__(self, box: FaceBox, points: np.ndarray) -> None:
        self.box = box
        self.height = _face_height(points)
        self.offset = np.array([(box.left + box.right) / 2, (box.top + box.bottom) / 2]) - points.mean(axis=0)
        self.last = points

    def follow(self, points: np.ndarray, max_jump: float) -> bool:
        """Move with the new landmarks; False when they jumped further than a head moves
        between two sampled frames (the fit has lost the face)."""
        if np.linalg.norm(points.mean(axis=0) - self.last.mean(axis=0)) > max_jump * self.box.width:
            return False
        self.last = points
        return True

    def box_for(self) -> FaceBox:
        scale = _face_height(self.last) / max(self.height, 1e-6)
        cx, cy = self.last.mean(axis=0) + self.offset * scale
        half_w, half_h = self.box.width * scale / 2, self.box.height * scale / 2
        top, bottom = round(cy - half_h), round(cy + half_h)
        return FaceBox(top=top, right=round(cx + half_w), bottom=bottom, left=round(cx - half_w))


def _face_height(points: np.ndarray) -> float:
    return float(points[CHIN, 1] - points[BROWS, 1].mean())


def _detect(pixels: np.ndarray, long_side: int) -> tuple[FaceBox, ...]:
    height, width = pixels.shape[:2]
    scale = min(1.0, long_side / max(width, height))
    small = pixels
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))
    boxes = []
    for top, right, bottom, left in face_recognition.face_locations(small, 0, "hog"):
        box = FaceBox(
            top=max(0, round(top / scale)),
            right=min(width, round(right / scale)),
            bottom=min(height, round(bottom / scale)),
            left=max(0, round(left / scale)),
        )
        if box.width > 0 and box.height > 0:
            boxes.append(box)
    return tuple(boxes)


def _landmarks(pixels: np.ndarray, box: FaceBox) -> np.ndarray:
    marks = face_recognition.face_landmarks(pixels, [(box.top, box.right, box.bottom, box.left)], "large")[0]
    # face_recognition files the 68 points by feature; put them back in dlib's order. Its
    # lip lists run 48-54 then the inner lip backwards (64..60 on top, 60, 67..64 below).
    top, bottom = marks["top_lip"], marks["bottom_lip"]
    ordered = (
        marks["chin"]
        + marks["left_eyebrow"]
        + marks["right_eyebrow"]
        + marks["nose_bridge"]
        + marks["nose_tip"]
        + marks["left_eye"]
        + marks["right_eye"]
        + top[:7]
        + bottom[1:6]
        + [top[11], top[10], top[9], top[8], top[7], bottom[10], bottom[9], bottom[8]]
    )
    return np.asarray(ordered, dtype=np.float32)
