"""`pension-bot checks coverage|propose|assign|list`: the check plan from the command line.

- `checks coverage [--region R] [--year Y] [--json]`: per region and quarter, the retirees
  checked by any means from 1 January to the quarter's end, against the 60 % target, and per
  means; counted from the verification records.
- `checks propose --quarter 2026Q4 [--region R] [--count N] [--on DATE]`: propose checks on
  site, riskiest first (proposing again adds nothing the region already has).
- `checks assign CHECK_ID STAFF_NUMBER`: assign a check to a community staff member.
- `checks list [--quarter Q] [--region R] [--state S] [--json]`: the checks, with no names
  and no ID numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING

from app.commands._database import DatabaseUnavailable, command_runtime

if TYPE_CHECKING:
    from verification.checkplan.coverage import RegionCoverage
    from verification.checkplan.service import CheckPlanService

STATES = ("proposed", "assigned", "done")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "checks", help="the check plan: coverage against the 60 %% target, checks on site"
    )
    actions = parser.add_subparsers(dest="checks_action", required=True, metavar="COMMAND")

    coverage = actions.add_parser(
        "coverage", help="retirees checked per region and quarter against the target, and per means"
    )
    coverage.add_argument("--region", help="6-digit region code (default: each residence region)")
    coverage.add_argument("--year", type=int, help="default: this year")
    coverage.add_argument("--json", action="store_true", help="print JSON instead of tables")
    coverage.set_defaults(handler=lambda args: asyncio.run(_coverage(args)))

    propose = actions.add_parser("propose", help="propose checks on site for a quarter, riskiest first")
    propose.add_argument("--quarter", required=True, help="e.g. 2026Q4")
    propose.add_argument("--region", help="6-digit region code (default: each residence region)")
    propose.add_argument(
        "--count",
        type=int,
        help="checks the region should have in the quarter (default: what the target still needs,"
        " spread over the quarters left)",
    )
    propose.add_argument(
        "--on",
        type=date.fromisoformat,
        help="the planning day (ages, signals) (default: today)",
    )
    propose.set_defaults(handler=lambda args: asyncio.run(_propose(args)))

    assign = actions.add_parser("assign", help="assign a check to a community staff member")
    assign.add_argument("check_id", type=int, metavar="CHECK_ID")
    assign.add_argument("staff_number", metavar="STAFF_NUMBER")
    assign.set_defaults(handler=lambda args: asyncio.run(_assign(args)))

    listing = actions.add_parser("list", help="the checks (no names, no ID numbers)")
    listing.add_argument("--quarter", help="e.g. 2026Q4")
    listing.add_argument("--region", help="6-digit region code")
    listing.add_argument("--state", choices=STATES)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=lambda args: asyncio.run(_list(args)))


def _quarter(text: str | None):  # -> Quarter | None
    from verification.checkplan.quarters import Quarter

    return Quarter.parse(text) if text else None


def _service(runtime) -> CheckPlanService:
    service = runtime.bot_services.check_plan
    assert service is not None  # the runtime always builds it
    return service


async def _coverage(args: argparse.Namespace) -> int:
    from app.settings import Settings

    try:
        async with command_runtime(Settings()) as runtime:
            service = _service(runtime)
            year = args.year or service.today().year
            found = await service.coverage(year, args.region)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([region.as_json() for region in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("No retirees on the roster.")
    for region in found:
        _print_coverage(region)
    return 0


def _print_coverage(region: RegionCoverage) -> None:
    from verification.checkplan.means import Means

    target = region.quarters[0].target if region.quarters else 0.6
    print(f"Region {region.region}, {region.year}: checked since 1 January, target {target:.0%}")
    print(f"{'quarter':<8}{'roster':>8}{'checked':>9}{'share':>8}{'target':>8}{'missing':>9}{'in qtr':>8}")
    for q in region.quarters:
        print(
            f"{q.quarter:<8}{q.roster:>8}{q.checked:>9}{q.share:>8.1%}{q.target_count:>8}"
            f"{q.shortfall:>9}{q.checked_in_quarter:>8}"
        )
    print("by means (retirees; one retiree may count under several):")
    print(f"  {'means':<14}" + "".join(f"{q.quarter:>8}" for q in region.quarters))
    for means in Means:
        print(
            f"  {means.value:<14}" + "".join(f"{q.by_means.get(means.value, 0):>8}" for q in region.quarters)
        )
    print()


async def _propose(args: argparse.Namespace) -> int:
    from app.settings import Settings

    try:
        quarter = _quarter(args.quarter)
    except ValueError as error:
        print(f"Nothing proposed: {error}.", file=sys.stderr)
        return 2
    if args.count is not None and args.count < 0:
        print("Nothing proposed: --count must not be negative.", file=sys.stderr)
        return 2
    try:
        async with command_runtime(Settings()) as runtime:
            proposals = await _service(runtime).propose(
                quarter, region=args.region, count=args.count, on=args.on, actor="cli"
            )
    except DatabaseUnavailable as error:
        print(f"{error} Nothing was proposed.", file=sys.stderr)
        return 1
    for proposal in proposals:
        print(
            f"Region {proposal.region}, {proposal.quarter}: {len(proposal.created)} proposed now,"
            f" {proposal.existing} before (wanted {proposal.wanted}; {proposal.eligible} eligible)"
        )
        if proposal.created:
            print("  check ids: " + " ".join(str(check_id) for check_id in proposal.created))
    if not proposals:
        print("No retirees on the roster: nothing to propose.")
    return 0


async def _assign(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from verification.checkplan.service import AssignOutcome

    try:
        async with command_runtime(Settings()) as runtime:
            done = await _service(runtime).assign(args.check_id, args.staff_number)
    except DatabaseUnavailable as error:
        print(f"{error} Nothing was assigned.", file=sys.stderr)
        return 1
    if done.outcome is AssignOutcome.ASSIGNED:
        print(f"Check {args.check_id} assigned to staff member {done.staff_number}.")
        return 0
    why = {
        AssignOutcome.NO_CHECK: f"there is no check {args.check_id}",
        AssignOutcome.NO_STAFF: f"no active staff member has the number {args.staff_number}",
        AssignOutcome.OTHER_REGION: f"staff member {args.staff_number} does not serve the retiree's region",
        AssignOutcome.DONE: f"check {args.check_id} is done already",
    }[done.outcome]
    print(f"Not assigned: {why}.", file=sys.stderr)
    return 1


async def _list(args: argparse.Namespace) -> int:
    from app.settings import Settings

    try:
        quarter = _quarter(args.quarter)
    except ValueError as error:
        print(f"{error}.", file=sys.stderr)
        return 2
    try:
        async with command_runtime(Settings()) as runtime:
            rows = await _service(runtime).list_checks(
                quarter=quarter, region=args.region, states=[args.state] if args.state else None
            )
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([asdict(row) for row in rows], ensure_ascii=False, indent=2))
        return 0
    header = (
        f"{'id':>6}  {'quarter':<7} {'region':<6} {'retiree':>8} {'score':>5}  {'state':<8} {'staff':<10}"
    )
    print(f"{header} result")
    for row in rows:
        print(
            f"{row.check_id:>6}  {row.quarter:<7} {row.region:<6} {row.retiree_id:>8} {row.score:>5}  "
            f"{row.state:<8} {row.staff_number or '-':<10} {row.result or '-'}"
        )
        if row.reasons:
            print(f"{'':>8}reasons: {', '.join(row.reasons)}")
    print(f"{len(rows)} checks.")
    return 0
