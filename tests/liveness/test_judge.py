"""judge_video on generated takes: a take doing the actions asked passes every check but the
animated-photo one (it IS a photo animated into the actions, so it is judged here with that
check off, except where that check is the subject), attacks and bad notes do not. Real
recordings against the animated-photo check: test_animation_detector.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verification.liveness.actions import Action
from verification.liveness.judge import LivenessPolicy, VideoVerdict, judge_video
from verification.liveness.video import VideoLimits

from .conftest import FPS, OTHER, SIZE, Take

# The other checks, on generated takes: without the animated-photo check, which refuses them all.
OTHER_CHECKS = LivenessPolicy(animation=None)


@pytest.fixture(scope="module")
def genuine_verdict(genuine: Take, reference) -> VideoVerdict:
    return judge_video(genuine.data, genuine.asked, [reference], policy=OTHER_CHECKS)


def test_generated_take_is_refused_as_an_animated_photo(genuine: Take, reference) -> None:
    verdict = judge_video(genuine.data, genuine.asked, [reference])
    assert (verdict.verdict, verdict.reason) == ("fail", "animated_photo")
    assert verdict.figures["surround_shift"] < LivenessPolicy().animation.min_surround_shift
    assert all(f.seen and f.note == "in_order" for f in verdict.actions)  # it did what was asked


def test_genuine_take_passes(genuine_verdict: VideoVerdict, genuine: Take) -> None:
    assert (genuine_verdict.verdict, genuine_verdict.reason) == ("pass", "live_match")
    assert [f.action for f in genuine_verdict.actions] == list(genuine.asked)
    assert all(f.seen and f.note == "in_order" for f in genuine_verdict.actions)
    times = [f.at_s for f in genuine_verdict.actions]
    assert times == sorted(times)
    assert genuine_verdict.match_frames >= 3 and genuine_verdict.distance is not None
    assert len(genuine_verdict.recording.hashes) == genuine_verdict.figures["sampled_frames"]
    assert len(genuine_verdict.recording.grids) == genuine_verdict.figures["sampled_frames"]
    json.dumps(genuine_verdict.to_dict())  # JSON-ready as it is


def test_same_take_asked_in_another_order_is_wrong_order(genuine: Take, reference) -> None:
    asked = tuple(reversed(genuine.asked))
    verdict = judge_video(genuine.data, asked, [reference], policy=OTHER_CHECKS)
    assert (verdict.verdict, verdict.reason) == ("fail", "wrong_order")
    assert all(f.seen for f in verdict.actions)


def test_action_never_done_is_missing(genuine: Take, reference) -> None:
    verdict = judge_video(
        genuine.data, (Action.TURN_LEFT, Action.TURN_RIGHT), [reference], policy=OTHER_CHECKS
    )
    assert (verdict.verdict, verdict.reason) == ("fail", "action_missing")
    right = verdict.actions[1]
    assert right.action is Action.TURN_RIGHT and not right.seen and right.note == "not_seen"


def test_unmirrored_video_swaps_the_turns(genuine: Take, reference) -> None:
    policy = LivenessPolicy(mirrored=False, animation=None)
    verdict = judge_video(genuine.data, genuine.asked, [reference], policy=policy)
    assert verdict.reason == "action_missing"  # its turn_left now reads as a right turn


def test_someone_else_is_no_match(genuine: Take, faces: Path) -> None:
    from verification.faces.pipeline import encode_reference

    other = encode_reference((faces / OTHER).read_bytes()).template
    verdict = judge_video(genuine.data, genuine.asked, [other], policy=OTHER_CHECKS)
    assert (verdict.verdict, verdict.reason) == ("fail", "no_match")


def test_still_photo_attack_fails(still_photo: bytes, reference) -> None:
    verdict = judge_video(still_photo, (Action.BLINK, Action.TURN_RIGHT), [reference])
    assert verdict.verdict == "fail"
    assert verdict.reason == "still_image"
    assert verdict.figures["nonrigid_motion"] < LivenessPolicy().min_nonrigid_motion


def test_two_people_is_several_faces(faces: Path, photo, reference) -> None:
    import numpy as np

    from liveness_lab.synthesis import encode_mp4, load_face_photo, render_genuine

    # Side by side: the middle half of a take of each person (faces of the same size).
    second = load_face_photo(faces / OTHER, size=SIZE)
    asked = (Action.OPEN_MOUTH,)
    takes = [render_genuine(p, asked, seconds=3.0, fps=FPS, size=SIZE, seed=5) for p in (photo, second)]
    middle = slice(SIZE // 4, SIZE // 4 + SIZE // 2)
    frames = [np.hstack([a[:, middle], b[:, middle]]) for a, b in zip(*takes, strict=True)]
    verdict = judge_video(encode_mp4(frames, FPS), asked, [reference])
    assert (verdict.verdict, verdict.reason) == ("retry", "several_faces")


def test_the_real_clip_does_not_pass(faces: Path, reference) -> None:
    data = (faces / "video" / "short_hamilton_clip.mp4").read_bytes()
    verdict = judge_video(data, (Action.BLINK, Action.TURN_LEFT), [reference])
    assert verdict.verdict != "pass"
    # Its faces are far too small for a video note: most frames show none the tracker takes.
    assert verdict.reason == "no_face"


def test_media_problem_is_a_retry_with_its_reason(genuine: Take, reference) -> None:
    verdict = judge_video(b"not a video at all", genuine.asked, [reference])
    assert (verdict.verdict, verdict.reason) == ("retry", "not_a_video")
    policy = LivenessPolicy(limits=VideoLimits(max_seconds=2.0))
    verdict = judge_video(genuine.data, genuine.asked, [reference], policy=policy)
    assert (verdict.verdict, verdict.reason) == ("retry", "too_long")
    assert verdict.recording.hashes == () and verdict.evidence_sha256
