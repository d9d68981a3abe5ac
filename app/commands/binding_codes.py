"""`pension-bot binding-codes [--issue-missing] [--out FILE]`: the binding codes for the
notice letters, as a CSV a clerk opens in Excel (UTF-8 with BOM, Chinese headings).

One row per retiree holding an unused code (the newest): name, masked ID number, region of
residence, the code, the date it was issued. The file holds secrets: it is created readable
by its owner only, and the codes are never printed to the terminal unless `--out -` asks
for the CSV on standard output (the counts then go to standard error).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands._database import DatabaseUnavailable, command_runtime

if TYPE_CHECKING:
    from accounts.binding import NoticeLetterRow

HEADER = ("姓名", "身份证号码（部分隐藏）", "居住地区划代码", "绑定码", "发放日期")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "binding-codes",
        help="export the binding codes for the notice letters (CSV for Excel)",
        description="Export one row per retiree holding an unused binding code: name, masked ID "
        "number, region of residence, code, issued date.",
    )
    parser.add_argument(
        "--issue-missing",
        action="store_true",
        help="first issue a code to every retiree that holds no unused code",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="where to write the CSV (default: VAR_DIR/binding-codes-YYYY-MM-DD.csv); "
        "'-' writes it to standard output",
    )
    parser.set_defaults(handler=binding_codes_command)


def binding_codes_command(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from app.settings import Settings

    settings = Settings()
    to_stdout = args.out == "-"
    report = sys.stderr if to_stdout else sys.stdout
    try:
        async with command_runtime(settings) as runtime:
            service = runtime.bot_services.binding
            if args.issue_missing:
                issued = await service.issue_codes(issued_by="cli:binding-codes")
                print(f"codes issued now: {issued}", file=report)
            rows = await service.notice_letters()
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 1

    if to_stdout:
        sys.stdout.write(to_csv(rows, bom=False))
        sys.stdout.flush()
    else:
        path = (
            Path(args.out) if args.out else settings.var_dir / f"binding-codes-{date.today().isoformat()}.csv"
        )
        write_private(path, to_csv(rows, bom=True))
        print(f"written: {path}", file=report)
    print(f"retirees with an unused code (rows): {len(rows)}", file=report)
    return 0


def to_csv(rows: list[NoticeLetterRow], *, bom: bool) -> str:
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")  # Excel reads UTF-8 (and so the Chinese) only with the BOM
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [_cell(row.name), row.masked_id_number, row.residence_region, row.code, row.issued_on.isoformat()]
        )
    return buffer.getvalue()


def _cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to Excel: never let a name become one.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def write_private(path: Path, text: str) -> None:
    """Write the file readable by its owner only (it holds working codes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
