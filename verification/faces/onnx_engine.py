"""`FaceEngine` for ArcFace-class ONNX models (onnxruntime): cosine similarity of unit vectors.

No model ships with the product: the agency names a model file it holds a licence for
(settings FACE_ENGINE=onnx, FACE_MODEL_PATH=...). Detection and landmarks come from the dlib
engine (HOG + 68 points, already loaded in every face worker); from those landmarks the face is
aligned to the standard 112 x 112 ArcFace template (`verification.faces.alignment`), given to
the model, and its output L2-normalised.

The vector space is fixed by the weights: the engine's `name` carries the first 12 hex digits of
the model file's SHA-256, so templates made with one model never compare with another's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from verification.faces.alignment import CHIP_SIZE, align_face
from verification.faces.engine import DetectedFace, FaceEngine

NAME_PREFIX = "arcface-onnx-"


class OnnxModelError(ValueError):
    """The model file is missing, unreadable or has inputs this engine cannot feed."""


class _Session(Protocol):
    """The part of `onnxruntime.InferenceSession` the engine uses (tests pass a fake)."""

    def get_inputs(self) -> Sequence[Any]: ...

    def run(self, output_names: Any, input_feed: dict[str, np.ndarray]) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class OnnxEngineConfig:
    model_path: Path
    # Pixel normalisation the model was trained with: (value - mean) / std on 0..255 values.
    # InsightFace's ArcFace models (w600k_*, glint360k_*): 127.5 / 127.5, RGB order.
    input_mean: float = 127.5
    input_std: float = 127.5
    channel_order: Literal["RGB", "BGR"] = "RGB"
    # Add the embedding of the mirrored chip (a common test-time trick): about +1 pass per face.
    flip_test: bool = False
    # Threads per worker process: one, like the dlib engine, so FACE_WORKERS = cores holds.
    threads: int = 1


def model_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise OnnxModelError(f"cannot read the model file {path}: {error.strerror}") from error
    return digest.hexdigest()


def engine_name_for(sha256: str) -> str:
    return NAME_PREFIX + sha256[:12]


class OnnxEngine:
    """ArcFace-class embeddings; `compare` is the cosine similarity (higher = more alike)."""

    higher_is_closer = True

    def __init__(
        self,
        config: OnnxEngineConfig,
        *,
        detector: FaceEngine | None = None,
        session: _Session | None = None,
        sha256: str | None = None,
    ) -> None:
        self.config = config
        if session is None:
            sha256 = sha256 or model_sha256(config.model_path)
            session = _open_session(config)
        self._session = session
        self.sha256 = sha256 or "0" * 64
        self.name = engine_name_for(self.sha256)
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise OnnxModelError(f"the model has {len(inputs)} inputs; an ArcFace model has one")
        self._input_name = inputs[0].name
        self._layout, self._chip = _layout(inputs[0].shape)
        self.version = (
            f"onnxruntime {_ort_version()}; model {Path(config.model_path).name} sha256 {self.sha256[:16]}; "
            f"input {self._layout} {self._chip}px"
        )
        if detector is None:
            from verification.faces.dlib_engine import DlibEngine  # detection and landmarks

            detector = DlibEngine()
        self._detector = detector

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        return self._detector.detect(image)

    def embed(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        if face.landmarks is None:
            raise OnnxModelError("the detector gave no landmarks to align the face with")
        chip = align_face(image, face.landmarks, self._chip)
        batch = [chip, chip[:, ::-1]] if self.config.flip_test else [chip]
        outputs = self._session.run(None, {self._input_name: self.preprocess(batch)})
        vectors = np.asarray(outputs[0], dtype=np.float32).reshape(len(batch), -1)
        return _unit(vectors.sum(axis=0))

    def compare(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(_unit(a), _unit(b)))

    def compare_many(self, a: np.ndarray, others: np.ndarray) -> np.ndarray:
        """`compare(a, row)` for every row of an N x D array."""
        rows = np.asarray(others, dtype=np.float32)
        norms = np.linalg.norm(rows, axis=1)
        return rows @ _unit(a) / np.where(norms > 0, norms, 1.0)

    def preprocess(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """uint8 H x W x 3 RGB chips -> the float32 batch the model takes."""
        batch = np.stack([np.asarray(chip, dtype=np.float32) for chip in chips])
        if self.config.channel_order == "BGR":
            batch = batch[..., ::-1]
        batch = (batch - self.config.input_mean) / self.config.input_std
        if self._layout == "NCHW":
            batch = batch.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(batch, dtype=np.float32)


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _layout(shape: Sequence[Any]) -> tuple[str, int]:
    """("NCHW" or "NHWC", chip size) from the model's input shape, e.g. [None, 3, 112, 112]."""
    dims = list(shape)
    if len(dims) == 4 and dims[1] == 3 and dims[2] == dims[3] and isinstance(dims[2], int):
        return "NCHW", int(dims[2])
    if len(dims) == 4 and dims[3] == 3 and dims[1] == dims[2] and isinstance(dims[1], int):
        return "NHWC", int(dims[1])
    if len(dims) == 4 and dims[1] == 3:  # square size left symbolic: assume the standard chip
        return "NCHW", CHIP_SIZE
    raise OnnxModelError(f"model input shape {dims} is not a batch of square RGB face chips")


def _open_session(config: OnnxEngineConfig) -> _Session:
    import onnxruntime as ort  # only in processes that do face work

    path = Path(config.model_path)
    if not path.is_file():
        raise OnnxModelError(f"no model file at {path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped errors for bad files
        raise OnnxModelError(f"onnxruntime cannot load {path}: {error}") from error


def _ort_version() -> str:
    try:
        import onnxruntime as ort

        return ort.__version__
    except ImportError:  # pragma: no cover - a dependency of the product
        return "unknown"
