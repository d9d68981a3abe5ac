"""Genuine/impostor evaluation of the pipeline on a folder of labelled photos.

Used by `pension-bot eval faces` to choose and check the match threshold: every photo is
encoded once exactly as a reference would be, then every pair of encoded photos is compared.
FNMR = share of genuine pairs (same identity) that do not match; FMR = share of impostor
pairs (different identities) that do.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from verification.faces.engine import FaceEngine, is_match
from verification.faces.pipeline import ReferenceResult


@dataclass(frozen=True)
class ManifestEntry:
    path: Path  # resolved: relative paths are taken from the manifest's folder
    listed_as: str  # the path as written in the manifest, for messages
    identity: str


@dataclass(frozen=True)
class EncodedPhoto:
    entry: ManifestEntry
    vector: np.ndarray


@dataclass(frozen=True)
class UnencodedPhoto:
    entry: ManifestEntry
    reason: str  # a Reason code (no_face, several_faces, ...) or "unreadable"


@dataclass(frozen=True)
class PairScores:
    genuine: np.ndarray  # one comparison score per same-identity pair
    impostor: np.ndarray  # one per different-identity pair


@dataclass(frozen=True)
class Rates:
    threshold: float
    genuine_pairs: int
    impostor_pairs: int
    fnmr: float  # 0..1; nan without genuine pairs
    fmr: float  # 0..1; nan without impostor pairs


def read_manifest(root: Path) -> list[ManifestEntry]:
    """Rows of root/manifest.csv that name an identity (columns `path` and `identity`).

    A path may be relative to `root` (as in the shared faces folder, `../` allowed) or absolute.
    """
    with (root / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"path", "identity"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"manifest.csv lacks the column(s) {', '.join(sorted(missing))}")
        entries = []
        for row in reader:
            identity = (row.get("identity") or "").strip()
            listed = (row.get("path") or "").strip()
            if identity and listed:
                entries.append(ManifestEntry(root / listed, listed, identity))
    return entries


def encode_all(
    entries: Sequence[ManifestEntry],
    encode: Callable[[bytes], ReferenceResult],
    progress: Callable[[int, int, ManifestEntry], None] | None = None,
) -> tuple[list[EncodedPhoto], list[UnencodedPhoto]]:
    """Encode every photo once; photos without exactly one usable face are kept aside, with why."""
    encoded: list[EncodedPhoto] = []
    unencoded: list[UnencodedPhoto] = []
    for number, entry in enumerate(entries, start=1):
        if progress is not None:
            progress(number, len(entries), entry)
        try:
            data = entry.path.read_bytes()
        except OSError:
            unencoded.append(UnencodedPhoto(entry, "unreadable"))
            continue
        result = encode(data)
        if result.template is None:
            unencoded.append(UnencodedPhoto(entry, str(result.reason)))
        else:
            encoded.append(EncodedPhoto(entry, result.template.to_array()))
    return encoded, unencoded


def pair_scores(
    photos: Sequence[EncodedPhoto], engine: FaceEngine, keep: Callable[[str], bool] | None = None
) -> PairScores:
    """Scores of every unordered pair among the photos whose identity `keep` accepts."""
    chosen = [p for p in photos if keep is None or keep(p.entry.identity)]
    genuine: list[float] = []
    impostor: list[float] = []
    for a, b in combinations(chosen, 2):
        score = engine.compare(a.vector, b.vector)
        (genuine if a.entry.identity == b.entry.identity else impostor).append(score)
    return PairScores(np.asarray(genuine, dtype=np.float64), np.asarray(impostor, dtype=np.float64))


def rates(scores: PairScores, threshold: float, higher_is_closer: bool) -> Rates:
    genuine_match = is_match(scores.genuine, threshold, higher_is_closer)
    impostor_match = is_match(scores.impostor, threshold, higher_is_closer)
    return Rates(
        threshold,
        int(scores.genuine.size),
        int(scores.impostor.size),
        float(1.0 - np.mean(genuine_match)) if scores.genuine.size else float("nan"),
        float(np.mean(impostor_match)) if scores.impostor.size else float("nan"),
    )


def threshold_for_fmr(scores: PairScores, target_fmr: float, higher_is_closer: bool) -> float | None:
    """The most lenient threshold whose FMR is at most `target_fmr` (None without impostors).

    Lenient = admits the most genuine pairs: the largest distance / the smallest similarity.
    """
    impostor = np.sort(scores.impostor)
    if impostor.size == 0:
        return None
    allowed = int(np.floor(target_fmr * impostor.size))  # impostor pairs we may let through
    if higher_is_closer:
        ordered = impostor[::-1]  # most alike first
        # strictly above the (allowed+1)-th most alike impostor score
        return (
            float(np.nextafter(ordered[allowed], np.inf)) if allowed < impostor.size else float(ordered[-1])
        )
    return float(np.nextafter(impostor[allowed], -np.inf)) if allowed < impostor.size else float(impostor[-1])


def identity_prefix_rule(prefixes: Sequence[str]) -> Callable[[str], bool]:
    """`keep` for identities whose name starts with one of the prefixes (e.g. cn_, jp_, kr_)."""
    cleaned = tuple(p.strip() for p in prefixes if p.strip())
    return lambda identity: identity.startswith(cleaned)


def expected_pair_counts(identities: Sequence[str]) -> tuple[int, int]:
    """(genuine, impostor) pair counts for photos with these identities: a cross-check."""
    counts: dict[str, int] = {}
    for identity in identities:
        counts[identity] = counts.get(identity, 0) + 1
    total = len(identities) * (len(identities) - 1) // 2
    genuine = sum(n * (n - 1) // 2 for n in counts.values())
    return genuine, total - genuine
