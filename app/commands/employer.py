"""The employer assistant from the console.

* `pension-bot ask "QUESTION" [--json]`: the answer the bot would give, with its sources.
* `pension-bot eval answers FILE...`: top-1 and top-3 accuracy on question sets (CSV:
  question, expected entry id; an empty expected id marks a question the base does not
  cover, which should be handed to staff).
* `pension-bot bench answers`: p50/p95 answer time, and the self-check time of a generated
  10,000-row payroll.
* `pension-bot employer export-drafts`: staff answers as a draft entry file for an editor.
* `pension-bot employer check-kb`: load and check the knowledge base and region data.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from app.commands._groups import group

ANSWER_TARGET_MS = 20.0
PAYROLL_TARGET_S = 3.0
TOP1_TARGET, TOP3_TARGET = 0.90, 0.97


def register(subparsers: argparse._SubParsersAction) -> None:
    ask = subparsers.add_parser("ask", help="print the answer the bot would give to an employer's question")
    ask.add_argument("question", help="the question, in Chinese or English")
    ask.add_argument(
        "--json", action="store_true", help="one JSON object: answer, citations, confidence, ..."
    )
    ask.add_argument(
        "--language",
        choices=["auto", "zh_Hans", "en"],
        default="auto",
        help="language of the answer (default: that of the question)",
    )
    ask.set_defaults(handler=ask_command)

    evaluate = group(subparsers, "eval", "evaluate components on labelled data")
    answers = evaluate.add_parser(
        "answers",
        help="top-1 and top-3 accuracy of the employer answers on question sets (CSV: question, expected)",
    )
    answers.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="question set(s), e.g. content/data/knowledge/eval/open.csv",
    )
    answers.add_argument(
        "--show-misses", action="store_true", help="list the questions not answered by the expected entry"
    )
    answers.set_defaults(handler=eval_command)

    bench = group(subparsers, "bench", "benchmarks")
    answer_bench = bench.add_parser(
        "answers", help="p50/p95 answer time and the payroll self-check time of a generated payroll"
    )
    answer_bench.add_argument(
        "--rounds", type=int, default=5, help="times each question of the open set is asked (default 5)"
    )
    answer_bench.add_argument(
        "--rows", type=int, default=10_000, help="rows of the generated payroll (default 10000)"
    )
    answer_bench.set_defaults(handler=bench_command)

    employer = subparsers.add_parser(
        "employer", help="employer assistant: draft entries from staff answers, checks"
    )
    actions = employer.add_subparsers(dest="employer_action", required=True, metavar="COMMAND")
    export = actions.add_parser(
        "export-drafts", help="write answered staff questions as draft entries (TOML) for an editor"
    )
    export.add_argument(
        "--out", type=Path, default=None, help="file to write (default var/knowledge_drafts/drafts-DATE.toml)"
    )
    export.set_defaults(handler=export_command)
    check = actions.add_parser("check-kb", help="load and check the knowledge base and the region data")
    check.set_defaults(handler=check_command)


# ------------------------------------------------------------------ ask


def ask_command(args: argparse.Namespace) -> int:
    from content.i18n import Translator
    from content.knowledge.answering import AnswerStatus, default_answerer, detect_language
    from content.knowledge.render import answer_text

    answerer = default_answerer()
    language = detect_language(args.question) if args.language == "auto" else args.language
    t = Translator(language)
    answer = answerer.answer(args.question)
    handed_to_staff = answer.status is AnswerStatus.UNSURE
    text = answer_text(answer, t, queued=handed_to_staff)
    if args.json:
        entry = answer.entry
        print(
            json.dumps(
                {
                    "question": args.question,
                    "language": language,
                    "status": answer.status.value,
                    "answer": entry.text(language).answer if entry else text,
                    "citations": answer.citations,
                    "confidence": answer.confidence,
                    "entry_id": entry.id if entry else None,
                    "entry_question": entry.text(language).question if entry else None,
                    "reviewed": entry.reviewed.isoformat() if entry else None,
                    "related": [{"id": e.id, "question": e.text(language).question} for e in answer.related],
                    "handed_to_staff": handed_to_staff,
                    "text": text,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(text)
    if answer.entry is not None:
        print()
        print("citations: " + "; ".join(answer.citations))
    if handed_to_staff:
        print("(in the bot this question goes to the staff queue; closest topics:)")
    for entry in answer.related:
        print(f"  → {entry.text(language).question}  [{entry.id}]")
    print(f"(confidence {answer.confidence:.2f})")
    return 0


# ------------------------------------------------------------------ eval


def _read_set(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        rows = [row for row in reader if row and any(cell.strip() for cell in row)]
    if rows and [cell.strip().lower() for cell in rows[0][:2]] in (
        ["question", "expected"],
        ["question", "expected_id"],
    ):
        rows = rows[1:]
    return [(row[0].strip(), (row[1].strip() if len(row) > 1 else "")) for row in rows]


def eval_command(args: argparse.Namespace) -> int:
    from content.knowledge.answering import AnswerStatus, default_answerer

    answerer = default_answerer()
    known = {entry.id for entry in answerer.knowledge.entries}
    status = 0
    for path in args.files:
        try:
            rows = _read_set(path)
        except OSError as error:
            print(f"{path}: cannot read ({error.strerror})", file=sys.stderr)
            status = 1
            continue
        unknown = sorted({expected for _, expected in rows if expected and expected not in known})
        if unknown:
            print(f"{path}: expected ids not in the knowledge base: {', '.join(unknown)}", file=sys.stderr)
            status = 1
            continue
        covered = [(q, e) for q, e in rows if e]
        outside = [q for q, e in rows if not e]
        top1 = top3 = answered = 0
        misses = []
        for question, expected in covered:
            answer = answerer.answer(question)
            ids = [entry_id for entry_id, _ in answer.scores]
            top1 += ids[:1] == [expected]
            top3 += expected in ids[:3]
            answered += answer.status is AnswerStatus.ANSWERED
            if ids[:1] != [expected]:
                misses.append((question, expected, ids[:3], answer.confidence))
        print(f"{path} ({len(covered)} questions)")
        if covered:
            n = len(covered)
            print(f"  top-1 accuracy: {top1 / n:.1%} ({top1}/{n})  target >= {TOP1_TARGET:.0%}")
            print(f"  top-3 accuracy: {top3 / n:.1%} ({top3}/{n})  target >= {TOP3_TARGET:.0%}")
            share = answered / n
            print(
                f"  answered with confidence >= {answerer.threshold:.2f}: {share:.1%} (the rest go to staff)"
            )
        if outside:
            handed = sum(answerer.answer(q).status is not AnswerStatus.ANSWERED for q in outside)
            share = handed / len(outside)
            print(f"  questions the base does not cover: {len(outside)}, handed to staff: {share:.1%}")
        if args.show_misses:
            for question, expected, ids, confidence in misses:
                print(f"  miss: {question!r} expected {expected}, got {ids} (confidence {confidence:.2f})")
    return status


# ------------------------------------------------------------------ bench


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench_command(args: argparse.Namespace) -> int:
    from content.calculators.regions import load_regions
    from content.i18n import Translator
    from content.knowledge.answering import default_answerer, detect_language
    from content.knowledge.model import DATA_DIR
    from content.knowledge.render import answer_text
    from content.payroll.check import PayrollChecker
    from content.payroll.reader import read_payroll
    from content.payroll.report import findings_file
    from content.payroll.synthetic import synthetic_payroll_csv, synthetic_payroll_xlsx

    started = time.perf_counter()
    answerer = default_answerer()
    print(
        f"knowledge base: {len(answerer.knowledge)} entries, indexed in {time.perf_counter() - started:.2f} s"
    )
    eval_dir = DATA_DIR / "eval"
    questions = [q for q, _ in _read_set(eval_dir / "open.csv")] + [
        q for q, _ in _read_set(eval_dir / "heldout.csv")
    ]
    translators = {"zh_Hans": Translator("zh_Hans"), "en": Translator("en")}
    times = []
    for _ in range(max(1, args.rounds)):
        for question in questions:
            t = translators[detect_language(question)]
            began = time.perf_counter()
            answer_text(answerer.answer(question), t)
            times.append((time.perf_counter() - began) * 1000)
    p50, p95 = statistics.median(times), _percentile(times, 0.95)
    print(
        f"answer time over {len(times)} answers: p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {max(times):.2f} ms "
        f"(target p95 <= {ANSWER_TARGET_MS:.0f} ms: {'met' if p95 <= ANSWER_TARGET_MS else 'NOT met'})"
    )
    region = load_regions().default
    today = date.today()
    t = translators["zh_Hans"]
    for label, maker in (("CSV", synthetic_payroll_csv), ("XLSX", synthetic_payroll_xlsx)):
        data = maker(args.rows, today=today)
        began = time.perf_counter()
        payroll = read_payroll(data)
        report = PayrollChecker(region, today).check(payroll)
        findings_file(report, t, payroll.kind)
        elapsed = time.perf_counter() - began
        print(
            f"payroll self-check, {args.rows} generated rows ({label}, {len(data) / 1e6:.1f} MB): "
            f"{elapsed:.2f} s, "
            f"{len(report.findings)} findings (target <= {PAYROLL_TARGET_S:.0f} s: "
            f"{'met' if elapsed <= PAYROLL_TARGET_S else 'NOT met'})"
        )
    return 0


# ------------------------------------------------------------------ employer


def export_command(args: argparse.Namespace) -> int:
    return asyncio.run(_export(args))


async def _export(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from content.calculators.regions import load_regions
    from content.employer_service import EmployerService
    from content.knowledge.answering import default_answerer
    from storage.db import create_engine, create_session_factory
    from storage.schema import SchemaOutOfDate, ensure_schema
    from storage.uow import unit_of_work_factory

    settings = Settings()
    engine = create_engine(settings.database_url)
    try:
        try:
            await ensure_schema(engine)
        except SchemaOutOfDate as error:
            print(error, file=sys.stderr)
            return 1
        service = EmployerService(
            unit_of_work_factory(create_session_factory(engine)),
            default_answerer(),
            load_regions(),
            timezone=settings.timezone,
        )
        out = args.out or settings.var_dir / "knowledge_drafts" / f"drafts-{service.today().isoformat()}.toml"
        count = await service.export_drafts(out)
    finally:
        await engine.dispose()
    if not count:
        print("No answered questions to export.")
        return 0
    print(f"{count} draft entr{'y' if count == 1 else 'ies'} written to {out}.")
    print("They are NOT published: an editor checks each against the law, adds citations and the other")
    print("language, then moves it into content/data/knowledge/entries/.")
    return 0


def check_command(args: argparse.Namespace) -> int:
    from content.calculators.regions import RegionDataError, load_regions
    from content.knowledge.model import KnowledgeBaseError, load_knowledge_base

    try:
        knowledge = load_knowledge_base()
        regions = load_regions()
    except (KnowledgeBaseError, RegionDataError) as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Knowledge base: {len(knowledge)} entries, all citations and related ids valid.")
    for region in regions.regions:
        label = " (SAMPLE figures, not official)" if region.sample else ""
        limits = f"base {region.floor}-{region.ceiling}"
        print(f"Region {region.code}: {region.name('en')} {region.year}{label}, {limits}")
    return 0
