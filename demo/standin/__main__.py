"""``python -m demo.standin``: serve the stand-in on its own, e.g. for manual demos.

python -m demo.standin --port 8081 --token 123456:ABC
"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from demo.standin.server import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m demo.standin", description="Local stand-in for the Bot API"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", action="append", help="accepted bot token (repeatable; default: any)")
    parser.add_argument("--bot-username", default="pension_demo_bot")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    app = create_app(args.token, bot_username=args.bot_username)
    web.run_app(app, host=args.host, port=args.port, shutdown_timeout=1.0)


if __name__ == "__main__":
    main()
