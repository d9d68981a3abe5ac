"""`pension-bot calibrate answers`: fits the employer assistant's confidence model on the dev
question sets and chooses its threshold on out-of-fold probabilities (content/knowledge/
fitting.py); writes both, with the figures behind them, to calibration.toml."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING

from app.commands._question_sets import check_sets, outcome_line
from content.knowledge.question_sets import DEV_SETS

if TYPE_CHECKING:
    from content.knowledge.evaluation import Bin, Tally
    from content.knowledge.fitting import Choice


def register_calibration(calibrate: argparse._SubParsersAction) -> None:
    command = calibrate.add_parser(
        "answers",
        help="fit the employer assistant's confidence model and threshold on the dev question sets",
        description="Asks every question of the dev sets, labels each candidate answer (the best "
        "entry, the best articles) right or wrong, fits the confidence model, and chooses the lowest "
        "threshold whose share of wrong answers is at most --max-wrong, judged on out-of-fold "
        "probabilities; writes the model, the threshold and how often an answer at each probability "
        "is right, and (without --out) the sentence vectors of the known questions the model was "
        "fitted with (embeddings.npz). Never give it a held-out set.",
    )
    command.add_argument(
        "--dev",
        nargs="+",
        type=Path,
        default=None,
        metavar="FILE",
        help="dev question sets (default: eval/" + ", ".join(DEV_SETS) + ")",
    )
    command.add_argument(
        "--max-wrong", type=float, default=0.03, help="largest share of wrong answers (default 0.03)"
    )
    command.add_argument(
        "--confidence",
        type=float,
        default=0.8,
        help="keep the one-sided upper confidence bound of the wrong share (Wilson) under --max-wrong, "
        "not the share itself (default 0.8; 0: the share itself)",
    )
    command.add_argument(
        "--out",
        type=Path,
        default=None,
        help="file to write (default content/data/knowledge/calibration.toml, read by the assistant)",
    )
    command.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    command.set_defaults(handler=calibrate_answers_command)


def calibrate_answers_command(args: argparse.Namespace) -> int:
    import numpy as np

    from content.knowledge.answering import CALIBRATION_FILE, Answerer, Calibration, default_answerer
    from content.knowledge.evaluation import labelled_candidates, reliability
    from content.knowledge.fitting import (
        FOLDS,
        best_pairs,
        choose_threshold,
        fit,
        fold_of,
        folds_by_set,
        out_of_fold,
        outcomes,
    )
    from content.knowledge.model import DATA_DIR
    from content.knowledge.semantic import EMBEDDINGS_FILE, write_vectors

    if not 0 <= args.confidence < 1:
        print("--confidence is a probability below 1 (0: no bound)", file=sys.stderr)
        return 2
    if not 0 <= args.max_wrong < 1:
        print("--max-wrong is a share between 0 and 1", file=sys.stderr)
        return 2
    paths = list(args.dev) if args.dev else [DATA_DIR / "eval" / name for name in DEV_SETS]
    held_out = [path for path in paths if "heldout" in path.name or path.name == "open.csv"]
    if held_out:
        print(f"refusing held-out set(s): {', '.join(map(str, held_out))}", file=sys.stderr)
        return 2
    shipped = default_answerer()
    # The candidates do not depend on the model, except through the order they are listed in.
    answerer = Answerer(
        shipped.index,
        shipped.articles,
        Calibration(),
        shipped.elsewhere,
        semantic=shipped.semantic,
        examples=shipped.examples,
    )
    sets, status = check_sets(paths, {entry.id for entry in answerer.knowledge.entries})
    if status:
        return status
    rows = [row for set_rows in sets.values() for row in set_rows]
    # A dev question is also a labelled example: rated, it must not consult the examples of
    # its own fold, as a new question cannot consult itself (the folds are those out_of_fold
    # uses, so that no question's probability comes from its own label; whole sets, so that
    # none leans on its own writer's other questions either; at random with fewer sets).
    whole_sets = len(sets) >= FOLDS
    names = [path.name for path, set_rows in sets.items() for _ in set_rows]
    fold = folds_by_set(names) if whole_sets else fold_of(len(rows))
    by_fold: dict[int, set[str]] = {}
    for number, (question, _) in enumerate(rows):
        by_fold.setdefault(fold[number], set()).add(question)
    questions = [
        labelled_candidates(answerer, question, expected, by_fold[fold[number]])
        for number, (question, expected) in enumerate(rows)
    ]
    per_set, start = {}, 0
    for path, set_rows in sets.items():
        per_set[path] = questions[start : start + len(set_rows)]
        start += len(set_rows)
    rated = out_of_fold(questions, fold=fold)
    z = NormalDist().inv_cdf(args.confidence) if args.confidence > 0 else 0.0
    choice = choose_threshold(rated, args.max_wrong, z)
    bins = reliability(best_pairs(rated))
    model = fit(questions)
    print(f"dev sets: {', '.join(str(path) for path in sets)} ({len(questions)} questions)")
    print(
        f"threshold {choice.threshold:.2f}: wrong <= {args.max_wrong:.1%}"
        f"{f' at {args.confidence:.0%} confidence' if args.confidence else ''}"
        f", out of fold ({FOLDS} folds{' of whole sets' if whole_sets else ', at random'})"
        f"{'' if choice.feasible else ': NOT reachable, fewest wrong chosen'}"
    )
    print(outcome_line("out of fold, all dev sets", choice.tally.as_dict()))
    start = 0
    per_set_tallies = {}
    for path, labelled in per_set.items():
        per_set_tallies[path] = outcomes(rated[start : start + len(labelled)], choice.threshold)
        start += len(labelled)
        print(outcome_line(f"  {path.name}", per_set_tallies[path].as_dict()))
    print("probability -> share right (out of fold):")
    for b in bins:
        print(f"  [{b.low:.1f}, {b.high:.1f}): {b.share_right:.0%} of {b.questions}")
    if args.dry_run:
        return 0 if choice.feasible else 1
    out = args.out or CALIBRATION_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.out is None:
        # the shipped calibration goes with the sentence vectors it was fitted on, kept so
        # that start-up need not embed every known question and example again
        texts, vectors = [], []
        for index in (shipped.semantic, shipped.examples):
            if index is not None:
                texts += index.texts
                vectors.append(index.vectors)
        write_vectors(EMBEDDINGS_FILE, texts, np.vstack(vectors))
        print(f"sentence vectors of {len(set(texts))} known questions and examples written")
    out.write_text(
        _calibration_toml(args, choice, per_set_tallies, bins, model.as_toml(), whole_sets),
        encoding="utf-8",
    )
    print(f"written to {out}")
    return 0 if choice.feasible else 1


def _calibration_toml(
    args: argparse.Namespace,
    choice: Choice,
    per_set: dict[Path, Tally],
    bins: list[Bin],
    model: dict,
    whole_sets: bool,
) -> str:
    from content.knowledge.evaluation import Tally
    from content.knowledge.fitting import FOLDS, REGULARISATION

    def relative(path: Path) -> str:
        try:
            return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    lines = [
        "# Written by `pension-bot calibrate answers`: the employer assistant's confidence model",
        "# (content/knowledge/confidence.py) fitted on the dev question sets only (never on the",
        "# held-out ones), and the threshold it must reach for an answer to be given: the lowest",
        "# whose share of wrong answers (its upper Wilson bound at `confidence`) is at most",
        "# max_wrong, judged on out-of-fold probabilities. content/knowledge/answering.py reads it.",
        f"threshold = {choice.threshold}",
        f"max_wrong = {args.max_wrong}",
        f"confidence = {args.confidence}  # one-sided, of the Wilson bound on the wrong share",
        f"feasible = {'true' if choice.feasible else 'false'}",
        f"folds = {FOLDS}",
        f"folds_of_whole_sets = {'true' if whole_sets else 'false'}  # else random",
        f"regularisation = {REGULARISATION}  # scikit-learn's C",
        f'written = "{datetime.now(UTC).replace(microsecond=0).isoformat()}"',
        "dev_sets = [" + ", ".join(f'"{relative(path)}"' for path in per_set) + "]",
        "",
    ]
    for kind in ("entry", "article"):
        lines += [f"[model.{kind}]", f"bias = {model[kind]['bias']!r}", "", f"[model.{kind}.weights]"]
        lines += [f"{name} = {weight!r}" for name, weight in model[kind]["weights"].items()]
        lines.append("")
    lines.append("[dev]  # out of fold, at the threshold")
    total = Tally()
    for tally in per_set.values():
        total += tally
    lines += [f"{key} = {value}" for key, value in total.as_dict().items()]
    for path, tally in per_set.items():
        lines += ["", f'[dev.sets."{relative(path)}"]']
        lines += [f"{key} = {value}" for key, value in tally.as_dict().items()]
    lines += ["", "# probability (out of fold) -> how often the most probable candidate is right"]
    for b in bins:
        lines += [
            "[[bins]]",
            f"low = {b.low}",
            f"high = {b.high}",
            f"questions = {b.questions}",
            f"right = {b.right}",
            f"share_right = {round(b.share_right, 4)}",
        ]
    return "\n".join(lines) + "\n"
