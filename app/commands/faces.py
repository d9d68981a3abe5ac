"""Console commands for the face pipeline: `check photo`, `eval faces` and `bench verify`.

They run the pipeline in this process (no worker pool): they are tools for staff and
developers, and the printed texts here are for them, not for pensioners.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import replace
from pathlib import Path

from app.commands._groups import group
from app.commands._help import deferred
from app.shared_data import faces_dir

# Short explanations of reason codes for people at a console (the bot has its own texts).
_EXPLAIN = {
    "not_an_image": "the file is not a picture",
    "unsupported_format": "the picture format is not supported (send JPEG, PNG or WebP)",
    "too_large_bytes": "the file is too large",
    "too_many_pixels": "the picture has too many pixels",
    "too_small": "the picture is too small",
    "animated": "the picture is animated",
    "truncated": "the file is cut short (incomplete)",
    "corrupt": "the picture is damaged",
    "no_face": "no face was found in it",
    "several_faces": "more than one face was found in it",
    "unreadable": "the file could not be read",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    check = group(subparsers, "check", "check inputs (e.g. a selfie against a reference photo)")
    photo = check.add_parser("photo", help="verify a selfie against a reference photo, as the bot would")
    photo.add_argument("--reference", required=True, type=Path, help="reference photo (the one on file)")
    photo.add_argument("--photo", required=True, type=Path, help="the selfie to check")
    deferred(
        photo.add_argument(
            "--threshold",
            type=float,
            default=None,
            help="match threshold (default: the engine's calibrated one; dlib ships %(shipped_threshold)s)",
        ),
        shipped_threshold=_shipped_threshold,
    )
    photo.add_argument("--json", action="store_true", help="print exactly one JSON object")
    add_engine_arguments(photo)
    photo.set_defaults(handler=check_photo)

    evaluate = group(subparsers, "eval", "evaluate components on labelled data")
    faces = evaluate.add_parser("faces", help="FNMR/FMR of the face matcher on a folder with manifest.csv")
    faces.add_argument(
        "--root",
        required=True,
        type=Path,
        help="folder with manifest.csv (columns path, identity; paths relative to it or absolute)",
    )
    faces.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="threshold to report (default: the engine's configured, calibrated one)",
    )
    faces.add_argument(
        "--subset-prefix",
        default="cn_,jp_,kr_",
        help="comma-separated identity prefixes of the subset also reported (default cn_,jp_,kr_:"
        " the East Asian identities of the shared faces folder); empty for none",
    )
    faces.add_argument(
        "--target-fmr",
        type=float,
        default=0.01,
        help="also print the most lenient threshold with FMR at most this (default 0.01)",
    )
    add_engine_arguments(faces)
    faces.add_argument(
        "--frames",
        type=int,
        default=1,
        help="probe with N simulated video-note frames of each photo, their vectors fused (default 1:"
        " the photo alone)",
    )
    faces.add_argument(
        "--references",
        type=int,
        default=2,
        help="references per claim in the held-out multi-reference figures (default 2)",
    )
    faces.add_argument(
        "--no-heldout",
        action="store_true",
        help="skip the held-out figures (S-norm, several references) on the subset",
    )
    faces.set_defaults(handler=eval_faces)

    bench = group(subparsers, "bench", "benchmarks")
    verify = bench.add_parser("verify", help="time per selfie: product pipeline vs plain face_recognition")
    verify.add_argument(
        "--faces",
        type=Path,
        default=None,
        help="faces folder (default $PENSION_BOT_FACES_DIR or ../shared/faces beside the repo)",
    )
    verify.add_argument("--repeats", type=int, default=3, help="runs per picture and size (default 3)")
    verify.add_argument("--photos", type=int, default=3, help="distinct people's photos per size (default 3)")
    verify.add_argument(
        "--sizes",
        default="240p,480p,1080p,1280px,12MP",
        help="comma-separated sizes (default 240p,480p,1080p,1280px,12MP)",
    )
    add_engine_arguments(verify, several=True)
    verify.set_defaults(handler=bench_verify)


def _shipped_threshold() -> float:
    from verification.faces.pipeline import DEFAULT_MATCH_THRESHOLD

    return DEFAULT_MATCH_THRESHOLD


def default_faces_dir() -> Path:
    return faces_dir()


# --- the engine a command runs ---


def add_engine_arguments(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    parser.add_argument(
        "--engine",
        default=None,
        help=("comma-separated engines, " if several else "")
        + "dlib or onnx (default: the FACE_ENGINE setting, dlib)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="ONNX model file (default: FACE_MODEL_PATH, else the benchmark model that "
        "`pension-bot fetch-benchmark-model` fetched, checked against its pinned SHA-256)",
    )
    parser.add_argument(
        "--jitters", type=int, default=None, help="dlib: re-encodings per face (default FACE_DLIB_JITTERS, 1)"
    )


class EngineChoiceError(RuntimeError):
    pass


def engine_specs(args: argparse.Namespace, settings=None):
    """[(EngineSpec, note)] for the --engine/--model/--jitters arguments and the settings."""
    from app.settings import Settings
    from verification.faces import benchmark_model
    from verification.faces.engines import EngineConfigError, EngineSpec

    settings = settings or Settings()
    kinds = [k.strip() for k in (args.engine or settings.face_engine).split(",") if k.strip()]
    specs = []
    for kind in kinds:
        note = ""
        model = None
        if kind == "onnx":
            model = args.model or settings.face_model_path
            if model is None or Path(model) == benchmark_model.benchmark_model_path():
                try:
                    model = benchmark_model.verified(model or benchmark_model.benchmark_model_path())
                except benchmark_model.BenchmarkModelError as error:
                    raise EngineChoiceError(str(error)) from error
                note = f"benchmark model {model.name} ({benchmark_model.LICENCE_NOTE})"
        jitters = args.jitters if args.jitters is not None else settings.face_dlib_jitters
        try:
            specs.append((EngineSpec(kind, model, jitters if kind == "dlib" else 1), note))
        except EngineConfigError as error:
            raise EngineChoiceError(str(error)) from error
    if not specs:
        raise EngineChoiceError("no engine named")
    return specs


def configured_thresholds(spec, settings=None):
    """The calibrated thresholds for this engine (shipped or calibrated), or None."""
    from app.settings import Settings
    from verification.faces.thresholds import ThresholdsError, thresholds_for

    settings = settings or Settings()
    try:
        return thresholds_for(spec.vector_space(), settings.face_thresholds_path())
    except ThresholdsError:
        return None


# --- check photo ---


def check_photo(args: argparse.Namespace) -> int:
    from verification.faces.engines import build_engine
    from verification.faces.pipeline import VerifyPolicy, check_selfie, encode_reference
    from verification.faces.thresholds import policy_for

    try:
        [(spec, _)] = engine_specs(args)[:1]
    except EngineChoiceError as error:
        return _unusable(args, "engine", f"{error}.")
    calibrated = configured_thresholds(spec)
    if args.threshold is None and calibrated is None:
        return _unusable(
            args, "engine", f"No calibrated threshold for {spec.vector_space()}: pass --threshold."
        )
    policy = policy_for(calibrated) if calibrated else None
    engine = build_engine(spec)
    if policy is None:
        policy = VerifyPolicy(match_threshold=args.threshold, engine=engine.name)
    elif args.threshold is not None:
        policy = replace(policy, match_threshold=args.threshold)
    try:
        reference_bytes = args.reference.read_bytes()
        photo_bytes = args.photo.read_bytes()
    except OSError as error:
        return _unusable(args, "unreadable", f"Cannot read {error.filename}: {error.strerror}.")
    reference = encode_reference(reference_bytes, engine=engine)
    if reference.template is None:
        reason = str(reference.reason)
        return _unusable(
            args,
            reason,
            f"The reference photo {args.reference} cannot be used: "
            f"{_EXPLAIN.get(reason, reason)}. Please choose another reference photo.",
        )
    verdict = check_selfie(reference.template, photo_bytes, policy, engine=engine)
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False))
        return 0
    distance = "-" if verdict.distance is None else f"{verdict.distance:.4f}"
    print(f"verdict:   {verdict.verdict}")
    print(f"reason:    {verdict.reason}")
    side = ">=" if engine.higher_is_closer else "<="
    print(f"distance:  {distance}  (match at {side} {verdict.threshold}, engine {verdict.engine})")
    print("quality:   " + " ".join(f"{k}={v}" for k, v in verdict.quality.items()))
    print(f"time:      {verdict.timings['total_s']:.3f} s (decode to verdict)")
    return 0


def _unusable(args: argparse.Namespace, reason: str, message: str) -> int:
    print(message, file=sys.stderr)
    if args.json:
        print(json.dumps({"verdict": None, "reason": reason, "distance": None, "error": message}))
    return 2


# --- eval faces ---


def eval_faces(args: argparse.Namespace) -> int:
    import numpy as np

    from verification.faces import evaluation as ev
    from verification.faces.engines import build_engine
    from verification.faces.pipeline import encode_reference
    from verification.faces.scoring import fuse_vectors, quality_weight

    root: Path = args.root
    if not (root / "manifest.csv").is_file():
        print(f"No manifest.csv in {root}.", file=sys.stderr)
        return 2
    try:
        entries = ev.read_manifest(root)
    except ValueError as error:
        print(f"{root / 'manifest.csv'}: {error}.", file=sys.stderr)
        return 2
    if args.frames < 1 or args.references < 1:
        print("--frames and --references must be at least 1.", file=sys.stderr)
        return 2
    try:
        [(spec, note)] = engine_specs(args)[:1]
    except EngineChoiceError as error:
        print(f"{error}.", file=sys.stderr)
        return 2
    calibrated = configured_thresholds(spec)
    engine = build_engine(spec)
    encoded, unencoded = ev.encode_all(
        entries, lambda data: encode_reference(data, engine=engine), _Progress()
    )
    probe_vectors = None
    if args.frames > 1:
        probe_vectors = np.vstack(
            [_frames_vector(engine, photo, args.frames, fuse_vectors, quality_weight) for photo in encoded]
        )
        # the probes' own pairs: each photo's fused frames against the other photos' references
        encoded_probes = [ev.EncodedPhoto(p.entry, v) for p, v in zip(encoded, probe_vectors, strict=True)]
    else:
        encoded_probes = encoded

    prefixes = [p.strip() for p in args.subset_prefix.split(",") if p.strip()]
    keep = ev.identity_prefix_rule(prefixes) if prefixes else None
    sets = [("all", None)] + ([(f"subset {','.join(prefixes)}", keep)] if keep else [])
    sets += [(f"group {name}", rule) for name, rule in ev.groups(encoded).items()]
    scores = {label: _pair_scores(encoded, encoded_probes, engine, rule) for label, rule in sets}
    hic = engine.higher_is_closer
    direction = "similarity, higher = more alike" if hic else "distance, lower = more alike"

    if args.threshold is not None:
        t, origin = args.threshold, "given"
    elif calibrated is not None:
        t, origin = calibrated.raw.threshold, f"configured, from {calibrated.source}"
    else:
        point = ev.operating_point(scores[sets[-1][0] if keep else "all"], args.target_fmr, hic)
        t = point.threshold if point.threshold is not None else 0.0
        origin = f"NOT calibrated for this engine: the FMR {args.target_fmr:.1%} point of this data"

    print(
        f"Photos with an identity: {len(entries)}; encoded: {len(encoded)}; "
        f"not encoded (no face, several faces, unreadable): {len(unencoded)}"
    )
    for photo in unencoded:
        print(f"  not encoded: {photo.entry.listed_as} ({photo.reason})")
    print(f"Engine: {engine.name} ({engine.version}); {direction}; threshold {t:g} ({origin})")
    if note:
        print(f"Model: {note}")
    if args.frames > 1:
        print(
            f"Probes: {args.frames} simulated video-note frames of each photo (small turns, shifts, "
            "light changes), vectors fused; references: the photo itself"
        )
    print()
    print(
        f"{'set':<22} {'photos':>6} {'ids':>4} {'genuine':>8} {'impostor':>9} "
        f"{'FNMR@' + format(t, '.4g'):>11} {'FMR@' + format(t, '.4g'):>11} "
        f"{'FNMR@FMR1%':>11} {'FNMR@FMR0.1%':>13}"
    )
    for label, rule in sets:
        chosen = [p for p in encoded if rule is None or rule(p.entry.identity)]
        r = ev.rates(scores[label], t, hic)
        at1 = ev.operating_point(scores[label], 0.01, hic)
        at01 = ev.operating_point(scores[label], 0.001, hic)
        print(
            f"{label:<22} {len(chosen):>6} {len({p.entry.identity for p in chosen}):>4} "
            f"{r.genuine_pairs:>8} {r.impostor_pairs:>9} {_pct(r.fnmr):>11} {_pct(r.fmr):>11} "
            f"{_point(at1):>11} {_point(at01):>13}"
        )
    print()
    main_sets = sets[: 2 if keep else 1]
    header = "threshold " + "".join(
        f"{'FNMR ' + lbl.split()[0]:>13}{'FMR ' + lbl.split()[0]:>13}" for lbl, _ in main_sets
    )
    print(header)
    for step in (-0.10, -0.05, -0.02, 0.0, 0.02, 0.05, 0.10):
        value = round(t + step, 4)
        cells = ""
        for label, _ in main_sets:
            r = ev.rates(scores[label], value, hic)
            cells += f"{_pct(r.fnmr):>13}{_pct(r.fmr):>13}"
        print(f"{'*' if step == 0 else ' '}{value:>8.3f} {cells}")
    print()
    for label, _ in main_sets:
        s = scores[label]
        closest = (s.impostor.max() if hic else s.impostor.min()) if s.impostor.size else None
        lenient = ev.threshold_for_fmr(s, args.target_fmr, hic)
        at_lenient = ev.rates(s, lenient, hic) if lenient is not None else None
        print(
            f"{label}: closest impostor pair {_num(closest)}; most lenient threshold with FMR <= "
            f"{args.target_fmr:.1%}: {_num(lenient)}"
            + (f" (FNMR {_pct(at_lenient.fnmr)}, FMR {_pct(at_lenient.fmr)})" if at_lenient else "")
        )
    if keep is not None and not args.no_heldout:
        _print_heldout(encoded, engine, keep, sets[1][0], probe_vectors, args.references)
    return 0 if encoded else 2


def _frames_vector(engine, photo, count, fuse_vectors, quality_weight):
    """The fused vector of `count` simulated frames of one photo (the photo's own vector when
    no frame shows a face)."""
    from verification.faces.evaluation import simulated_frames
    from verification.faces.pipeline import encode_reference

    vectors, weights = [], []
    for frame in simulated_frames(photo.entry.path.read_bytes(), count, seed=len(photo.entry.listed_as)):
        result = encode_reference(frame, engine=engine)
        if result.template is not None:
            vectors.append(result.template.to_array())
            weights.append(quality_weight(result.quality))
    return fuse_vectors(vectors, weights) if vectors else photo.vector


def _pair_scores(references, probes, engine, rule):
    """Pair scores; with separate probe vectors, each unordered pair scores the first photo's
    reference against the second photo's probe."""
    from verification.faces.evaluation import pair_scores

    if probes is references:
        return pair_scores(references, engine, rule)
    import numpy as np

    from verification.faces.evaluation import PairScores

    chosen = [n for n, p in enumerate(references) if rule is None or rule(p.entry.identity)]
    genuine, impostor = [], []
    for position, a in enumerate(chosen):
        for b in chosen[position + 1 :]:
            score = engine.compare(references[a].vector, probes[b].vector)
            same = references[a].entry.identity == references[b].entry.identity
            (genuine if same else impostor).append(score)
    return PairScores(np.asarray(genuine, dtype=np.float64), np.asarray(impostor, dtype=np.float64))


def _print_heldout(encoded, engine, keep, label, probe_vectors, references: int) -> None:
    from verification.faces import evaluation as ev

    hic = engine.higher_is_closer
    rows, half_a, half_b = ev.heldout_rows(
        encoded, engine, keep, probe_vectors=probe_vectors, references=references
    )
    print()
    print(
        f"Held-out decisions on {label}: its identities ranked by photo count and dealt alternately "
        "into halves A and B;"
    )
    print("a threshold is chosen on one half at the target FMR and applied to the other (A -> B, B -> A).")
    print(
        "S-norm cohort: the other identities of the same half (adaptive: each face's closest 10 %, "
        "at least 10); several references: the claim's score is the mean over them."
    )
    print(f"  A: {', '.join(sorted(half_a))}")
    print(f"  B: {', '.join(sorted(half_b))}")
    for target in (0.01, 0.001):
        print()
        print(f"At FMR {target:.1%}:")
        print(
            f"{'rule':<24} {'genuine A/B':>11} {'impostor A/B':>13} {'FNMR A':>8} {'FNMR B':>8} "
            f"{'A->B FNMR':>10} {'FMR':>7} {'B->A FNMR':>10} {'FMR':>7}"
        )
        for row in rows:
            a = ev.operating_point(row.calibration, target, hic)
            b = ev.operating_point(row.heldout, target, hic)
            a_to_b = ev.rates(row.heldout, a.threshold, hic) if a.threshold is not None else None
            b_to_a = ev.rates(row.calibration, b.threshold, hic) if b.threshold is not None else None
            print(
                f"{row.label:<24} {row.calibration.genuine.size:>5}/{row.heldout.genuine.size:<5} "
                f"{row.calibration.impostor.size:>6}/{row.heldout.impostor.size:<6} "
                f"{_point(a):>8} {_point(b):>8} "
                f"{_pct(a_to_b.fnmr) if a_to_b else '-':>10} {_pct(a_to_b.fmr) if a_to_b else '-':>7} "
                f"{_pct(b_to_a.fnmr) if b_to_a else '-':>10} {_pct(b_to_a.fmr) if b_to_a else '-':>7}"
            )
    print()
    print(
        "FNMR A / FNMR B: FNMR at the target FMR on each half with its own best threshold; "
        "A->B: the threshold chosen on A, on B's pairs (the honest figure), and the other way round."
    )


def _point(point) -> str:
    return "-" if point.rates is None else _pct(point.rates.fnmr)


class _Progress:
    """Progress on stderr: one updating line on a terminal, a line every 25 photos otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, number: int, total: int, entry: object) -> None:
        listed = getattr(entry, "listed_as", "")
        if self.tty:
            end = "\n" if number == total else ""
            print(f"\rencoding {number}/{total} {listed[:60]:<60}", end=end, file=sys.stderr, flush=True)
        elif number == 1 or number == total or number % 25 == 0:
            print(f"encoding {number}/{total} {listed}", file=sys.stderr, flush=True)


def _pct(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * 100:.2f} %"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


# --- bench verify ---


def bench_verify(args: argparse.Namespace) -> int:
    from verification.faces.benchmark import SIZES, pick_cases, run_bench
    from verification.faces.dlib_engine import DlibEngineConfig
    from verification.faces.engines import build_engine
    from verification.faces.media import MediaLimits
    from verification.faces.pipeline import VerifyPolicy
    from verification.faces.thresholds import policy_for

    root: Path = args.faces or default_faces_dir()
    if not (root / "manifest.csv").is_file():
        print(
            f"No faces folder with manifest.csv at {root} (use --faces or PENSION_BOT_FACES_DIR).",
            file=sys.stderr,
        )
        return 2
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown or args.repeats < 1 or args.photos < 1:
        print(
            f"Unknown size(s) {', '.join(unknown)}; known: {', '.join(SIZES)}."
            if unknown
            else "--repeats and --photos must be at least 1.",
            file=sys.stderr,
        )
        return 2
    try:
        specs = engine_specs(args)
    except EngineChoiceError as error:
        print(f"{error}.", file=sys.stderr)
        return 2
    cases = pick_cases(root, args.photos)
    if not cases:
        print(f"No identity with two photos in {root / 'manifest.csv'}.", file=sys.stderr)
        return 2

    results = []
    with _OneCore() as core:
        for number, (spec, note) in enumerate(specs):
            engine = build_engine(spec)
            calibrated = configured_thresholds(spec)
            policy = policy_for(calibrated) if calibrated else None
            if policy is None:
                policy = VerifyPolicy(
                    match_threshold=0.3 if engine.higher_is_closer else 0.45, engine=engine.name
                )
            rows = run_bench(
                cases,
                sizes,
                args.repeats,
                progress=lambda text: print(text, file=sys.stderr),
                engine=engine,
                policy=policy,
                plain=number == 0,
            )
            results.append((spec, note, engine, policy, calibrated is not None, rows))

    print(
        f"Time per selfie, decode to verdict, measured in-process on one core ({core}); "
        f"{len(cases)} photo(s) x {args.repeats} repeat(s) per size, each resized from {root}."
    )
    print(
        "plain:   face_recognition defaults on the full picture (load_image_file, face_locations HOG "
        "upsample 1, face_encodings, compare_faces at 0.6)"
    )
    print("verdicts: product pass/retry out of its runs (retry = a capture problem, e.g. a face too small);")
    print("          plain match = the library found a face and matched it at 0.6")
    print("embed p50: the engine's embedding of the one face alone (dlib ResNet / ONNX model), per selfie")
    for spec, note, engine, policy, calibrated, rows in results:
        print()
        detail = (
            f"HOG detection at {DlibEngineConfig().detect_long_side} px"
            + (f", {spec.dlib_jitters} jitters" if spec.kind == "dlib" and spec.dlib_jitters > 1 else "")
            + (
                ""
                if spec.kind == "dlib"
                else ", 68-point landmarks -> 5-point ArcFace alignment, onnxruntime"
            )
        )
        threshold = f"threshold {policy.match_threshold:g}" + ("" if calibrated else " (NOT calibrated)")
        print(
            f"engine {spec.kind}: {engine.name} (working size {MediaLimits().working_long_side} px, "
            f"{detail}, quality gates, {threshold})"
        )
        if note:
            print(f"  model: {note}")
        print(
            f"{'size':<7} {'picture':>11} {'runs':>5} {'product p50':>12} {'p95':>7} "
            f"{'plain p50':>10} {'p95':>7} {'speed-up':>8}  {'product pass/retry':>18} {'plain match':>12}"
            f" {'embed p50':>10}"
        )
        for row in rows:
            picture = f"{row.example_size[0]}x{row.example_size[1]}"
            if math.isnan(row.plain_p50):
                plain = f"{'-':>10} {'-':>7} {'-':>8}  "
                plain_match = f"{'-':>12}"
            else:
                speedup = row.plain_p50 / row.product_p50 if row.product_p50 > 0 else float("nan")
                plain = f"{row.plain_p50:>8.3f} s {row.plain_p95:>5.3f} s {speedup:>7.1f}x  "
                plain_match = f" {row.plain_matches:>5} of {row.runs:<3}"
            print(
                f"{row.size:<7} {picture:>11} {row.runs:>5} {row.product_p50:>10.3f} s "
                f"{row.product_p95:>5.3f} s {plain}"
                f"{row.product_passes:>9}/{row.product_retries:<3} of {row.runs:<3}{plain_match}"
                f" {row.product_embed_p50 * 1000:>7.1f} ms"
            )
        target = next((row for row in rows if row.size == "1280px"), None)
        if target is not None:
            met = "met" if target.product_p50 <= 0.25 else "NOT met"
            print(f"Target p50 <= 0.25 s at 1280 px ({spec.kind}): {met} ({target.product_p50:.3f} s).")
    return 0


class _OneCore:
    """Pin this process to one CPU while measuring (where the OS allows), then restore."""

    def __enter__(self) -> str:
        self.saved: set[int] | None = None
        if hasattr(os, "sched_getaffinity"):
            self.saved = os.sched_getaffinity(0)
            cpu = min(self.saved)
            os.sched_setaffinity(0, {cpu})
            return f"pinned to CPU {cpu} of {len(self.saved)} available"
        return "not pinned: this OS has no CPU affinity; dlib runs single-threaded here"

    def __exit__(self, *exc_info: object) -> None:
        if self.saved is not None:
            os.sched_setaffinity(0, self.saved)
