"""`pension-bot db upgrade|status`: the schema version, by hand (e.g. after a backup)."""

from __future__ import annotations

import argparse
import asyncio


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="database schema: status, upgrade")
    actions = parser.add_subparsers(dest="db_action", required=True)
    actions.add_parser("upgrade", help="upgrade the schema to this release").set_defaults(handler=_upgrade)
    actions.add_parser("status", help="show the schema version").set_defaults(handler=_status)


def _upgrade(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from storage.db import create_engine
    from storage.schema import current_revision, head_revision, upgrade

    async def run() -> None:
        engine = create_engine(Settings().database_url)
        try:
            before = await current_revision(engine)
            await upgrade(engine)
            print(f"schema: {before or 'empty'} -> {head_revision()}")
        finally:
            await engine.dispose()

    asyncio.run(run())
    return 0


def _status(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from storage.db import create_engine
    from storage.schema import current_revision, head_revision

    async def run() -> int:
        engine = create_engine(Settings().database_url)
        try:
            current = await current_revision(engine)
        finally:
            await engine.dispose()
        head = head_revision()
        state = "up to date" if current == head else "needs upgrade"
        print(f"schema: {current or 'empty'}; this release: {head}; {state}")
        return 0 if current == head else 1

    return asyncio.run(run())
