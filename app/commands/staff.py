"""`pension-bot staff add --number S001 --name NAME --region 110105`: a staff member, and
their staff code, printed once (only its keyed hash is stored: it cannot be shown again)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.commands._database import DatabaseUnavailable, command_runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("staff", help="community and agency staff: add")
    actions = parser.add_subparsers(dest="staff_action", required=True, metavar="COMMAND")
    add = actions.add_parser("add", help="add a staff member and print their staff code (once)")
    add.add_argument("--number", required=True, help="staff number, e.g. S001")
    add.add_argument("--name", required=True, help="the staff member's name")
    add.add_argument("--region", required=True, help="6-digit region code they serve, e.g. 110105")
    add.add_argument(
        "--supervisor",
        action="store_true",
        help="a supervisor: decides write-offs (with a prefecture or province code, sees the regions below)",
    )
    add.set_defaults(handler=add_command)


def add_command(args: argparse.Namespace) -> int:
    return asyncio.run(_add(args))


async def _add(args: argparse.Namespace) -> int:
    from accounts.staff import StaffExists
    from app.settings import Settings
    from storage.models.certification import StaffRole

    try:
        async with command_runtime(Settings()) as runtime:
            role = StaffRole.SUPERVISOR if args.supervisor else StaffRole.STAFF
            code = await runtime.bot_services.staff.create(args.number, args.name, args.region, role)
    except DatabaseUnavailable as error:
        print(f"{error} Nothing was added.", file=sys.stderr)
        return 1
    except StaffExists:
        print(f"Staff number {args.number} is already on file; nothing was added.", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"Not added: {error}.", file=sys.stderr)
        return 2
    kind = "Supervisor" if args.supervisor else "Staff member"
    print(f"{kind} {args.number} added (region {args.region}).")
    print(f"Staff code: {code}")
    print("Hand this code to the staff member now: it is shown only this once and cannot be shown again.")
    print("They sign in with /staff (🔑 工作人员验证) in the bot.")
    return 0
