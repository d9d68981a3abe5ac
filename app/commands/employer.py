"""The employer assistant from the console.

* `pension-bot ask "QUESTION" [--json]`: the answer the bot would give, with its sources.
* `pension-bot eval answers FILE... [--json]`: correct / wrong / handed over on question sets
  (CSV: question, expected: an entry id, or article citations separated by `|`, or nothing
  for a question outside the assistant's scope, which should be handed to staff), and top-1
  and top-3 of the search for the entry ids.
* `pension-bot calibrate answers [--dev FILE...] [--max-wrong 0.03]`: choose the entry and
  article confidence thresholds on the dev sets and write content/data/knowledge/calibration.toml.
* `pension-bot bench answers`: p50/p95 answer time, and the self-check time of a generated
  10,000-row payroll.
* `pension-bot employer export-drafts`: staff answers as a draft entry file for an editor.
* `pension-bot employer check-kb`: load and check the knowledge base and region data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands._calibrate_answers import register_calibration
from app.commands._groups import group
from app.commands._question_sets import check_sets, outcome_line, read_set

if TYPE_CHECKING:
    from content.knowledge.answering import Answer

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
        help="correct / wrong / handed over of the employer answers on question sets (CSV)",
    )
    answers.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="question set(s), e.g. content/data/knowledge/eval/open.csv",
    )
    answers.add_argument(
        "--show-misses", action="store_true", help="list the questions not answered correctly"
    )
    answers.add_argument("--json", action="store_true", help="the figures as one JSON object")
    answers.set_defaults(handler=eval_command)

    bench = group(subparsers, "bench", "benchmarks")
    register_calibration(group(subparsers, "calibrate", "choose thresholds on labelled data"))  # answers

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
                    "article_confidence": answer.article_confidence,
                    "articles": [
                        {"citation": a.citation, "chapter": a.chapter, "text": a.text}
                        for a in answer.articles
                    ],
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
    if answer.citations:
        print()
        print("citations: " + "; ".join(answer.citations))
    if handed_to_staff:
        print("(in the bot this question goes to the staff queue; closest topics:)")
    for entry in answer.related:
        print(f"  → {entry.text(language).question}  [{entry.id}]")
    if handed_to_staff and answer.articles:
        print("(closest articles: " + "; ".join(a.citation for a in answer.articles) + ")")
    print(f"(confidence {answer.confidence:.2f}, article confidence {answer.article_confidence:.2f})")
    return 0


# ------------------------------------------------------------------ eval


def eval_command(args: argparse.Namespace) -> int:
    from content.knowledge.answering import default_answerer
    from content.knowledge.evaluation import Tally, judge
    from content.knowledge.question_sets import DEV_SETS, EVAL_DIR

    answerer = default_answerer()
    known = {entry.id for entry in answerer.knowledge.entries}
    sets, status = check_sets(list(args.files), known)
    report: dict[str, object] = {"files": {}}
    total = Tally()
    in_scope, out_of_scope = Tally(), Tally()  # over all files: the two kinds of question apart
    for path, rows in sets.items():
        outcomes = Tally()
        top1 = top3 = ranked = 0
        misses = []
        dev = path.resolve().parent == EVAL_DIR.resolve() and path.name in DEV_SETS
        for question, expected in rows:
            # a dev question is a labelled example: asked here, it must not find itself
            answer = answerer.answer(question, leave_out={question} if dev else ())
            outcome = judge(answer, expected, answerer.knowledge)
            outcomes.add(outcome)
            (in_scope if expected else out_of_scope).add(outcome)
            if expected and expected in known:  # an entry id: how the search ranks it
                ids = [entry_id for entry_id, _ in answer.scores]
                ranked += 1
                top1 += ids[:1] == [expected]
                top3 += expected in ids[:3]
            if outcome.value != "correct":
                misses.append(
                    (question, expected or "(hand over)", outcome.value, _given(answer), answer.confidence)
                )
        total += outcomes
        numbers: dict[str, object] = dict(outcomes.as_dict())
        if ranked:
            numbers.update(ranked=ranked, top1=round(top1 / ranked, 4), top3=round(top3 / ranked, 4))
        if args.show_misses:
            numbers["misses"] = [
                {"question": q, "expected": e, "outcome": o, "given": g, "confidence": round(c, 3)}
                for q, e, o, g, c in misses
            ]
        report["files"][str(path)] = numbers  # type: ignore[index]
        numbers["dev"] = dev
        if not args.json:
            print(outcome_line(str(path), outcomes.as_dict()))
            if dev:
                print("  (a dev set: the model was fitted on it; each question asked without itself)")
            if ranked:
                print(
                    f"  entry ids ({ranked}): top-1 {top1 / ranked:.1%} (target >= {TOP1_TARGET:.0%}), "
                    f"top-3 {top3 / ranked:.1%} (target >= {TOP3_TARGET:.0%})"
                )
            if args.show_misses:
                for question, expected, outcome_name, given, confidence in misses:
                    print(
                        f"  {outcome_name}: {question!r} expected {expected}, gave {given} ({confidence:.2f})"
                    )
    report["total"] = total.as_dict()
    report["in_scope"], report["out_of_scope"] = in_scope.as_dict(), out_of_scope.as_dict()
    report["threshold"] = answerer.calibration.threshold
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return status
    if len(sets) > 1:
        print(outcome_line("total", total.as_dict()))
    if in_scope.total and out_of_scope.total:
        # An out-of-scope question's right outcome is the hand-over, which the total counts
        # as handed over: this says how the two kinds fared apart.
        print(outcome_line("  in scope", in_scope.as_dict()))
        print(
            f"  out of scope: {out_of_scope.total} questions: handed over (right) "
            f"{out_of_scope.share(out_of_scope.handed_over):.1%}, answered (wrong) "
            f"{out_of_scope.share(out_of_scope.wrong):.1%}"
        )
    return status


def _given(answer: Answer) -> str:
    """What the answer gave, or for a hand-over the closest article listed with its score."""
    if answer.entry is not None:
        return answer.entry.id
    citations = list(answer.citations)
    if citations:
        return f"{' | '.join(citations)} [article {answer.article_confidence:.2f}]"
    if answer.articles:
        closest = answer.articles[0].citation
        return f"{answer.status.value}, closest {closest} [article {answer.article_confidence:.2f}]"
    return answer.status.value


# ------------------------------------------------------------------ bench


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
    from kernel.figures import percentile

    started = time.perf_counter()
    answerer = default_answerer()
    print(
        f"knowledge base: {len(answerer.knowledge)} entries, indexed in {time.perf_counter() - started:.2f} s"
    )
    eval_dir = DATA_DIR / "eval"
    questions = [q for q, _ in read_set(eval_dir / "open.csv")] + [
        q for q, _ in read_set(eval_dir / "heldout.csv")
    ]
    translators = {"zh_Hans": Translator("zh_Hans"), "en": Translator("en")}
    times = []
    for _ in range(max(1, args.rounds)):
        for question in questions:
            t = translators[detect_language(question)]
            began = time.perf_counter()
            answer_text(answerer.answer(question), t)
            times.append((time.perf_counter() - began) * 1000)
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
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
