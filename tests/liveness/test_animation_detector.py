"""The animated-photo check (verification/liveness/animation.py, issue 13): camera recordings of
real people pass it, and one photo of a person the check was never tuned on, animated into the
actions asked (as the liveness lab's renderer does), is refused, though every other check passes it.

Needs ../shared/faces and ../shared/liveness/real beside the repository; each test skips with
the reason where its folder is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from liveness_lab.evaluation import animation_figures, animation_split
from tests.conftest import faces_dir
from tests.real_clips import clip
from verification.liveness import animation
from verification.liveness.actions import Action
from verification.liveness.judge import LivenessPolicy, judge_video

# cn_119_cai_gang: held out of the check's tuning; one photo animated, another the reference.
HELD_OUT = ("cn_119_cai_gang", "people/cn_119_cai_gang/2.jpg", "people/cn_119_cai_gang/1.jpg")
# No blink asked: the lab's rendered blink of this photo sits on the blink threshold (0.59-0.72
# against 0.7 over encodes, and x264's output differs from run to run), which made the test
# about the renderer rather than the check (CI once failed on it).
ASKED = (Action.TURN_LEFT, Action.OPEN_MOUTH)
THRESHOLD = animation.AnimationConfig().min_surround_shift


@pytest.fixture(scope="module")
def animated_note() -> bytes:
    """One photo of the held-out person animated into ASKED (`python -m liveness_lab sample`)."""
    from liveness_lab.synthesis import encode_mp4, load_face_photo, render_genuine

    photo = load_face_photo(faces_dir() / HELD_OUT[1], size=480)
    return encode_mp4(render_genuine(photo, ASKED, size=480, fps=24, seed=0), fps=24)


def test_a_real_recording_passes_check_video(tmp_path: Path, capsys) -> None:
    d18 = clip("d18")  # a tuning clip: mouth open, then a blink
    reference = tmp_path / "reference.jpg"
    reference.write_bytes(d18.reference_photo())
    asked = ",".join(d18.actions)
    code = main(
        [
            "check",
            "video",
            "--reference",
            str(reference),
            "--video",
            str(d18.path),
            "--actions",
            asked,
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert (code, result["verdict"], result["reason"]) == (0, "pass", "live_match")
    assert result["figures"]["surround_shift"] >= THRESHOLD


def test_a_real_person_sitting_still_is_not_taken_for_an_animation() -> None:
    # Held out of the tuning: a man in front of a fixed camera who hardly moves, the closest
    # real recording to an animated photo measured (0.011 against the threshold 0.0077).
    d19 = clip("d19")
    assert d19.name in animation_split().held_out_clips
    figures = animation_figures(d19.path.read_bytes())
    assert figures is not None and figures.frames >= animation.AnimationConfig().min_frames
    assert not animation.looks_animated(figures)


def test_an_animated_photo_of_a_held_out_person_is_refused(animated_note: bytes) -> None:
    from verification.faces.pipeline import encode_reference

    assert HELD_OUT[0] not in animation_split().tuning_identities
    reference = encode_reference((faces_dir() / HELD_OUT[2]).read_bytes()).template
    verdict = judge_video(animated_note, ASKED, [reference])
    assert (verdict.verdict, verdict.reason) == ("fail", "animated_photo")
    assert verdict.figures["surround_shift"] < THRESHOLD
    assert all(f.seen and f.note == "in_order" for f in verdict.actions)
    # Nothing else stops it: without this check, the same note passes as the person on file.
    unchecked = judge_video(animated_note, ASKED, [reference], policy=LivenessPolicy(animation=None))
    assert (unchecked.verdict, unchecked.reason) == ("pass", "live_match")


def test_the_check_abstains_without_resting_frames_to_compare() -> None:
    assert not animation.looks_animated(animation.AnimationFigures(None, 0, None))
    assert animation.looks_animated(animation.AnimationFigures(THRESHOLD / 2, 12, None))


def test_the_refusal_is_explained_in_both_languages() -> None:
    from content.i18n import Translator

    for language in ("zh_Hans", "en"):
        text = Translator(language)("live.fail.animated_photo", tries=2)
        assert "2" in text and "live.fail" not in text


def test_the_evaluation_reports_animated_photos_as_attacks_and_real_recordings_apart() -> None:
    from liveness_lab.evaluation import Judged, Report, report_lines
    from verification.liveness.fingerprints import Recording
    from verification.liveness.judge import VideoVerdict

    def verdict(kind: str, reason: str) -> VideoVerdict:
        return VideoVerdict(kind, reason, (), None, 0, {}, Recording((), ()), reason, {"total_s": 1.0})

    report = Report(
        [
            Judged(
                "genuine-00-x", "genuine", HELD_OUT[0], ("blink",), verdict("fail", "animated_photo"), None
            ),
            Judged(
                "genuine-01-y", "genuine", "cn_001_an_hu", ("blink",), verdict("pass", "live_match"), None
            ),
            Judged("real-d18", "real_recording", "real:d18", ("blink",), verdict("pass", "live_match"), None),
            Judged("real-d19", "real_recording", "real:d19", ("blink",), verdict("fail", "no_match"), None),
        ]
    )
    assert report.rate(("genuine",)) == (1, 2)  # an animated take that passes is an attack accepted
    assert report.rate(("real_recording",)) == (1, 2)  # a real recording refused
    text = "\n".join(report_lines(report, animation_split()))
    assert "animated_photo, held-out ids      1         0    0.0 %" in text
    assert "  tuning ids                      1         1  100.0 %" in text
    assert "  tuning clips                    1         0    0.0 %" in text
    assert "  held-out clips                  1         1  100.0 %" in text
    assert "SYNTHETIC" in text and "REAL recordings" in text
