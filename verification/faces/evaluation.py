"""Genuine/impostor evaluation of the pipeline on a folder of labelled photos.

Used by `pension-bot eval faces` to choose and check the match threshold: every photo is
encoded once exactly as a reference would be, then every pair of encoded photos is compared.
FNMR = share of genuine pairs (same identity) that do not match; FMR = share of impostor
pairs (different identities) that do.
"""

from __future__ import annotations

import csv
import math
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
    group: str | None = None  # the manifest's `group` column, where it has one


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
    """Rows of root/manifest.csv that name an identity (columns `path` and `identity`; an
    optional `group` column puts identities in groups reported apart, e.g. "cn", "western").

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
            group = (row.get("group") or "").strip() or None
            if identity and listed:
                entries.append(ManifestEntry(root / listed, listed, identity, group))
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


# --- operating points, groups ---

# Identity name prefixes read as groups where the manifest has no `group` column (the shared
# faces folder names its East Asian identities cn_*, jp_*, kr_*).
PREFIX_GROUPS = {"cn_": "cn", "jp_": "jp", "kr_": "kr"}


def group_of(entry: ManifestEntry) -> str | None:
    """The entry's group: the manifest's `group` column, else its identity's known prefix."""
    if entry.group:
        return entry.group
    return next((g for prefix, g in PREFIX_GROUPS.items() if entry.identity.startswith(prefix)), None)


def groups(photos: Sequence[EncodedPhoto]) -> dict[str, Callable[[str], bool]]:
    """{group: keep rule} for every group among the photos (identities keep their first group)."""
    by_identity: dict[str, str] = {}
    for photo in photos:
        found = group_of(photo.entry)
        if found is not None:
            by_identity.setdefault(photo.entry.identity, found)
    names = sorted(set(by_identity.values()))
    return {name: _member_of(by_identity, name) for name in names}


def _member_of(by_identity: dict[str, str], name: str) -> Callable[[str], bool]:
    return lambda identity: by_identity.get(identity) == name


@dataclass(frozen=True)
class OperatingPoint:
    target_fmr: float
    threshold: float | None  # None without impostor pairs
    rates: Rates | None


def operating_point(scores: PairScores, target_fmr: float, higher_is_closer: bool) -> OperatingPoint:
    """FNMR (and the real FMR) at the most lenient threshold with FMR <= target_fmr."""
    threshold = threshold_for_fmr(scores, target_fmr, higher_is_closer)
    if threshold is None:
        return OperatingPoint(target_fmr, None, None)
    return OperatingPoint(target_fmr, threshold, rates(scores, threshold, higher_is_closer))


# --- held-out protocol: decisions beyond one pair (S-norm, several references) ---


def split_identities(photos: Sequence[EncodedPhoto]) -> tuple[set[str], set[str]]:
    """(calibration, held-out) identities: ranked by photo count (then name) and dealt
    alternately, so both halves get big and small identities alike. Deterministic: the same
    manifest always gives the same halves."""
    counts: dict[str, int] = {}
    for photo in photos:
        counts[photo.entry.identity] = counts.get(photo.entry.identity, 0) + 1
    ranked = sorted(counts, key=lambda name: (-counts[name], name))
    return set(ranked[0::2]), set(ranked[1::2])


@dataclass(frozen=True)
class Trial:
    references: tuple[int, ...]  # indices into the photo list
    probe: int
    genuine: bool


def pair_trials(indices: Sequence[int], identities: Sequence[str]) -> list[Trial]:
    """Every unordered pair, the first photo as the reference."""
    return [
        Trial((a,), b, identities[a] == identities[b])
        for n, a in enumerate(indices)
        for b in indices[n + 1 :]
    ]


def multi_reference_trials(indices: Sequence[int], identities: Sequence[str], k: int) -> list[Trial]:
    """Claims against k references of one identity, as for a retiree with a roster photo and
    k - 1 selfies that passed with staff present. For each photo p of an identity with more
    than k photos, the k photos after it (in manifest order, cycling) are a reference set:
    genuine trial with p as the probe, impostor trials with every photo of other identities."""
    by_identity: dict[str, list[int]] = {}
    for index in indices:
        by_identity.setdefault(identities[index], []).append(index)
    trials: list[Trial] = []
    for identity, own in by_identity.items():
        if len(own) <= k:
            continue
        for position, probe in enumerate(own):
            references = tuple(own[(position + 1 + step) % len(own)] for step in range(k))
            trials.append(Trial(references, probe, True))
            trials.extend(
                Trial(references, other, False) for other in indices if identities[other] != identity
            )
    return trials


class TrialScorer:
    """Raw and S-norm scores of trials. References are the photos' reference encodings; probes
    may have their own (e.g. several frames fused). The cohort of a trial is every other photo
    of the same half whose identity is neither the claimed one nor the probe's (in production:
    the other retirees of the region), at most MAX_COHORT of them."""

    def __init__(
        self,
        engine: FaceEngine,
        reference_vectors: np.ndarray,
        identities: Sequence[str],
        probe_vectors: np.ndarray | None = None,
    ) -> None:
        from verification.faces.scoring import scores_against

        self.engine = engine
        self.references = np.asarray(reference_vectors, dtype=np.float32)
        self.probes = self.references if probe_vectors is None else np.asarray(probe_vectors, np.float32)
        self.identities = list(identities)
        # raw[i, j] = score of reference i against probe j
        self.raw = np.vstack([scores_against(engine, row, self.probes) for row in self.references])
        # cohort side: every reference against every reference, and every probe against them
        self._ref_vs_ref = np.vstack(
            [scores_against(engine, row, self.references) for row in self.references]
        )
        self._probe_vs_ref = (
            self._ref_vs_ref
            if probe_vectors is None
            else np.vstack([scores_against(engine, row, self.references) for row in self.probes])
        )
        self._stats: dict[tuple[str, int, frozenset[str]], tuple[float, float]] = {}

    def _cohort_stats(
        self, side: str, index: int, pool: Sequence[int], excluded: frozenset[str]
    ) -> tuple[float, float]:
        from verification.faces.scoring import MAX_COHORT, MIN_COHORT, top_count

        key = (side, index, excluded)
        found = self._stats.get(key)
        if found is None:
            cohort = [c for c in pool if self.identities[c] not in excluded][:MAX_COHORT]
            if len(cohort) < MIN_COHORT:
                found = (math.nan, math.nan)  # too few to normalise with: the trial is left out
            else:
                row = (self._ref_vs_ref if side == "reference" else self._probe_vs_ref)[index]
                values = np.sort(row[cohort])
                keep = top_count(len(values))
                values = values[-keep:] if self.engine.higher_is_closer else values[:keep]
                found = (float(values.mean()), float(max(values.std(), 1e-6)))
            self._stats[key] = found
        return found

    def score(self, trials: Sequence[Trial], *, snorm: bool, cohort_pool: Sequence[int] = ()) -> PairScores:
        """Scores of the trials (S-norm: trials whose cohort has fewer than MIN_COHORT photos are
        left out, as the product decides those on the raw score)."""
        genuine: list[float] = []
        impostor: list[float] = []
        for trial in trials:
            values = []
            excluded = frozenset({self.identities[trial.references[0]], self.identities[trial.probe]})
            for reference in trial.references:
                value = float(self.raw[reference, trial.probe])
                if snorm:
                    mean_r, std_r = self._cohort_stats("reference", reference, cohort_pool, excluded)
                    mean_p, std_p = self._cohort_stats("probe", trial.probe, cohort_pool, excluded)
                    value = 0.5 * ((value - mean_r) / std_r + (value - mean_p) / std_p)
                values.append(value)
            fused = float(np.mean(values))
            if not math.isnan(fused):
                (genuine if trial.genuine else impostor).append(fused)
        return PairScores(np.asarray(genuine, dtype=np.float64), np.asarray(impostor, dtype=np.float64))


@dataclass(frozen=True)
class HeldOutRow:
    label: str
    calibration: PairScores
    heldout: PairScores


def heldout_rows(
    photos: Sequence[EncodedPhoto],
    engine: FaceEngine,
    keep: Callable[[str], bool] | None = None,
    *,
    probe_vectors: np.ndarray | None = None,
    references: int = 2,
) -> tuple[list[HeldOutRow], set[str], set[str]]:
    """Scores of each decision rule on the calibration and the held-out identities of the
    photos `keep` accepts: one reference raw / S-norm, `references` references raw / S-norm."""
    chosen = [n for n, p in enumerate(photos) if keep is None or keep(p.entry.identity)]
    subset = [photos[n] for n in chosen]
    calibration_ids, heldout_ids = split_identities(subset)
    identities = [p.entry.identity for p in subset]
    scorer = TrialScorer(
        engine,
        np.vstack([p.vector for p in subset]),
        identities,
        None if probe_vectors is None else np.asarray(probe_vectors)[chosen],
    )
    halves = {
        "calibration": [n for n, identity in enumerate(identities) if identity in calibration_ids],
        "heldout": [n for n, identity in enumerate(identities) if identity in heldout_ids],
    }
    rows = []
    for label, make, snorm in (
        ("1 reference, raw", lambda ix: pair_trials(ix, identities), False),
        ("1 reference, S-norm", lambda ix: pair_trials(ix, identities), True),
        (
            f"{references} references, raw",
            lambda ix: multi_reference_trials(ix, identities, references),
            False,
        ),
        (
            f"{references} references, S-norm",
            lambda ix: multi_reference_trials(ix, identities, references),
            True,
        ),
    ):
        scored = {
            half: scorer.score(make(indices), snorm=snorm, cohort_pool=indices)
            for half, indices in halves.items()
        }
        rows.append(HeldOutRow(label, scored["calibration"], scored["heldout"]))
    return rows, calibration_ids, heldout_ids


# --- simulated video-note frames ---


def simulated_frames(data: bytes, count: int, seed: int = 0) -> list[bytes]:
    """`count` pictures as frames of a short video of the same moment might be: the photo
    slightly turned (up to 4 degrees), scaled (5 %), shifted (3 %) and lit (10 %), then saved
    as a JPEG of quality 80. The first is the photo itself, re-encoded. For measuring the
    multi-frame decision where no videos are at hand; real frames also differ in expression
    and pose, so they help at least as much as these."""
    import io

    from PIL import Image, ImageEnhance, ImageOps

    rng = np.random.default_rng(seed)
    with Image.open(io.BytesIO(data)) as original:
        image = ImageOps.exif_transpose(original).convert("RGB")
    image.thumbnail((1280, 1280))
    frames = []
    for number in range(count):
        frame = image
        if number:
            width, height = image.size
            scale = 1 + rng.uniform(-0.05, 0.05)
            frame = image.rotate(
                rng.uniform(-4, 4),
                resample=Image.Resampling.BILINEAR,
                # Pillow annotates int offsets but adds them to its float affine matrix as given.
                translate=(rng.uniform(-0.03, 0.03) * width, rng.uniform(-0.03, 0.03) * height),  # type: ignore[arg-type]
            )
            frame = frame.resize((round(width * scale), round(height * scale)), Image.Resampling.BILINEAR)
            frame = ImageEnhance.Brightness(frame).enhance(1 + rng.uniform(-0.1, 0.1))
        buffer = io.BytesIO()
        frame.save(buffer, "JPEG", quality=80)
        frames.append(buffer.getvalue())
    return frames
