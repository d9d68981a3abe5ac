"""A video note + the challenge + the retiree's references -> a liveness verdict.

Plain, synchronous, CPU-bound (~1-2 s for a 10-s note on one core): call it from a face
worker (`verification.faces.pool.FaceWorkerPool.judge_video`) or a console command.

The checks, in the order their reasons win:
  media (retry) -> no_face / several_faces (retry) -> face_changed / still_image /
  screen_or_print / animated_photo (fail) -> action_missing / wrong_order (fail) -> no_match
  (fail) -> pass.
A replay of an earlier note is not judged here: the caller compares `recording` and
`evidence_sha256` with earlier submissions (`fingerprints.same_recording`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from itertools import combinations
from typing import Any

import numpy as np

from verification.faces.engine import FaceEngine, is_match
from verification.faces.pipeline import (
    ReferenceTemplate,
    Verdict,
    VerifyPolicy,
    default_engine,
    match_vectors,
    usable_references,
)
from verification.liveness import animation, cues, events
from verification.liveness.actions import MIRRORED, Action
from verification.liveness.animation import AnimationConfig
from verification.liveness.fingerprints import Recording, recording_of
from verification.liveness.signals import FrameSignals, TrackerConfig, detected_face, redetect, track
from verification.liveness.video import DecodedVideo, VideoLimits, VideoRejected, decode_video


class LivenessReason(StrEnum):
    LIVE_MATCH = "live_match"  # pass
    NO_FACE = "no_face"  # retry: no face, or lost in most frames
    SEVERAL_FACES = "several_faces"  # retry: someone else is in the picture too
    FACE_CHANGED = "face_changed"  # fail: not the same person all through
    STILL_IMAGE = "still_image"  # fail: the face never moves within itself (a photo held up)
    SCREEN_OR_PRINT = "screen_or_print"  # fail: a screen's or print's fine pattern over the face
    ANIMATED_PHOTO = "animated_photo"  # fail: the face never moves against its surroundings
    ACTION_MISSING = "action_missing"  # fail: an asked action was never done
    WRONG_ORDER = "wrong_order"  # fail: all done, not in the asked order
    NO_MATCH = "no_match"  # fail: a live person, but not the retiree


@dataclass(frozen=True)
class LivenessPolicy:
    limits: VideoLimits = field(default_factory=VideoLimits)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    events: events.EventThresholds = field(default_factory=events.EventThresholds)
    # See actions.MIRRORED: which way a turn goes in the stored picture.
    mirrored: bool = MIRRORED
    # At least this share of sampled frames must show the face (else no_face).
    min_face_share: float = 0.6
    # Another face at least this wide relative to the retiree's counts as a second person
    # (a face in a poster far behind is smaller); several_faces when it shows on at least
    # `several_faces_share` of the detector's runs, and on two runs at least (one HOG false
    # alarm is no person).
    several_faces_size: float = 0.5
    several_faces_share: float = 0.25
    # still_image under this (cues.nonrigid_motion, in inter-ocular distances).
    min_nonrigid_motion: float = 0.03
    # screen_or_print when cues.periodic_peak exceeds this on at least `pattern_frames` of
    # the face crops looked at (about one a second).
    max_periodic_peak: float = 3.0
    pattern_frames: int = 2
    # animated_photo: see verification.liveness.animation (one photo warped into the actions).
    # None switches the check off: only for generated takes (which ARE animated photos) used
    # to test the other checks; never in the bot.
    animation: AnimationConfig | None = field(default_factory=AnimationConfig)
    # Frames embedded for identity: spread over the note, near-frontal (|yaw - rest| under
    # `frontal_yaw`), eyes open, found afresh by the detector (signals.redetect); each must
    # match every other (same person throughout), and at least `min_match_frames` of them
    # (all, if fewer were embedded) must match the references on their own, besides their
    # fused vector. Four: each costs ~0.2 s of the 2-s budget for a 10-s note on one core,
    # and three matching ones are asked for.
    embed_frames: int = 4
    frontal_yaw: float = 0.15
    min_match_frames: int = 3


@dataclass(frozen=True)
class ActionFinding:
    action: Action
    seen: bool  # an event of this kind is in the note (in order or not)
    at_s: float | None  # when: the matched event's, else the first one's
    figure: float | None  # blink: lowest EAR / rest; mouth: MAR rise; turn: yaw shift
    note: str  # in_order, out_of_order, not_seen


@dataclass(frozen=True)
class VideoVerdict:
    verdict: Verdict
    reason: str
    actions: tuple[ActionFinding, ...]
    distance: float | None  # fused raw score against the references; None when not compared
    match_frames: int  # frames that matched the references on their own
    figures: dict[str, Any]
    recording: Recording  # per sampled frame, for the replay check (fingerprints.same_recording)
    evidence_sha256: str
    timings: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: reasons and actions as plain strings; the recording's hashes as hex (a
        64-bit integer loses digits in JavaScript's numbers)."""
        data = asdict(self)
        data["actions"] = [asdict(finding) | {"action": str(finding.action)} for finding in self.actions]
        data["recording"] = self.recording.to_json()
        return data


def judge_video(
    data: bytes,
    actions: Sequence[Action],
    references: Sequence[ReferenceTemplate],
    *,
    policy: LivenessPolicy | None = None,
    match_policy: VerifyPolicy | None = None,
    engine: FaceEngine | None = None,
    reference_weights: Sequence[float] | None = None,
    cohort: np.ndarray | Sequence[ReferenceTemplate] | None = None,
) -> VideoVerdict:
    """Judge one video note against a challenge (`actions`, in the asked order) and the
    retiree's references (scored as `verification.faces.pipeline.verify` scores them)."""
    policy = policy or LivenessPolicy()
    match_policy = match_policy or VerifyPolicy()
    engine = engine or default_engine()
    if not actions:
        raise ValueError("a challenge asks for at least one action")
    usable = usable_references(references, engine, match_policy, reference_weights)
    run = _Run(hashlib.sha256(data).hexdigest(), tuple(Action(a) for a in actions))

    try:
        video = decode_video(data, policy.limits)
    except VideoRejected as rejected:
        run.figures["detail"] = rejected.detail
        return run.verdict("retry", rejected.reason)
    run.figures |= {
        "duration_s": video.duration,
        "fps": round(video.fps, 2),
        "width": video.size[0],
        "height": video.size[1],
        "sampled_frames": len(video.frames),
    }
    run.recording = recording_of(video.frames)
    run.lap("decode_s")

    signals = track(video.frames, video.times, policy.tracker)
    run.lap("track_s")
    presence = _presence(signals, policy, run.figures)
    if presence is not None:
        return run.verdict("retry", presence)

    rest = events.baseline(signals)
    run.figures |= {
        "rest_ear": round(rest.ear, 3),
        "rest_mar": round(rest.mar, 3),
        "rest_yaw": round(rest.yaw, 3),
    }
    found = events.find_events(signals, rest, policy.events, policy.mirrored)
    match = events.match_in_order(run.asked, found)
    run.findings = _findings(run.asked, found, match, signals, rest, policy.mirrored)
    run.figures["events"] = [f"{e.action}@{e.peak_s:.2f}" for e in found]
    run.lap("actions_s")

    motion = cues.nonrigid_motion(signals)
    peaks = _periodic_peaks(video, signals)
    run.figures |= {"nonrigid_motion": motion, "periodic_peaks": peaks}
    run.lap("cues_s")
    animated = None
    if policy.animation is not None:
        animated = animation.measure(video.frames, signals, rest, policy.events, policy.animation)
        run.figures |= animated.as_dict()
        run.lap("animation_s")

    chosen = _identity_frames(signals, rest, policy)
    faces = _found_afresh(video.frames, signals, chosen, policy)
    vectors = [
        engine.embed(video.frames[n], detected_face(face)) for n, face in zip(chosen, faces, strict=True)
    ]
    run.figures["embedded_at_s"] = [face.time for face in faces]
    pairs = [engine.compare(a, b) for a, b in combinations(vectors, 2)]
    worst = max(pairs, key=lambda s: _farness(s, engine), default=None)
    run.figures["worst_pair"] = None if worst is None else round(worst, 4)
    run.lap("embed_s")

    if any(not is_match(score, match_policy.match_threshold, engine.higher_is_closer) for score in pairs):
        return run.verdict("fail", LivenessReason.FACE_CHANGED)
    if motion is not None and motion < policy.min_nonrigid_motion:
        return run.verdict("fail", LivenessReason.STILL_IMAGE)
    if sum(peak > policy.max_periodic_peak for peak in peaks) >= policy.pattern_frames:
        return run.verdict("fail", LivenessReason.SCREEN_OR_PRINT)
    if animated is not None and animation.looks_animated(animated, policy.animation):
        return run.verdict("fail", LivenessReason.ANIMATED_PHOTO)
    if not match.complete:
        seen_all = all(finding.seen for finding in run.findings)
        return run.verdict("fail", LivenessReason.WRONG_ORDER if seen_all else LivenessReason.ACTION_MISSING)

    fused = match_vectors(usable, vectors, [1.0] * len(vectors), match_policy, engine, cohort)
    each = [match_vectors(usable, [v], [1.0], match_policy, engine, cohort).matched for v in vectors]
    run.distance, run.match_frames = round(fused.raw, 4), sum(each)
    run.figures["scores"] = fused.scores
    run.lap("compare_s")
    if fused.matched and run.match_frames >= min(policy.min_match_frames, len(vectors)):
        return run.verdict("pass", LivenessReason.LIVE_MATCH)
    return run.verdict("fail", LivenessReason.NO_MATCH)


class _Run:
    """What one judgement has gathered so far, and its clock."""

    def __init__(self, sha: str, asked: tuple[Action, ...]) -> None:
        self.sha, self.asked = sha, asked
        self.figures: dict[str, Any] = {}
        self.recording = Recording((), ())
        self.findings: tuple[ActionFinding, ...] = tuple(
            ActionFinding(a, False, None, None, "not_judged") for a in asked
        )
        self.distance: float | None = None
        self.match_frames = 0
        self._start = self._last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 4)
        self._last = now

    def verdict(self, kind: Verdict, reason: str) -> VideoVerdict:
        self.timings["total_s"] = round(time.perf_counter() - self._start, 4)
        return VideoVerdict(
            kind,
            str(reason),
            self.findings,
            self.distance,
            self.match_frames,
            self.figures,
            self.recording,
            self.sha,
            dict(self.timings),
        )


def _presence(signals: Sequence[FrameSignals], policy: LivenessPolicy, figures: dict[str, Any]) -> str | None:
    """no_face or several_faces, or None when one face is there most of the time."""
    share = sum(s.has_face for s in signals) / len(signals)
    runs = [s.faces for s in signals if s.faces is not None]
    crowded = sum(_comparable_faces(faces, policy.several_faces_size) >= 2 for faces in runs)
    figures |= {"face_share": round(share, 3), "detector_runs": len(runs), "runs_with_two_faces": crowded}
    if crowded >= 2 and crowded >= policy.several_faces_share * len(runs):
        return LivenessReason.SEVERAL_FACES
    if share < policy.min_face_share:
        return LivenessReason.NO_FACE
    return None


def _comparable_faces(faces: Sequence[Any], size: float) -> int:
    if not faces:
        return 0
    widest = max(face.width for face in faces)
    return sum(face.width >= size * widest for face in faces)


def _findings(
    asked: Sequence[Action],
    found: Sequence[events.Event],
    match: events.Match,
    signals: Sequence[FrameSignals],
    rest: events.Baseline,
    mirrored: bool,
) -> tuple[ActionFinding, ...]:
    findings = []
    for action, event in zip(asked, match.matched, strict=True):
        if event is not None:
            findings.append(ActionFinding(action, True, event.peak_s, event.figure, "in_order"))
            continue
        first = next((e for e in found if e.action is action), None)
        if first is not None:
            findings.append(ActionFinding(action, True, first.peak_s, first.figure, "out_of_order"))
        else:
            figure = events.strongest(action, signals, rest, mirrored)
            findings.append(ActionFinding(action, False, None, figure, "not_seen"))
    return tuple(findings)


def _periodic_peaks(video: DecodedVideo, signals: Sequence[FrameSignals]) -> list[float]:
    """cues.periodic_peak of the face in each frame kept at the stored size."""
    peaks = []
    scale_x = video.size[0] / video.working_size[0]
    scale_y = video.size[1] / video.working_size[1]
    for index, luma in video.luma:
        box = signals[index].box
        if box is None or luma.shape[:2] != (video.size[1], video.size[0]):
            continue  # no face, or a rotated video (its stored size is not its shown size)
        scaled = (
            round(box.top * scale_y),
            round(box.right * scale_x),
            round(box.bottom * scale_y),
            round(box.left * scale_x),
        )
        crop = cues.face_crop(luma, scaled)
        if crop is not None:
            peaks.append(cues.periodic_peak(crop))
    return peaks


def _identity_frames(
    signals: Sequence[FrameSignals], rest: events.Baseline, policy: LivenessPolicy
) -> list[int]:
    """Indices of up to `embed_frames` frames spread over the note: the resting frames (near
    frontal, eyes open, mouth closed: the face of a reference photo), or every faced frame
    when none rests, cut into `embed_frames` runs in time order, the most frontal of each."""
    faced = [n for n, s in enumerate(signals) if s.has_face]

    # Only faced frames are asked: they have landmarks, so their yaw, ear and mar are set.
    def turned(n: int) -> float:
        yaw = signals[n].yaw
        assert yaw is not None
        return abs(yaw - rest.yaw)

    def rests(n: int) -> bool:
        ear, mar = signals[n].ear, signals[n].mar
        assert ear is not None and mar is not None
        return (
            turned(n) <= policy.frontal_yaw
            and ear >= policy.events.blink_recover * rest.ear
            and mar - rest.mar < policy.events.mouth_rise / 2
        )

    resting = [n for n in faced if rests(n)] or faced
    chosen = []
    for part in np.array_split(np.asarray(resting), min(policy.embed_frames, len(resting))):
        if part.size:
            chosen.append(int(min(part, key=turned)))
    return chosen


def _found_afresh(
    frames: Sequence[np.ndarray],
    signals: Sequence[FrameSignals],
    chosen: Sequence[int],
    policy: LivenessPolicy,
) -> list[FrameSignals]:
    """The chosen frames' faces as the detector finds them again (`signals.redetect`); as
    they were followed where it finds none (so no frame drops out of the identity checks)."""
    return [redetect(frames[n], signals[n], policy.tracker) or signals[n] for n in chosen]


def _farness(score: float, engine: FaceEngine) -> float:
    """A score turned so that larger is less alike, whatever the engine's direction."""
    return -score if engine.higher_is_closer else score
