"""`pension-bot demo`: try every role in a browser, with no Telegram account."""

from __future__ import annotations

import argparse
import asyncio


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the bot against the local stand-in with a web chat page")
    parser.add_argument("--port", type=int, default=8080, help="port of the demo page (default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from app.demo import run_demo
    from app.logs import configure_logging
    from app.settings import Settings

    configure_logging()
    asyncio.run(run_demo(Settings(), args.host, args.port))
    return 0
