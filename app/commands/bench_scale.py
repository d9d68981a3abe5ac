"""`pension-bot bench scale`: the scaled-out roles as processes on this machine's PostgreSQL,
RabbitMQ and Redis (app/scale_bench.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.commands._groups import group


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = group(subparsers, "bench", "benchmarks")
    scale = bench.add_parser(
        "scale",
        help="the scaled-out deployment as processes: updates/s and order through ingress and workers "
        "under SIGKILL; liveness checks/s on one and two face workers",
        description=(
            "Part 1: the stand-in delivers webhook updates to two ingress processes in front of two bot "
            "workers (`serve --role`); employers send a burst of questions while one ingress and one "
            "worker are killed with SIGKILL and the worker restarted; prints updates/s, p50/p95 seconds "
            "from sent to recorded, and questions lost, recorded twice or out of order. Part 2: a burst "
            "of liveness checks (a real recording from ../shared/liveness/real) through the task queue to "
            "one, then two face workers (one killed mid-burst and restarted); prints checks/s, p50/p95 "
            "seconds to the verdict and the speed-up. Part 3: retirees due for a reminder while three "
            "schedulers run: each must be reminded once (the bench's region keeps no quiet hours, so "
            "any hour will do)."
        ),
    )
    scale.add_argument("--employers", type=int, default=20, help="employer chats (default 20)")
    scale.add_argument("--questions", type=int, default=10, help="questions each employer sends (default 10)")
    scale.add_argument(
        "--reminded",
        type=int,
        default=50,
        help="retirees due for a reminder while three schedulers run (default 50; 0: none)",
    )
    scale.add_argument(
        "--face-checks", type=int, default=60, help="liveness checks in each face burst (default 60; 0: none)"
    )
    scale.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server where the bench may create and drop a database",
    )
    scale.add_argument("--broker-url", default="amqp://guest:guest@127.0.0.1:5672/", help="RabbitMQ")
    scale.add_argument("--redis-url", default="redis://127.0.0.1:6379/15", help="Redis")
    scale.set_defaults(handler=bench_scale)


def bench_scale(args: argparse.Namespace) -> int:
    from app.bench_support import BenchUnavailable
    from app.scale_bench import run_scale_bench

    try:
        result = asyncio.run(
            run_scale_bench(
                employers=args.employers,
                questions=args.questions,
                face_checks=args.face_checks,
                reminded=args.reminded,
                admin_url=args.database_url,
                broker_url=args.broker_url,
                redis_url=args.redis_url,
                progress=lambda line: print(line, flush=True),
            )
        )
    except BenchUnavailable as error:
        print(f"bench scale: {error}", file=sys.stderr)
        return 2
    for line in result.lines():
        print(line)
    return 0 if result.sound else 1
