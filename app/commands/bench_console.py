"""`pension-bot bench console`: the staff console's overview and retiree lists timed on a large
PostgreSQL database filled with server-side SQL (app/console_bench.py)."""

from __future__ import annotations

import argparse
import asyncio

from app.commands._groups import group


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = group(subparsers, "bench", "benchmarks that print figures")
    console = bench.add_parser(
        "console",
        help="the staff console's quarter overview and retiree lists on a million retirees: p50/p95/max",
        description="Fills a PostgreSQL database (once; reused while its marker says the same sizes and "
        "migrations) with retirees over 100 residence regions and verification records over the year, "
        "with INSERT ... SELECT FROM generate_series (the records' hash chain is made up and does not "
        "verify). Then times the quarter's overview for a district and a prefecture and the lists "
        "(overdue, page 3; a name search), prints p50/p95/max against the targets (overview p95 <= "
        "300 ms, list p95 <= 200 ms), the peak memory, and EXPLAIN (ANALYZE, BUFFERS) of the queries.",
    )
    console.add_argument("--retirees", type=int, default=1_000_000, help="retirees (default 1000000)")
    console.add_argument(
        "--records", type=int, default=5_000_000, help="verification records (default 5000000)"
    )
    console.add_argument(
        "--database-url",
        default=None,
        help="the bench's PostgreSQL database, created if missing "
        "(default postgresql+asyncpg://postgres@127.0.0.1:5432/bench_console)",
    )
    console.add_argument("--repeat", type=int, default=50, help="timed runs of each call (default 50)")
    console.add_argument(
        "--budget-seconds",
        type=float,
        default=120.0,
        help="time spent on one call's runs at most, but 3 runs at least (default 120)",
    )
    console.add_argument("--no-explain", action="store_true", help="do not print the query plans")
    console.set_defaults(handler=bench_console)


def bench_console(args: argparse.Namespace) -> int:
    from app.console_bench import DEFAULT_DATABASE_URL, run_console_bench

    result = asyncio.run(
        run_console_bench(
            retirees=args.retirees,
            records=args.records,
            repeat=args.repeat,
            database_url=args.database_url or DEFAULT_DATABASE_URL,
            progress=lambda line: print(line, flush=True),
            explain=not args.no_explain,
            budget_seconds=args.budget_seconds,
        )
    )
    for line in result.lines():
        print(line)
    return 0 if result.all_met else 1
