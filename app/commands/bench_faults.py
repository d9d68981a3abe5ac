"""`pension-bot bench faults`: updates sent, processed, lost and duplicated while the bot is
killed with SIGKILL at random moments (during employers' questions, retirees' certifications
and campaigns) and its database is away for a while (app/fault_bench.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from app.commands._groups import group


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = group(subparsers, "bench", "benchmarks")
    faults = bench.add_parser(
        "faults",
        help="SIGKILLs and a database outage against the bot and the campaign sender on the stand-in: "
        "updates and campaign messages lost or duplicated",
        description="Runs the stand-in Bot API and the bot (`pension-bot run`) as a subprocess on a fresh "
        "PostgreSQL database reached through a TCP proxy. Simulated employers send questions and /help; "
        "retirees of a roster imported into that database (bound, consented, reference faces from "
        "../shared/faces) send video notes for their liveness challenges; the campaign sender "
        "(`python -m app.publicity_worker`, on a database of its own behind the same proxy) sends two "
        "campaigns. Phase 1 kills the bot and the sender with SIGKILL at seeded random moments and starts "
        "them again; phase 2 cuts the proxy for --outage-seconds while campaign 2 is part-way. Prints "
        "updates sent, processed, lost and duplicated, then each part: questions, replies, video notes "
        "and their verdicts, campaign deliveries. Three to four minutes at the defaults. Without the face "
        "photos the video notes are skipped (said in one line).",
    )
    faults.add_argument(
        "--updates", type=int, default=150, help="employers' questions and /help sent in all (default 150)"
    )
    faults.add_argument("--users", type=int, default=8, help="simulated employer chats (default 8)")
    faults.add_argument(
        "--video-notes",
        type=int,
        default=16,
        help="retirees who each send one video note (default 16; judging one is ~1-2 s of CPU; 0: none)",
    )
    faults.add_argument(
        "--campaign-recipients",
        type=int,
        default=200,
        help="subscribers of the two campaigns (default 200; 0: no campaigns)",
    )
    faults.add_argument(
        "--campaign-rate",
        type=float,
        default=30.0,
        help="the campaign sender's messages a second (default 30, Telegram's limit)",
    )
    faults.add_argument(
        "--lease-seconds",
        type=float,
        default=5.0,
        help="the campaign sender's lease: a delivery a kill left claimed is sent again after it "
        "(default 5; the product's is 5 minutes, too long to wait for here)",
    )
    faults.add_argument(
        "--kills",
        type=int,
        default=4,
        help="SIGKILLs of the bot during phase 1, and as many of the campaign sender (default 4)",
    )
    faults.add_argument(
        "--kill-seconds", type=float, default=40.0, help="length of the SIGKILL phase (default 40)"
    )
    faults.add_argument(
        "--outage-seconds", type=float, default=30.0, help="length of the database outage (default 30)"
    )
    faults.add_argument(
        "--settle-seconds",
        type=float,
        default=60.0,
        help="how long to wait at most for the bot to catch up at the end (default 60)",
    )
    faults.add_argument(
        "--sweep-seconds", type=float, default=5.0, help="the bot's INBOX_SWEEP_SECONDS (default 5)"
    )
    faults.add_argument("--seed", type=int, default=1, help="seed of the kill moments and the traffic")
    faults.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server to create a fresh database on "
        "(default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres)",
    )
    faults.add_argument("--workdir", type=Path, default=None, help="keep the bot's log and var folder here")
    faults.add_argument("--keep-database", action="store_true", help="do not drop the database afterwards")
    faults.add_argument(
        "--baseline",
        action="store_true",
        help="run the bot as before the update inbox (PTB's Updater), to compare",
    )
    faults.set_defaults(handler=bench_faults)


def bench_faults(args: argparse.Namespace) -> int:
    from app.lab import LabMissing, lab_module

    try:  # the retirees' takes are rendered by the lab (a checkout of the project only)
        lab_module("synthesis")
    except LabMissing as missing:
        print(missing, file=sys.stderr)
        return 2
    from app.bench_support import BenchUnavailable
    from app.fault_bench import DEFAULT_DATABASE_URL, run_fault_bench

    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        result = asyncio.run(
            run_fault_bench(
                updates=args.updates,
                users=args.users,
                video_notes=args.video_notes,
                campaign_recipients=args.campaign_recipients,
                campaign_rate=args.campaign_rate,
                lease_seconds=args.lease_seconds,
                kills=args.kills,
                kill_seconds=args.kill_seconds,
                outage_seconds=args.outage_seconds,
                settle_seconds=args.settle_seconds,
                sweep_seconds=args.sweep_seconds,
                seed=args.seed,
                database_url=args.database_url or DEFAULT_DATABASE_URL,
                workdir=args.workdir,
                keep_database=args.keep_database,
                baseline=args.baseline,
                progress=lambda line: print(line, flush=True),
            )
        )
    except BenchUnavailable as error:
        print(f"bench faults: {error}")
        return 2
    for line in result.lines():
        print(line)
    return 0 if result.lost == 0 and result.duplicated == 0 else 1
