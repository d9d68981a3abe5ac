"""The `pension-bot` console command: a thin dispatcher over the command modules.

Each module in `app.commands` exposes `register(subparsers)`; it adds its subcommands and
sets `handler` (a plain function taking the parsed arguments and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import app.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pension-bot",
        description="Pension qualification certification and social-insurance publicity bot.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(app.commands.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):  # helpers shared by command modules, e.g. _groups
            continue
        module = importlib.import_module(f"app.commands.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
