"""Which face engine the product runs, as configured: "dlib" (the default, ships with the
product) or "onnx" (an ArcFace-class model file the agency holds a licence for).

This module is the only place that chooses between engines; it imports neither model library
at module level, so settings can be checked and vector-space names known without loading any
model. `engine_factory(spec)` is picklable and goes to the `FaceWorkerPool`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from verification.faces.engine import FaceEngine

EngineKind = Literal["dlib", "onnx"]
ENGINE_KINDS: tuple[str, ...] = ("dlib", "onnx")
DLIB_ENGINE_NAME = "dlib-resnet-v1"


class EngineConfigError(ValueError):
    """The configured engine cannot be built (unknown kind, no model path, unreadable model)."""


@dataclass(frozen=True)
class EngineSpec:
    kind: EngineKind = "dlib"
    model_path: Path | None = None  # onnx only: the model file
    dlib_jitters: int = 1  # dlib only: re-encodings averaged per face (see DlibEngineConfig)
    onnx_flip_test: bool = False  # onnx only: add the mirrored chip's embedding

    def __post_init__(self) -> None:
        if self.kind not in ENGINE_KINDS:
            raise EngineConfigError(f"unknown face engine {self.kind!r}; known: {', '.join(ENGINE_KINDS)}")
        if self.kind == "onnx" and self.model_path is None:
            raise EngineConfigError("the onnx face engine needs a model file (FACE_MODEL_PATH)")
        if self.dlib_jitters < 1:
            raise EngineConfigError("dlib jitters must be at least 1")

    def vector_space(self) -> str:
        """The `FaceEngine.name` this spec gives, without loading any model (onnx: hashes the
        model file, ~0.1 s for 100 MB)."""
        if self.kind == "dlib":
            return DLIB_ENGINE_NAME
        from verification.faces.onnx_engine import OnnxModelError, engine_name_for, model_sha256

        assert self.model_path is not None  # __post_init__ refuses an onnx spec without one
        try:
            return engine_name_for(model_sha256(self.model_path))
        except OnnxModelError as error:
            raise EngineConfigError(str(error)) from error


def build_engine(spec: EngineSpec) -> FaceEngine:
    """A new engine for `spec` (loads its models: about a second)."""
    if spec.kind == "dlib":
        from verification.faces.dlib_engine import DlibEngine, DlibEngineConfig

        return DlibEngine(DlibEngineConfig(num_jitters=spec.dlib_jitters))
    from verification.faces.onnx_engine import OnnxEngine, OnnxEngineConfig, OnnxModelError

    assert spec.model_path is not None  # EngineSpec refuses an onnx spec without one
    try:
        return OnnxEngine(OnnxEngineConfig(Path(spec.model_path), flip_test=spec.onnx_flip_test))
    except OnnxModelError as error:
        raise EngineConfigError(str(error)) from error


@functools.cache
def cached_engine(spec: EngineSpec) -> FaceEngine:
    """One engine per spec and process (console commands and workers reuse it)."""
    return build_engine(spec)


def engine_factory(spec: EngineSpec) -> Callable[[], FaceEngine]:
    """A picklable zero-argument factory for `FaceWorkerPool(engine_factory=...)`."""
    return functools.partial(cached_engine, spec)
