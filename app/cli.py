"""The `pension-bot` console command: a thin dispatcher over the command modules.

Each module in `app.commands` exposes `register(subparsers)`; it adds its subcommands and
sets `handler` (a plain function taking the parsed arguments and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

import app.commands
from app.file_modes import private_umask
from kernel.data_files import DataFileProblems
from storage.key_errors import KeysDoNotMatchDatabase


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
    # Whatever the product writes (database, -wal/-shm, secrets, exports) is its owner's only.
    previous_umask = private_umask()
    try:
        return int(args.handler(args) or 0)
    except DataFileProblems as error:
        # A course or question bank the agency edited: every problem, one a line, no traceback.
        print(f"pension-bot: a data file cannot be used ({type(error).__name__}):", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except KeysDoNotMatchDatabase as error:
        # One paragraph, no traceback: what was lost and how to restore it (no key material).
        print(f"pension-bot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        os.umask(previous_umask)  # for a caller in the same process (tests)


if __name__ == "__main__":
    sys.exit(main())
