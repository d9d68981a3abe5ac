"""`pension-bot signals import|sources|imports` and `pension-bot bench signals`.

A feed's import prints what a clerk can act on: rows read, signals kept, repeated (already on
file), silent certifications, deaths recorded, suspected false claims, and each refused row
by number and reason. ID numbers are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands._database import DatabaseUnavailable, command_runtime
from app.commands._groups import group

if TYPE_CHECKING:
    from verification.signals.service import FeedReport


def register(subparsers: argparse._SubParsersAction) -> None:
    signals = group(subparsers, "signals", "feeds of other agencies' records: life signals and deaths")
    importer = signals.add_parser(
        "import",
        help="import a feed (CSV or XLSX: ID number and date); the same file twice is refused",
    )
    importer.add_argument("file", type=Path, metavar="FILE")
    importer.add_argument("--source", required=True, help="the feed's source (see `signals sources`)")
    importer.add_argument("--show", type=int, default=100, metavar="N", help="list at most N refused rows")
    importer.add_argument("--language", choices=["en", "zh"], default="en", help="language of the reasons")
    importer.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    importer.set_defaults(handler=lambda args: asyncio.run(_import(args)))

    sources = signals.add_parser("sources", help="the sources and what each proves")
    sources.set_defaults(handler=_sources)

    imports = signals.add_parser("imports", help="the latest feed imports and their counts")
    imports.add_argument("--limit", type=int, default=20)
    imports.set_defaults(handler=lambda args: asyncio.run(_imports(args)))

    bench = group(subparsers, "bench", "benchmarks that print figures")
    signals_bench = bench.add_parser(
        "signals", help="rows/s of importing and matching a life-signal feed, on SQLite and PostgreSQL"
    )
    signals_bench.add_argument("--rows", type=int, default=1_000_000, help="feed rows (default 1000000)")
    signals_bench.add_argument("--retirees", type=int, default=1_000_000, help="retirees (default 1000000)")
    signals_bench.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_POSTGRES_URL"),
        metavar="URL",
        help="PostgreSQL server for a temporary database (default: $TEST_POSTGRES_URL)",
    )
    signals_bench.add_argument("--no-sqlite", action="store_true")
    signals_bench.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    signals_bench.set_defaults(handler=lambda args: asyncio.run(_bench(args)))

    year = bench.add_parser(
        "year",
        help="a simulated year: silent certification, deaths caught, overpayment, false claims, coverage",
    )
    year.add_argument("--retirees", type=int, default=100_000)
    year.add_argument("--year", type=int, default=2026)
    year.add_argument("--coverage", type=float, default=0.6, help="share who produce life signals (0-1)")
    year.add_argument("--deaths", type=float, default=0.012, help="share who die in the year (0-1)")
    year.add_argument("--fraud", type=float, default=0.1, help="share of deaths hidden to draw on (0-1)")
    year.add_argument("--seed", type=int, default=2026)
    year.add_argument(
        "--postgres-url", default=None, metavar="URL", help="run on PostgreSQL instead of SQLite"
    )
    year.set_defaults(handler=lambda args: asyncio.run(_year(args)))


async def _import(args: argparse.Namespace) -> int:
    from app.commands.roster import progress_bar
    from app.settings import Settings
    from verification.roster.messages import reason_text
    from verification.roster.reader import RosterFileError
    from verification.signals.service import FeedRefused
    from verification.signals.sources import SourceError

    show = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        async with command_runtime(Settings()) as runtime:
            feeds = runtime.feeds
            try:
                with progress_bar(show, f"importing {args.file.name}") as progress:
                    report = await feeds.import_file(args.file, args.source, progress=progress)
            except SourceError as error:
                print(f"Nothing was imported: {error}", file=sys.stderr)
                return 2
            except RosterFileError as error:
                print(f"Nothing was imported from {args.file.name}.", file=sys.stderr)
                print(error.message(args.language), file=sys.stderr)
                return 1
            except FeedRefused as error:
                print(reason_text(error.code, args.language, **error.params), file=sys.stderr)
                return 1
    except DatabaseUnavailable as error:
        print(f"{error} Nothing was imported.", file=sys.stderr)
        return 1
    print_report(report, args.show, args.language)
    return 0


def print_report(report: FeedReport, show: int, language: str = "en") -> None:
    print(
        f"Feed {report.file_name} from {report.source} (sha256 {report.file_sha256[:12]}…),"
        f" import #{report.import_id}"
    )
    print(f"  rows read:   {report.rows_read}")
    print(f"  kept:        {report.kept} (already on file, not counted again: {report.repeated})")
    if report.deaths:
        print(f"  deaths:      {report.deaths} (payment suspended, a case for staff each)")
        print(f"  suspected false claims: {report.suspected_false_claims}")
        print(f"  recovery cases opened:  {report.recovery_cases}")
    else:
        print(f"  certified silently: {report.certified}")
        for reason, count in sorted(report.not_certifying.items()):
            print(f"    kept without certifying ({reason}): {count}")
    print(f"  refused:     {len(report.refused)}")
    for refused in report.refused[:show]:
        print(f"    row {refused.row}: {refused.message(language)} [{', '.join(refused.codes)}]")  # type: ignore[arg-type]
    if len(report.refused) > show:
        print(f"    … and {len(report.refused) - show} more (all are kept as error records)")


def _sources(args: argparse.Namespace) -> int:
    from verification.signals.sources import SignalSources

    sources = SignalSources.load()
    print(
        f"a qualifying signal certifies from {sources.certify_from_days_before_due} days before the due date"
    )
    for name, policy in sorted(sources.sources.items()):
        if policy.is_death:
            print(f"  {name:<20} death record")
        else:
            proves = "certifies" if policy.proves_life else "kept only"
            seen = ", in person" if policy.in_person else ""
            print(f"  {name:<20} life signal: {proves}{seen}, up to {policy.max_age_days} days old")
    return 0


async def _imports(args: argparse.Namespace) -> int:
    from app.settings import Settings

    try:
        async with command_runtime(Settings()) as runtime:
            async with runtime.uow_factory() as uow:
                rows = await uow.signals.imports(args.limit)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    for row in rows:
        state = "complete" if row.finished_at else "stopped half-way"
        print(
            f"#{row.id} {row.started_at:%Y-%m-%d %H:%M} {row.source} {row.file_name}"
            f" ({row.channel}, {state}): "
            f"{row.rows_total} rows, {row.rows_matched} kept, {row.rows_repeated} repeated, "
            f"{row.rows_refused} refused, {row.certified} certified, {row.deaths} deaths"
        )
    if not rows:
        print("no feed imported yet")
    return 0


async def _bench(args: argparse.Namespace) -> int:
    from app.commands.roster import progress_bar, temporary_postgres_database
    from app.signals_bench import TARGET_ROWS_PER_SECOND, peak_rss_mib, run_backend, write_feed

    today = date.today()
    show = sys.stderr.isatty() if args.progress is None else args.progress
    results = []
    with tempfile.TemporaryDirectory(prefix="pension-signals-") as folder:
        feed = Path(folder) / "feed.csv"
        started = time.perf_counter()
        write_feed(feed, args.retirees, args.rows, today)
        print(f"feed of {args.rows:,} rows written in {time.perf_counter() - started:.1f} s")
        backends = []
        if not args.no_sqlite:
            backends.append(("SQLite", None))
        if args.postgres_url:
            backends.append(("PostgreSQL", args.postgres_url))
        else:
            print("PostgreSQL: skipped (give --postgres-url or set TEST_POSTGRES_URL)")
        for label, server in backends:
            with progress_bar(show, f"{label} import") as progress:
                if server is None:
                    url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
                    results.append(await run_backend(label, url, feed, args.retirees, today, progress))
                else:
                    async with temporary_postgres_database(server) as url:
                        results.append(await run_backend(label, url, feed, args.retirees, today, progress))
    ok = True
    for result in results:
        met = result.rate >= TARGET_ROWS_PER_SECOND
        ok &= result.records == result.certified  # a certification without its record is a defect
        print(
            f"{result.label}: {result.rows:,} rows imported and matched in {result.seconds:.1f} s = "
            f"{result.rate:,.0f} rows/s (target {TARGET_ROWS_PER_SECOND:,}: {'met' if met else 'NOT met'}); "
            f"certified silently {result.certified:,}, verification records {result.records:,}, "
            f"refused {result.refused}"
        )
    print(f"peak memory (RSS): {peak_rss_mib():.0f} MiB")
    return 0 if ok else 1


async def _year(args: argparse.Namespace) -> int:
    from app.commands.roster import temporary_postgres_database
    from app.signals_bench import peak_rss_mib
    from app.year_bench import YearOptions, report_lines, run_year

    options = YearOptions(
        retirees=args.retirees,
        year=args.year,
        coverage=args.coverage,
        deaths=args.deaths,
        fraud=args.fraud,
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory(prefix="pension-year-") as folder:
        if args.postgres_url:
            async with temporary_postgres_database(args.postgres_url) as url:
                result = await run_year(url, options, Path(folder))
            label = "PostgreSQL"
        else:
            result = await run_year(f"sqlite+aiosqlite:///{Path(folder) / 'year.db'}", options, Path(folder))
            label = "SQLite"
    for line in report_lines(label, options, result):
        print(line)
    print(f"peak memory (RSS): {peak_rss_mib():.0f} MiB")
    return 0
