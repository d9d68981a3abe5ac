"""`pension-bot serve --role ROLE`: one role of a deployment that outgrows one machine.

* `ingress`: the webhook (stateless; as many as the load needs), publishing to RabbitMQ.
* `worker`: the bot on the updates of RabbitMQ (WORKER_INDEX of WORKERS).
* `scheduler`: the bot's timed jobs (reminders, sweeps, campaigns), each in one process at a time.
* `faces`: face and liveness checks from the task queue (FACE_QUEUE=broker elsewhere).
* `all`: everything in one process, as `pension-bot run` (no broker).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

ROLES = ("all", "ingress", "worker", "scheduler", "faces")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run one role of a scaled-out deployment (ingress, worker, scheduler, faces) or all of it",
        description="Runs one role until SIGTERM. ingress and worker need BROKER_URL; every process "
        "must share UPDATE_PARTITIONS; ingress replicas share WEBHOOK_SECRET; worker i of M sets "
        "WORKER_INDEX=i and WORKERS=M. deploy/README.md shows a whole deployment.",
    )
    parser.add_argument("--role", choices=ROLES, default="all", help="the role of this process (default all)")
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from app.logs import configure_logging
    from app.settings import Settings

    if args.role == "all":
        from app.commands.run import _run

        return _run(args)
    from app.roles import RoleNotConfigured, check_settings

    configure_logging()
    settings = Settings()
    configure_logging(settings=settings)
    try:
        check_settings(args.role, settings)
    except RoleNotConfigured as refused:
        print(refused.code, file=sys.stderr)
        return 2
    asyncio.run(_role(args.role, settings))
    return 0


async def _role(role: str, settings) -> None:
    from app.roles import faces_until, ingress_until, scheduler_until, worker_until
    from app.serve import stop_on_signals
    from app.wiring import open_runtime

    stop = asyncio.Event()
    stop_on_signals(stop)
    if role == "faces":  # no database: the jobs carry what they need
        await faces_until(settings, stop)
        return
    # An ingress answers no employer question: the knowledge base is not indexed there.
    async with open_runtime(settings, index_knowledge=role != "ingress") as runtime:
        logging.getLogger(__name__).info("serving as %s", role)
        until = {"ingress": ingress_until, "worker": worker_until, "scheduler": scheduler_until}[role]
        await until(runtime, stop)
