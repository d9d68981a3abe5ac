"""`pension-bot reference enrol --staff-number S-01 --photo FILE`: a new reference face for
a retiree, taken or checked by staff in person (re-enrolment is for staff only).

The ID number is read from standard input, never from the command line, so that it does
not end up in the shell's history or the process list."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from app.commands._database import DatabaseUnavailable, command_runtime

OUTCOMES = {
    "enrolled": "Reference face enrolled; the earlier ones were replaced.",
    "unknown_staff": "No active staff member has that staff number.",
    "unknown_retiree": "No retiree on file has that ID number.",
    "not_your_region": "That retiree lives outside the staff member's region.",
    "no_face": "No face was found in the photo.",
    "several_faces": "The photo holds several faces; take one of the retiree alone.",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("reference", help="reference faces: enrol one in person (staff)")
    actions = parser.add_subparsers(dest="reference_action", required=True, metavar="COMMAND")
    enrol = actions.add_parser(
        "enrol", help="replace a retiree's reference face; reads the ID number from stdin"
    )
    enrol.add_argument("--staff-number", required=True, help="the staff member doing it")
    enrol.add_argument("--photo", required=True, type=Path, help="the photo taken in person")
    enrol.set_defaults(handler=_enrol)


def _enrol(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        print("ID number of the retiree: ", end="", file=sys.stderr, flush=True)
    id_number = sys.stdin.readline().strip().upper()
    try:
        photo = args.photo.read_bytes()
    except OSError as error:
        print(f"Cannot read {args.photo}: {error.strerror}.", file=sys.stderr)
        return 2
    return asyncio.run(_run(args.staff_number, id_number, photo))


async def _run(staff_number: str, id_number: str, photo: bytes) -> int:
    from app.settings import Settings

    try:
        async with command_runtime(Settings()) as runtime:
            outcome = await runtime.enrolment.enrol_by_staff(staff_number, id_number, photo)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    print(OUTCOMES.get(outcome, f"The photo cannot serve as a reference: {outcome}."))
    return 0 if outcome == "enrolled" else 1
