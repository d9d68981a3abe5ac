"""Time per selfie, decode to verdict: the product pipeline (with any engine) against plain
face_recognition.

Test pictures are real photos from the faces folder resized to common camera sizes and saved
as JPEG (quality 90, like a phone). Both contenders see the same bytes in the same run.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from kernel.figures import percentile
from verification.faces.engine import FaceEngine
from verification.faces.evaluation import ManifestEntry, read_manifest
from verification.faces.pipeline import VerifyPolicy, check_selfie, default_engine, encode_reference

# label -> how the size is set: ("short", n) short side n px, ("long", n) long side n px,
# ("pixels", n) about n pixels in all.
SIZES: dict[str, tuple[str, int]] = {
    "240p": ("short", 240),
    "480p": ("short", 480),
    "1080p": ("short", 1080),
    "1280px": ("long", 1280),  # the product's working size: the target p50 <= 0.25 s is here
    "12MP": ("pixels", 12_000_000),  # a phone camera's full picture, ~4000 x 3000
}


@dataclass(frozen=True)
class BenchCase:
    reference: ManifestEntry  # another photo of the same person, encoded once beforehand
    probe: ManifestEntry  # resized to each size and verified


@dataclass(frozen=True)
class BenchRow:
    size: str
    example_size: tuple[int, int]  # (width, height) of the first case's picture at this size
    runs: int
    product_p50: float
    product_p95: float
    plain_p50: float
    plain_p95: float
    product_passes: int  # runs whose verdict was "pass"
    product_retries: int  # runs whose verdict was "retry" (a capture problem at this size)
    plain_matches: int  # runs where the library found a face matching at 0.6
    product_embed_p50: float = float("nan")  # the engine's embedding of the face alone


def pick_cases(root: Path, count: int, min_face_ratio: float = 0.25) -> list[BenchCase]:
    """The `count` largest selfie-like photos (one face at least `min_face_ratio` of the short
    side) of distinct identities that have a second photo to serve as the reference."""
    by_identity: dict[str, list[tuple[int, ManifestEntry]]] = {}
    for entry in read_manifest(root):
        with Image.open(entry.path) as image:
            pixels = image.size[0] * image.size[1]
        by_identity.setdefault(entry.identity, []).append((pixels, entry))
    ranked = sorted(
        ((pixels, entry) for photos in by_identity.values() if len(photos) >= 2 for pixels, entry in photos),
        key=lambda item: item[0],
        reverse=True,
    )
    engine = default_engine()
    cases: list[BenchCase] = []
    taken: set[str] = set()
    for _, probe in ranked:
        if len(cases) == count:
            break
        if probe.identity in taken:
            continue
        # Full-length portraits are no selfies: at 240p their face is a few pixels wide.
        result = encode_reference(probe.path.read_bytes(), engine=engine)
        if not result.ok or float(result.quality.get("face_ratio") or 0) < min_face_ratio:
            continue
        others = [entry for _, entry in sorted(by_identity[probe.identity], key=lambda item: -item[0])]
        reference = next(entry for entry in others if entry.path != probe.path)
        cases.append(BenchCase(reference=reference, probe=probe))
        taken.add(probe.identity)
    return cases


def resized_jpeg(path: Path, size: str) -> tuple[bytes, tuple[int, int]]:
    kind, value = SIZES[size]
    with Image.open(path) as original:
        image = ImageOps.exif_transpose(original).convert("RGB")
    width, height = image.size
    if kind == "short":
        scale = value / min(width, height)
    elif kind == "long":
        scale = value / max(width, height)
    else:
        scale = (value / (width * height)) ** 0.5
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    buffer = io.BytesIO()
    image.resize(new_size, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=90)
    return buffer.getvalue(), new_size


def run_bench(
    cases: Sequence[BenchCase],
    sizes: Sequence[str],
    repeats: int,
    progress: Callable[[str], None] | None = None,
    *,
    engine: FaceEngine | None = None,
    policy: VerifyPolicy | None = None,
    plain: bool = True,
) -> list[BenchRow]:
    """Time `engine` (default dlib) with `policy` per selfie; with `plain`, plain
    face_recognition on the same bytes too (its columns are nan otherwise)."""
    from verification.faces.dlib_engine import plain_library_compare, plain_library_encode

    engine = engine or default_engine()
    references = []
    for case in cases:
        data = case.reference.path.read_bytes()
        result = encode_reference(data, engine=engine)
        references.append((result.template, plain_library_encode(data) if plain else None))

    rows = []
    for size in sizes:
        product_times: list[float] = []
        embed_times: list[float] = []
        plain_times: list[float] = []
        passes = retries = matches = 0
        example: tuple[int, int] = (0, 0)
        for index, (case, (template, plain_reference)) in enumerate(zip(cases, references, strict=True)):
            data, picture_size = resized_jpeg(case.probe.path, size)
            if index == 0:
                example = picture_size
            if progress is not None:
                progress(f"{size}: {case.probe.listed_as} at {picture_size[0]}x{picture_size[1]}")
            for _ in range(repeats):
                if template is not None:
                    started = time.perf_counter()
                    verdict = check_selfie(template, data, policy, engine=engine)
                    product_times.append(time.perf_counter() - started)
                    if "embed_s" in verdict.timings:
                        embed_times.append(verdict.timings["embed_s"])
                    passes += verdict.verdict == "pass"
                    retries += verdict.verdict == "retry"
                if not plain:
                    continue
                started = time.perf_counter()
                encoding = plain_library_encode(data)
                matched = (
                    encoding is not None
                    and plain_reference is not None
                    and plain_library_compare(plain_reference, encoding)
                )
                plain_times.append(time.perf_counter() - started)
                matches += bool(matched)
        rows.append(
            BenchRow(
                size,
                example,
                max(len(plain_times), len(product_times)),
                percentile(product_times, 0.5),
                percentile(product_times, 0.95),
                percentile(plain_times, 0.5),
                percentile(plain_times, 0.95),
                passes,
                retries,
                matches,
                percentile(embed_times, 0.5),
            )
        )
    return rows
