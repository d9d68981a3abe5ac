"""`pension-bot bench broadcast --recipients N`: the campaign sender against the stand-in,
in this process and killed in a subprocess (what it measures: app/broadcast_bench.py)."""

from __future__ import annotations

import argparse
import asyncio

from app.commands._groups import group
from app.commands._help import deferred


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = group(subparsers, "bench", "benchmarks that print figures")
    parser = bench.add_parser(
        "broadcast",
        help="campaign sender vs. the stand-in: duration against the rate limit, duplicates, losses, crash",
    )
    parser.add_argument("--recipients", type=int, default=300, metavar="N")
    deferred(
        parser.add_argument(
            "--rate", type=float, default=None, help="messages a second (default %(telegram_rate)s)"
        ),
        telegram_rate=lambda: f"{_telegram_rate():g}",
    )
    parser.add_argument("--kill-at", type=float, default=0.5, help="kill the sender after this share (0.5)")
    parser.add_argument("--no-kill", action="store_true", help="skip the killed-and-restarted run")
    parser.set_defaults(handler=bench_broadcast_command)


def _telegram_rate() -> float:
    from content.publicity.sender import TELEGRAM_RATE

    return TELEGRAM_RATE


def bench_broadcast_command(args: argparse.Namespace) -> int:
    from app.broadcast_bench import bench_broadcast

    if args.rate is None:
        args.rate = _telegram_rate()
    return asyncio.run(bench_broadcast(args))
