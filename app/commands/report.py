"""`pension-bot report quarterly`: a region's quarterly report on its checking work against the
60 % target, as the notice asks every region for each quarter.

- `report quarterly --quarter 2026Q4 [--region CODE] --out FILE.xlsx|FILE.pdf [--language L]`:
  every figure counted from the database (with how it was counted), the coverage month by
  month and, in the workbook, the verification records counted; without --region, the whole
  database. No names and no ID numbers are written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from app.commands._database import DatabaseUnavailable, command_runtime

FORMATS = (".xlsx", ".pdf")
LANGUAGES = ("zh_Hans", "en")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="reports on the checking work (the quarterly report)")
    actions = parser.add_subparsers(dest="report_action", required=True, metavar="COMMAND")
    quarterly = actions.add_parser(
        "quarterly", help="a region's quarter against the 60 %% target, as a workbook or a PDF"
    )
    quarterly.add_argument("--quarter", required=True, help="e.g. 2026Q4")
    quarterly.add_argument(
        "--region",
        help="6-digit residence region code; a prefecture or province code covers the regions below"
        " it (default: the whole database)",
    )
    quarterly.add_argument("--out", required=True, type=Path, help="FILE.xlsx or FILE.pdf")
    quarterly.add_argument("--language", default="zh_Hans", help="zh_Hans (default) or en")
    quarterly.set_defaults(handler=_quarterly)


def _refuse(why: str) -> int:
    print(f"No report written: {why}.", file=sys.stderr)
    return 2


def _quarterly(args: argparse.Namespace) -> int:
    from kernel.regions import region_prefix
    from verification.checkplan.quarters import Quarter

    try:
        quarter = Quarter.parse(args.quarter)
        region_prefix(args.region or "")
    except ValueError as error:
        return _refuse(str(error))
    out: Path = args.out
    kind = out.suffix.lower()
    if kind not in FORMATS:
        return _refuse(f"--out must end in .xlsx or .pdf, not {out.name!r}")
    if args.language not in LANGUAGES:
        return _refuse(f"--language is zh_Hans or en, not {args.language!r}")
    if not out.parent.is_dir():
        return _refuse(f"there is no folder {out.parent}")
    region = args.region or ""
    try:
        figures, trace = asyncio.run(_count(region, quarter, with_trace=kind == ".xlsx"))
    except DatabaseUnavailable as error:
        print(f"{error} No report written.", file=sys.stderr)
        return 1

    from content.i18n import Translator
    from verification.reporting.documents import render_pdf, render_xlsx

    t = Translator(args.language)
    out.write_bytes(render_xlsx(figures, t, trace=trace) if kind == ".xlsx" else render_pdf(figures, t))
    where = f"region {region}" if region else "the whole database (every region)"
    print(f"Quarterly report {quarter}, {where}: written to {out}")
    print(
        f"  retirees {figures.value('retirees')}, certified this quarter {figures.value('certified')},"
        f" since 1 January {figures.value('checked_year')} ({figures.share:.1%}; target"
        f" {figures.target:.0%} = {figures.value('target_count')}, missing {figures.value('shortfall')})"
    )
    print(
        f"  overdue {figures.value('overdue')}, suspended {figures.value('suspended')},"
        f" reviews open {figures.value('reviews_open')}, audits open {figures.value('audits_open')}"
    )
    return 0


async def _count(region: str, quarter, *, with_trace: bool):  # -> (QuarterFigures, [TracedRecord])
    from zoneinfo import ZoneInfo

    from app.settings import Settings
    from verification.reporting.service import QuarterlyReportService

    settings = Settings()
    async with command_runtime(settings) as runtime:
        plan = runtime.bot_services.check_plan
        service = QuarterlyReportService(
            runtime.uow_factory,
            zone=ZoneInfo(settings.timezone),
            target=plan.policy.target if plan is not None else 0.6,  # the check plan's target
            own_region=settings.region_code,
        )
        figures = await service.figures(region, quarter)
        trace = await service.trace(region, quarter) if with_trace else []
    return figures, trace
