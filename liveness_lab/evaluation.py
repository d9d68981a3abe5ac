"""`pension-bot eval liveness`: the liveness check on labelled videos (an evaluation tool: it
needs the attack renderer of `liveness_lab.synthesis`, never installed).

Every video is judged as the bot judges a video note: first against every earlier submission
(exact SHA-256, then `fingerprints.same_recording` on the frame fingerprints), then by
`judge.judge_video` against a reference photo of the person. An attack is caught when either
says no; a real recording is wrongly refused when either does.

Two sources, reported apart:
* synthetic: `liveness_lab.synthesis.evaluation_set`, made from photos of ../shared/faces. Its takes "doing
  the actions asked" are one photo animated into the actions: they are animated-photo attacks
  (`animated_photo`, APCER on the identities held out of the animation check's tuning), not
  genuine takes. What the other checks make of them (with the animation check off) is also
  reported, labelled as synthetic: it keeps the action and match checks measured.
* real: camera recordings of real people (../shared/liveness/real), with the actions each
  contains as labelled in verification/liveness/data/real_clips.toml
  (`verification.liveness.real_clips`) and a frame of the clip as the reference: BPCER
  on real recordings, for the tuning clips, the held-out clips and all of them; and the
  animation check alone on every clip.
"""

from __future__ import annotations

import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from liveness_lab.synthesis import (
    LabelledVideo,
    encode_mp4,
    load_face_photo,
    render_print_attack,
    render_still_photo_attack,
)
from verification.faces.engine import FaceEngine
from verification.faces.pipeline import ReferenceTemplate, VerifyPolicy, encode_reference
from verification.liveness import animation, events
from verification.liveness.actions import Action
from verification.liveness.fingerprints import same_recording
from verification.liveness.judge import LivenessPolicy, VideoVerdict, judge_video
from verification.liveness.real_clips import LABELS_FILE, RealClip, reference_frame
from verification.liveness.signals import track
from verification.liveness.video import VideoRejected, decode_video

# Which data tuned the animated-photo check: beside the check, in the installed package.
SPLIT_FILE = LABELS_FILE.with_name("animation_split.toml")

# Kinds that should pass: camera recordings of real people doing what they were asked.
GENUINE_KINDS = ("real_recording",)
# The synthesis kind "genuine" is a take doing the actions asked, animated from one photo: what
# an attacker makes of a single photo of the retiree (照片活化).
SYNTHETIC_TAKES = ("genuine",)
# Attack types reported, and the video kinds in each.
ATTACK_TYPES: dict[str, tuple[str, ...]] = {
    "animated_photo": SYNTHETIC_TAKES,
    "still_photo": ("still_photo",),
    "replay": ("replay_exact", "replay_reencoded"),
    "missing_action": ("missing_action",),
    "wrong_order": ("wrong_order",),
    "screen": ("screen",),
    "print": ("print",),
    "real_clip": ("real_clip",),
    # A frame of each real recording (a camera's picture, not a portrait photo), held up on a
    # screen or as a print and asked for one action: what landmark jitter on a real picture
    # can pass for (a blink on a man in glasses once did).
    "still_photo, real frames": ("still_photo_real",),
    "print, real frames": ("print_real",),
}
# The challenges each held-up real frame is asked for, one video each.
HELD_UP_CHALLENGES = ((Action.BLINK,), (Action.OPEN_MOUTH,), (Action.TURN_LEFT,))
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
class AnimationSplit:
    """What tuned the animated-photo check and what is held out (data/animation_split.toml)."""

    tuning_identities: frozenset[str]
    tuning_clips: frozenset[str]
    held_out_clips: frozenset[str]


def animation_split(path: Path = SPLIT_FILE) -> AnimationSplit:
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    return AnimationSplit(
        frozenset(data["faces"]["tuning"]),
        frozenset(data["real_clips"]["tuning"]),
        frozenset(data["real_clips"]["held_out"]),
    )


def real_recordings(clips: Iterable[RealClip]) -> Iterator[LabelledVideo]:
    """The clips that show at least one action, as labelled videos asking for those actions
    in their order, each with its own frame as the reference photo."""
    folder = Path(tempfile.mkdtemp(prefix="liveness-real-"))
    for clip in clips:
        if not clip.actions:
            continue
        data = clip.path.read_bytes()
        reference = folder / f"{clip.name}_reference.jpg"
        reference.write_bytes(reference_frame(data, clip.reference_at_s))
        yield LabelledVideo(
            "real_recording",
            f"real:{clip.name}",
            clip.actions,
            clip.actions,
            data,
            reference,
            None,
            f"real-{clip.name}",
        )


def held_up_real_frames(
    clips: Iterable[RealClip], *, size: int = 480, fps: int = 24
) -> Iterator[LabelledVideo]:
    """Each clip's reference frame held up to the camera as a screen or paper photo and as a
    print (liveness_lab.synthesis), asked for each of HELD_UP_CHALLENGES: attacks, with the
    clip's frame as the reference photo."""
    folder = Path(tempfile.mkdtemp(prefix="liveness-held-up-"))
    for number, clip in enumerate(clips):
        reference = folder / f"{clip.name}_reference.jpg"
        reference.write_bytes(reference_frame(clip.path.read_bytes(), clip.reference_at_s))
        photo = load_face_photo(reference, size=size)
        for kind, render in (
            ("still_photo_real", render_still_photo_attack),
            ("print_real", render_print_attack),
        ):
            data = encode_mp4(render(photo, seconds=6.0, fps=fps, size=size, seed=number), fps=fps)
            for asked in HELD_UP_CHALLENGES:
                key = f"{kind}-{clip.name}-{asked[0]}"
                yield LabelledVideo(kind, f"real:{clip.name}", asked, (), data, reference, None, key)


def animation_figures(data: bytes, policy: LivenessPolicy | None = None) -> animation.AnimationFigures | None:
    """The animated-photo check alone on a video (decoded and tracked as the judge does);
    None when it cannot be decoded or shows no face."""
    policy = policy or LivenessPolicy()
    try:
        video = decode_video(data, policy.limits)
    except VideoRejected:
        return None
    signals = track(video.frames, video.times, policy.tracker)
    if not any(s.has_face for s in signals):
        return None
    rest = events.baseline(signals)
    return animation.measure(video.frames, signals, rest, policy.events, policy.animation)


@dataclass(frozen=True)
class Judged:
    key: str
    kind: str
    identity: str
    asked: tuple[str, ...]
    verdict: VideoVerdict | None  # None: the reference photo could not be used
    replay_of: str | None  # the earlier submission this one copies, if any
    reference_problem: str | None = None
    # Synthetic takes only: the judge's verdict with the animation check off (what the other
    # checks make of the take).
    other_checks: VideoVerdict | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict is not None and self.verdict.verdict == "pass" and self.replay_of is None

    @property
    def passed_judge(self) -> bool:
        return self.verdict is not None and self.verdict.verdict == "pass"

    @property
    def should_pass(self) -> bool:
        return self.kind in GENUINE_KINDS

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
        """(wrong, count) for the kinds: attacks accepted, or real recordings refused; with
        `judge_only`, by judge_video alone (no replay check)."""
        chosen = [
            j
            for j in self.judged
            if j.kind in kinds
            and j.verdict is not None
            and (identities is None or (j.identity in identities) != held_out)
        ]
        wrong = [j for j in chosen if (j.passed_judge if judge_only else j.accepted) != j.should_pass]
        return len(wrong), len(chosen)

    def failures(self) -> list[Judged]:
        return [j for j in self.judged if j.verdict is not None and j.accepted != j.should_pass]

    def other_checks(
        self, identities: frozenset[str] | None = None, held_out: bool = False
    ) -> tuple[int, int]:
        """(refused, count) of the synthetic takes by the judge with the animation check off:
        the action and match checks on generated takes (synthetic, not a BPCER)."""
        chosen = [
            j
            for j in self.judged
            if j.other_checks is not None and (identities is None or (j.identity in identities) != held_out)
        ]
        return sum(j.other_checks.verdict != "pass" for j in chosen), len(chosen)


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
            if video.kind in SYNTHETIC_TAKES and (policy or LivenessPolicy()).animation is not None:
                unchecked = judge_video(
                    video.data,
                    video.asked,
                    [reference],
                    policy=replace(policy or LivenessPolicy(), animation=None),
                    match_policy=match_policy,
                    engine=engine,
                    cohort=others or None,
                )
                judged = replace(judged, other_checks=unchecked)
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


def report_lines(
    report: Report,
    split: AnimationSplit,
    clips: Iterable[RealClip] = (),
    clip_figures: dict[str, animation.AnimationFigures | None] | None = None,
    policy: LivenessPolicy | None = None,
) -> list[str]:
    """The evaluation as text: synthetic attacks (APCER per type; animated photos on the
    identities held out of the animation check's tuning), real recordings (BPCER) and the
    animation check alone on them, each labelled with where it comes from."""
    policy = policy or LivenessPolicy()
    clips, clip_figures = list(clips), clip_figures or {}
    ids = split.tuning_identities
    out = ["SYNTHETIC attacks, generated from photos of the shared faces (judge + replay check)"]
    out.append(f"{'type':<28} {'videos':>6} {'accepted':>9} {'APCER':>8}   {'by the judge alone':>18}")

    def row(label: str, wrong_alone: tuple[tuple[int, int], tuple[int, int]]) -> str:
        (wrong, count), (alone, _) = wrong_alone
        return (
            f"{label:<28} {count:>6} {wrong:>9} {_pct(wrong, count):>8}   {alone:>9} {_pct(alone, count):>8}"
        )

    for name, kinds in ATTACK_TYPES.items():
        if name == "animated_photo":
            for label, held_out in (("animated_photo, held-out ids", True), ("  tuning ids", False)):
                rates = (
                    report.rate(kinds, ids, held_out),
                    report.rate(kinds, ids, held_out, judge_only=True),
                )
                out.append(row(label, rates))
            continue
        out.append(row(name, (report.rate(kinds), report.rate(kinds, judge_only=True))))
    out.append(
        "animated_photo: the takes of a photo animated into the actions asked (what the old report "
        "called genuine takes); tuning ids: " + ", ".join(sorted(ids)) + "; every other identity is held out."
    )
    refused, count = report.other_checks()
    held_refused, held_count = report.other_checks(ids, True)
    out.append(
        f"SYNTHETIC takes judged with the animation check off (the action and match checks on "
        f"generated takes; not a BPCER): refused {refused} of {count} ({_pct(refused, count)}); "
        f"held-out ids {held_refused} of {held_count}"
    )
    for judged in report.judged:
        if judged.other_checks is not None and judged.other_checks.verdict != "pass":
            out.append(f"  {judged.key:<40} {judged.other_checks.verdict} {judged.other_checks.reason}")
    out.append(
        f"New takes flagged as a copy of another take of the same identity: {len(report.takes_flagged)} "
        f"of {report.take_pairs} pairs" + "".join(f"\n  {a} ~ {b}" for a, b in report.takes_flagged)
    )

    out.append("")
    out.append("REAL recordings (camera clips of real people; actions as labelled in real_clips.toml)")
    tuning = frozenset(f"real:{c}" for c in split.tuning_clips)
    out.append(f"{'BPCER (judge + replay check)':<28} {'videos':>6} {'refused':>9} {'BPCER':>8}")
    for label, chosen, held_out in (
        ("  tuning clips", tuning, False),
        ("  held-out clips", tuning, True),
        ("  all", None, False),
    ):
        wrong, count = report.rate(GENUINE_KINDS, chosen, held_out)
        out.append(f"{label:<28} {count:>6} {wrong:>9} {_pct(wrong, count):>8}")
    threshold = policy.animation.min_surround_shift if policy.animation is not None else None
    flagged = {"tuning": [0, 0], "held-out": [0, 0]}
    for clip in clips:
        part = "tuning" if clip.name in split.tuning_clips else "held-out"
        figures = clip_figures.get(clip.name)
        shift = None if figures is None else figures.surround_shift
        flag = threshold is not None and shift is not None and shift < threshold
        flagged[part][0] += flag
        flagged[part][1] += 1
        judged = next((j for j in report.judged if j.key == f"real-{clip.name}"), None)
        outcome = "not judged (no action in the clip)" if judged is None else judged.outcome
        asked = ",".join(clip.actions) or "-"
        out.append(
            f"  {clip.name:<4} {part:<8} asked {asked:<32} -> {outcome:<34} surround_shift {shift}"
            + (" ANIMATED" if flag else "")
        )
    total = [flagged["tuning"][i] + flagged["held-out"][i] for i in (0, 1)]
    out.append(
        f"Animated-photo check alone on the real recordings (threshold {threshold}): flagged "
        f"{flagged['tuning'][0]} of {flagged['tuning'][1]} tuning clips, {flagged['held-out'][0]} of "
        f"{flagged['held-out'][1]} held-out clips, {total[0]} of {total[1]} in all"
    )
    unusable = [j for j in report.judged if j.verdict is None]
    for judged in unusable:
        out.append(f"not judged: {judged.key}: {judged.outcome}")
    failures = report.failures()
    out.append(f"Failures ({len(failures)}):" if failures else "Failures: none")
    for judged in failures:
        asked = ",".join(judged.asked)
        out.append(f"  {judged.key:<40} asked {asked:<32} -> {judged.outcome}")
    return out


def _pct(wrong: int, count: int) -> str:
    return "-" if count == 0 else f"{100 * wrong / count:.1f} %"


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
