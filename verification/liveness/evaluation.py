"""`pension-bot eval liveness`: the liveness check on labelled generated videos.

Every video of `synthesis.evaluation_set` is judged as the bot judges a video note: first
against every earlier submission (exact SHA-256, then `fingerprints.same_recording` on
the frame fingerprints), then by `judge.judge_video` against a reference photo of the person.
An attack is caught when either says no; a genuine take is wrongly refused when either
does. APCER (attacks accepted) is counted per attack type, BPCER (genuine takes refused)
over the genuine ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from verification.faces.engine import FaceEngine
from verification.faces.pipeline import ReferenceTemplate, VerifyPolicy, encode_reference
from verification.liveness.fingerprints import same_recording
from verification.liveness.judge import LivenessPolicy, VideoVerdict, judge_video
from verification.liveness.synthesis import LabelledVideo

# Attack types reported, and the video kinds in each.
ATTACK_TYPES: dict[str, tuple[str, ...]] = {
    "still_photo": ("still_photo",),
    "replay": ("replay_exact", "replay_reencoded"),
    "missing_action": ("missing_action",),
    "wrong_order": ("wrong_order",),
    "screen": ("screen",),
    "print": ("print",),
    "real_clip": ("real_clip",),
}
# Kinds that are new recordings of a person (not copies of an earlier one): same_recording
# must never flag one of them against another take of the same identity.
NEW_TAKES = ("genuine", "missing_action", "wrong_order")
# The identities the thresholds were tuned on (`--identities 8`, the first eight of
# `evaluation_set`'s order); every other identity is held out. Figures are given for both.
TUNING_IDENTITIES = frozenset(
    {
        "cn_001_an_hu",
        "cn_003_an_zhijie",
        "cn_007_a_bao",
        "cn_009_an_yaping",
        "cn_101_chen_weiting",
        "cn_103_chen_guanxi",
        "cn_105_chen_yixun",
        "cn_107_chen_baiyu",
    }
)


@dataclass(frozen=True)
class Judged:
    key: str
    kind: str
    identity: str
    asked: tuple[str, ...]
    verdict: VideoVerdict | None  # None: the reference photo could not be used
    replay_of: str | None  # the earlier submission this one copies, if any
    reference_problem: str | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict is not None and self.verdict.verdict == "pass" and self.replay_of is None

    @property
    def passed_judge(self) -> bool:
        return self.verdict is not None and self.verdict.verdict == "pass"

    @property
    def outcome(self) -> str:
        if self.verdict is None:
            return f"reference unusable ({self.reference_problem})"
        if self.replay_of is not None:
            return f"replay of {self.replay_of} (judge: {self.verdict.verdict} {self.verdict.reason})"
        return f"{self.verdict.verdict} {self.verdict.reason}"


@dataclass
class Report:
    judged: list[Judged] = field(default_factory=list)
    # (new take, other take of the same identity) pairs compared, and those flagged
    take_pairs: int = 0
    takes_flagged: list[tuple[str, str]] = field(default_factory=list)

    def rate(
        self,
        kinds: Iterable[str],
        identities: frozenset[str] | None = None,
        held_out: bool = False,
        *,
        judge_only: bool = False,
    ) -> tuple[int, int]:
        """(wrong, count) for the kinds: attacks accepted, or genuine takes refused; with
        `judge_only`, by judge_video alone (no replay check)."""
        chosen = [
            j
            for j in self.judged
            if j.kind in kinds
            and j.verdict is not None
            and (identities is None or (j.identity in identities) != held_out)
        ]
        wrong = [j for j in chosen if (j.passed_judge if judge_only else j.accepted) != (j.kind == "genuine")]
        return len(wrong), len(chosen)

    def failures(self) -> list[Judged]:
        return [j for j in self.judged if j.verdict is not None and j.accepted != (j.kind == "genuine")]


def evaluate(
    videos: Iterable[LabelledVideo],
    *,
    engine: FaceEngine,
    policy: LivenessPolicy | None = None,
    match_policy: VerifyPolicy | None = None,
    cohort: dict[str, ReferenceTemplate] | None = None,
    progress: Callable[[Judged], None] | None = None,
) -> Report:
    """`cohort`: a reference template per identity; each video is then scored against the
    others' (S-norm, as the bot scores against the other retirees of the region)."""
    report = Report()
    earlier: list[tuple[Judged, str, tuple[int, ...]]] = []  # every submission so far
    takes: list[tuple[Judged, tuple[int, ...]]] = []
    references: dict[str, ReferenceTemplate | str] = {}
    for video in videos:
        reference = _reference(video, references, engine)
        if isinstance(reference, str) and video.kind == "real_clip":
            # The clip's reference cut from its own small faces may not encode; it must fail
            # whoever it is compared with, so any other person's reference serves.
            reference = next((r for r in references.values() if not isinstance(r, str)), reference)
        if isinstance(reference, str):
            judged = Judged(video.key, video.kind, video.identity, _names(video.asked), None, None, reference)
        else:
            others = [t for identity, t in (cohort or {}).items() if identity != video.identity]
            verdict = judge_video(
                video.data,
                video.asked,
                [reference],
                policy=policy,
                match_policy=match_policy,
                engine=engine,
                cohort=others or None,
            )
            replay_of = next(
                (
                    j.key
                    for j, sha, seen in earlier
                    if sha == verdict.evidence_sha256 or same_recording(verdict.recording, seen)
                ),
                None,
            )
            judged = Judged(video.key, video.kind, video.identity, _names(video.asked), verdict, replay_of)
            earlier.append((judged, verdict.evidence_sha256, verdict.recording))
            if video.kind in NEW_TAKES:
                for other, seen in takes:
                    if other.identity == video.identity:
                        report.take_pairs += 1
                        if same_recording(verdict.recording, seen) or same_recording(seen, verdict.recording):
                            report.takes_flagged.append((video.key, other.key))
                takes.append((judged, verdict.recording))
        report.judged.append(judged)
        if progress is not None:
            progress(judged)
    return report


def _reference(
    video: LabelledVideo, cache: dict[str, ReferenceTemplate | str], engine: FaceEngine
) -> ReferenceTemplate | str:
    """The reference template of the video's person (cached per photo), or why there is none."""
    path = str(video.reference_photo)
    if path not in cache:
        result = encode_reference(video.reference_photo.read_bytes(), engine=engine)
        cache[path] = result.template if result.template is not None else str(result.reason)
    return cache[path]


def cohort_templates(faces_dir: Path, engine: FaceEngine) -> dict[str, ReferenceTemplate]:
    """One reference template per identity of the faces folder (its first usable photo)."""
    cohort = {}
    for folder in sorted(p for p in (faces_dir / "people").iterdir() if p.is_dir()):
        for photo in sorted(folder.iterdir()):
            result = encode_reference(photo.read_bytes(), engine=engine)
            if result.template is not None:
                cohort[folder.name] = result.template
                break
    return cohort


def _names(actions: Iterable[object]) -> tuple[str, ...]:
    return tuple(str(a) for a in actions)
