"""Console commands for liveness: `check video`, `eval liveness` and `bench liveness`.

Thin: the work is in verification.liveness (the judge) and, for the evaluation and the
benchmark, in the liveness lab (liveness_lab/: attack renderers, never installed, found in a
checkout by app.lab). They run in this process, for staff and developers; the texts are for
them, not for pensioners. No command renders a video note: that is the lab's
`python -m liveness_lab sample`, for evaluation only.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from app.commands._groups import group
from app.commands.faces import (
    EngineChoiceError,
    add_engine_arguments,
    configured_thresholds,
    default_faces_dir,
    engine_specs,
)
from app.lab import LabMissing, lab_module
from app.shared_data import real_clips_dir, real_clips_missing

# Short explanations of reason codes for people at a console (the bot has its own texts).
_EXPLAIN = {
    "live_match": "a live person did what was asked, and is the person on file",
    "not_a_video": "the file is not a video",
    "corrupt": "the video is damaged or cut short",
    "audio_only": "the file has sound but no picture",
    "too_short": "the video is too short to show the actions",
    "too_long": "the video is too long: please record a short one (under 30 s) doing only the actions",
    "too_large": "the file is too large",
    "too_many_pixels": "the video's picture is too large",
    "no_face": "no face was seen in most of the video (come closer, face the camera, more light)",
    "several_faces": "more than one person is in the picture: only the retiree should be in it",
    "face_changed": "the face is not the same person all through the video",
    "still_image": "the face never moves by itself: a photo held up to the camera?",
    "screen_or_print": "a screen's or a print's fine pattern shows over the face",
    "animated_photo": "the face never moves against its surroundings: one photo animated into the actions?",
    "action_missing": "an action that was asked for was not seen",
    "wrong_order": "the actions were done, but not in the order asked",
    "no_match": "the person does not match the reference photo",
}
# Input files that cannot be judged at all (exit 2), as opposed to a judgement (exit 1).
_MEDIA_REASONS = {
    "not_a_video",
    "corrupt",
    "audio_only",
    "too_short",
    "too_long",
    "too_large",
    "too_many_pixels",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    check = group(subparsers, "check", "check inputs (e.g. a selfie against a reference photo)")
    video = check.add_parser("video", help="judge a liveness video note against a reference photo")
    video.add_argument("--reference", required=True, type=Path, help="reference photo (the one on file)")
    video.add_argument("--video", required=True, type=Path, help="the video note (MP4)")
    video.add_argument(
        "--actions",
        required=True,
        help="the challenge, in order, e.g. blink,turn_left (blink, turn_left, turn_right, open_mouth)",
    )
    video.add_argument(
        "--unmirrored", action="store_true", help="the video is stored unmirrored (turns swap sides)"
    )
    video.add_argument("--json", action="store_true", help="print exactly one JSON object")
    add_engine_arguments(video)
    video.set_defaults(handler=check_video)

    evaluate = group(subparsers, "eval", "evaluate components on labelled data")
    liveness = evaluate.add_parser(
        "liveness",
        help="APCER of the liveness check on rendered attacks, BPCER on real recordings "
        "(needs a checkout: liveness_lab/)",
    )
    liveness.add_argument("--faces-dir", type=Path, default=None, help=_FACES_HELP)
    liveness.add_argument(
        "--real-dir",
        type=Path,
        default=None,
        help="real recordings, labelled in verification/liveness/data/real_clips.toml "
        "(default: ../liveness/real beside --faces-dir if given, else $PENSION_BOT_LIVENESS_DIR/real "
        "or ../shared/liveness/real beside the repo)",
    )
    liveness.add_argument(
        "--identities", type=int, default=None, help="identities to animate (default: every usable one)"
    )
    liveness.add_argument("--size", type=int, default=480, help="video side in pixels (default 480)")
    liveness.add_argument("--fps", type=int, default=24, help="frames per second (default 24)")
    liveness.set_defaults(handler=eval_liveness)

    bench = group(subparsers, "bench", "benchmarks")
    timing = bench.add_parser(
        "liveness",
        help="time and memory to judge a 10-s 640x640 video note on one core "
        "(needs a checkout: liveness_lab/)",
    )
    timing.add_argument("--faces-dir", type=Path, default=None, help=_FACES_HELP)
    timing.add_argument("--repeats", type=int, default=5, help="timed runs after one warm-up (default 5)")
    timing.set_defaults(handler=bench_liveness)


_FACES_HELP = "faces folder (default $PENSION_BOT_FACES_DIR or ../shared/faces beside the repo)"


# --- check video ---


def check_video(args: argparse.Namespace) -> int:
    from verification.faces.engines import build_engine
    from verification.faces.pipeline import VerifyPolicy, encode_reference
    from verification.faces.thresholds import policy_for
    from verification.liveness.actions import parse_actions
    from verification.liveness.judge import LivenessPolicy, judge_video

    try:
        actions = parse_actions(args.actions)
        [(spec, _)] = engine_specs(args)[:1]
    except (ValueError, EngineChoiceError) as error:
        return _unusable(args, "arguments", f"{error}.")
    try:
        reference_bytes = args.reference.read_bytes()
        video_bytes = args.video.read_bytes()
    except OSError as error:
        return _unusable(args, "unreadable", f"Cannot read {error.filename}: {error.strerror}.")
    calibrated = configured_thresholds(spec)
    engine = build_engine(spec)
    match_policy = policy_for(calibrated) if calibrated else VerifyPolicy(engine=engine.name)
    reference = encode_reference(reference_bytes, engine=engine)
    if reference.template is None:
        reason = str(reference.reason)
        return _unusable(
            args,
            reason,
            f"The reference photo {args.reference} cannot be used: {reason.replace('_', ' ')}. "
            "Please choose another reference photo (one face, clearly visible).",
        )
    policy = replace(LivenessPolicy(), mirrored=not args.unmirrored)
    verdict = judge_video(
        video_bytes, actions, [reference.template], policy=policy, match_policy=match_policy, engine=engine
    )
    # Two outcomes at the console: pass, or fail (a "retry" fails too; its reason says what
    # the person should put right).
    shown = "pass" if verdict.verdict == "pass" else "fail"
    code = 0 if shown == "pass" else 2 if verdict.reason in _MEDIA_REASONS else 1
    if args.json:
        print(json.dumps(verdict.to_dict() | {"verdict": shown, "retry": verdict.verdict == "retry"}))
        return code
    retry = " (retry: the person can put it right)" if verdict.verdict == "retry" else ""
    print(f"verdict:   {shown}{retry}")
    print(f"reason:    {verdict.reason} - {_EXPLAIN.get(verdict.reason, verdict.reason)}")
    for finding in verdict.actions:
        when = "-" if finding.at_s is None else f"{finding.at_s:.2f} s"
        print(
            f"  {finding.action:<11} seen={'yes' if finding.seen else 'no':<3} at {when:<8} "
            f"figure {finding.figure}  {finding.note}"
        )
    if verdict.distance is not None:
        print(f"distance:  {verdict.distance:.4f}; frames matching on their own: {verdict.match_frames}")
    print("figures:   " + json.dumps(verdict.figures))
    print(f"time:      {verdict.timings['total_s']:.3f} s (decode to verdict)")
    return code


def _unusable(args: argparse.Namespace, reason: str, message: str) -> int:
    print(message, file=sys.stderr)
    if args.json:
        print(
            json.dumps({"verdict": "fail", "reason": reason, "actions": [], "figures": {}, "error": message})
        )
    return 2


# --- eval liveness ---


def eval_liveness(args: argparse.Namespace) -> int:
    from itertools import chain

    from verification.faces.engines import EngineSpec
    from verification.faces.pipeline import default_engine
    from verification.faces.thresholds import policy_for
    from verification.liveness.real_clips import real_clips

    try:
        evaluation = lab_module("evaluation")
        synthesis = lab_module("synthesis")
    except LabMissing as error:
        print(f"eval liveness: {error}.", file=sys.stderr)
        return 2
    root: Path = args.faces_dir or default_faces_dir()
    if not (root / "manifest.csv").is_file():
        print(f"No faces folder with manifest.csv at {root} (use --faces-dir).", file=sys.stderr)
        return 2
    real_dir: Path = args.real_dir or (
        args.faces_dir.parent / "liveness" / "real" if args.faces_dir else real_clips_dir()
    )
    clips = real_clips(real_dir)
    if not clips:
        print(f"BPCER is not measured: {real_clips_missing(real_dir)}.", file=sys.stderr)

    def progress(judged) -> None:
        print(f"{judged.key:<40} {judged.outcome}", file=sys.stderr, flush=True)

    engine = default_engine()
    # Decided as the bot decides: the shipped thresholds, S-norm against the other people.
    match_policy = policy_for(configured_thresholds(EngineSpec()))
    videos = synthesis.evaluation_set(root, identities=args.identities, size=args.size, fps=args.fps)
    report = evaluation.evaluate(
        chain(
            videos, evaluation.real_recordings(clips), evaluation.held_up_real_frames(clips, size=args.size)
        ),
        engine=engine,
        match_policy=match_policy,
        cohort=evaluation.cohort_templates(root, engine),
        progress=progress,
    )
    figures = {clip.name: evaluation.animation_figures(clip.path.read_bytes()) for clip in clips}
    print(
        f"Liveness on video notes: attacks rendered from {root} "
        f"({args.size} x {args.size} px at {args.fps} fps)"
    )
    print(f"and real recordings from {real_dir}; faces scored with S-norm against the others")
    for line in evaluation.report_lines(report, evaluation.animation_split(), clips, figures):
        print(line)
    return 0


# --- bench liveness ---


def bench_liveness(args: argparse.Namespace) -> int:
    try:
        benchmark = lab_module("benchmark")
    except LabMissing as error:
        print(f"bench liveness: {error}.", file=sys.stderr)
        return 2
    root: Path = args.faces_dir or default_faces_dir()
    if not (root / "people").is_dir():
        print(f"No faces folder at {root} (use --faces-dir).", file=sys.stderr)
        return 2
    if args.repeats < 1:
        print("--repeats must be at least 1.", file=sys.stderr)
        return 2
    from verification.faces.pipeline import default_engine

    print(
        "Rendering a 10-s 640x640 take of a photo doing 3 actions (about a minute)...",
        file=sys.stderr,
        flush=True,
    )
    note = benchmark.bench_note_elsewhere(root)
    with benchmark.one_core() as core:
        result = benchmark.run_bench(note, default_engine(), args.repeats)
    verdict = result.verdict
    print(
        f"Judging one video note, decode to verdict, in-process on one core ({core}; BLAS/OpenMP "
        "asked for 1 thread)"
    )
    print(
        f"note: {note.size}x{note.size}, {note.seconds:.0f} s at 30 fps, H.264, "
        f"{len(note.data) / 1024:.0f} KiB; "
        f"animated from {note.photo.parent.name}/{note.photo.name}; actions {','.join(note.actions)}"
    )
    print(
        f"verdict: {verdict.verdict} {verdict.reason}"
        + (
            " (the note is an animated photo: refused after every stage but the final comparison)"
            if verdict.reason == "animated_photo"
            else ""
        )
    )
    print(
        f"time over {len(result.runs)} runs after a warm-up: median {result.median:.3f} s, "
        f"max {result.worst:.3f} s (target <= {benchmark.TARGET_SECONDS:.1f} s: "
        f"{'met' if result.worst <= benchmark.TARGET_SECONDS else 'NOT met'})"
    )
    print("stages of the last run: " + ", ".join(f"{k} {v:.3f}" for k, v in verdict.timings.items()))
    print(
        f"memory: process peak RSS {result.max_rss_mb:.0f} MiB ({result.rss_before_mb:.0f} MiB before the "
        "first judgement: interpreter and dlib models); one judgement's own peak by tracemalloc "
        f"(Python objects and numpy arrays, not FFmpeg's or dlib's buffers) {result.traced_peak_mb:.1f} MiB"
    )
    return 0
