"""`pension-bot roster import FILE` and `pension-bot bench roster-import`.

The import prints a summary a clerk can act on: how many retirees went in (new and
updated), each refused row by its spreadsheet row number and reason, and the warnings.
ID numbers are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands._database import DatabaseUnavailable, command_runtime
from app.commands._groups import group

if TYPE_CHECKING:
    # The command's own imports are inside the functions: building the parser imports this
    # module for every command, `pension-bot --help` included.
    from app.wiring import RosterPreparation, Runtime
    from storage.protection import PersonalDataVault
    from verification.roster.messages import Language
    from verification.roster.rows import RefusedRow, RowProblem
    from verification.roster.service import Progress, RosterImportReport

BENCH_TARGET_ROWS_PER_SECOND = 5_000


def register(subparsers: argparse._SubParsersAction) -> None:
    roster = group(subparsers, "roster", "the paying agency's roster of retirees")
    importer = roster.add_parser(
        "import",
        help="import a roster (CSV or XLSX); importing the same file again updates, never duplicates",
    )
    importer.add_argument("file", type=Path, metavar="FILE", help="the roster, .csv (UTF-8 or GBK) or .xlsx")
    _progress_options(importer)
    importer.add_argument(
        "--show",
        type=int,
        default=100,
        metavar="N",
        help="list at most N refused rows and N warnings (default 100; all are kept as error records)",
    )
    importer.add_argument("--language", choices=["en", "zh"], default="en", help="language of the reasons")
    importer.add_argument(
        "--no-faces",
        action="store_true",
        help="do not encode reference faces now (run the import again later)",
    )
    importer.set_defaults(handler=import_command)

    bench = group(subparsers, "bench", "benchmarks")
    roster_bench = bench.add_parser(
        "roster-import",
        help="rows/s of a roster import of synthetic rows, on SQLite and PostgreSQL",
    )
    roster_bench.add_argument("--rows", type=int, default=100_000, help="rows to generate (default 100000)")
    roster_bench.add_argument(
        "--postgres-url",
        "--database-url",
        dest="postgres_url",
        default=os.environ.get("TEST_POSTGRES_URL"),
        metavar="URL",
        help="PostgreSQL server on which a temporary database is created and dropped "
        "(default: $TEST_POSTGRES_URL; without it only SQLite runs)",
    )
    roster_bench.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    _progress_options(roster_bench)
    roster_bench.set_defaults(handler=bench_command)


def _progress_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )


# ---------------------------------------------------------------- roster import


def import_command(args: argparse.Namespace) -> int:
    return asyncio.run(_import(args))


async def _import(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from app.wiring import prepare_roster

    try:
        async with command_runtime(Settings()) as runtime:
            report = await _import_into(runtime, args)
            if report is None:
                return 1
            print_summary(report, args.show, args.language)
            _print_preparation(await prepare_roster(runtime, enrol_faces=not args.no_faces))
    except DatabaseUnavailable as error:
        print(f"{error} Nothing was imported.", file=sys.stderr)
        return 1
    return 0


async def _import_into(runtime: Runtime, args: argparse.Namespace) -> RosterImportReport | None:
    from sqlalchemy.exc import SQLAlchemyError

    from verification.roster.service import (
        RosterFileError,
        RosterImportInterrupted,
        RosterSource,
        import_roster,
    )

    source = RosterSource(args.file)
    try:
        with progress_bar(_show_progress(args), f"importing {source.file_name}") as progress:
            return await import_roster(
                source, runtime.uow_factory, runtime.vault, today=date.today(), progress=progress
            )
    except RosterFileError as error:
        print(f"Nothing was imported from {source.file_name}.", file=sys.stderr)
        print(error.message(args.language), file=sys.stderr)
        return None
    except RosterImportInterrupted as error:
        print_summary(error.report, args.show, args.language)
        cause = error.cause
        if isinstance(cause, RosterFileError):
            why = cause.message(args.language)
        elif isinstance(cause, OSError | SQLAlchemyError):
            why = f"the database could not be reached or refused the write ({type(cause).__name__})"
        else:
            why = type(cause).__name__
        print(
            f"\nThe import stopped before the end: {why}. The rows counted above are saved. "
            "Once the cause is fixed, run the same command again: rows already imported are "
            "updated, not duplicated.",
            file=sys.stderr,
        )
        return None


def _print_preparation(prepared: RosterPreparation) -> None:
    print(f"  binding codes issued: {prepared.codes_issued} (export them with `pension-bot binding-codes`)")
    print(f"  due dates set or moved: {prepared.due_dates_set}")
    if prepared.enrolment is None:
        return
    print(f"  reference faces enrolled: {prepared.enrolment.enrolled}")
    for problem in prepared.enrolment.problems:
        # Staff must see whose photo failed; the ID number stays masked.
        why = REFERENCE_PROBLEMS.get(problem.reason, problem.reason)
        print(f"    {problem.name} {problem.masked_id_number}: {why}")


REFERENCE_PROBLEMS = {
    "photo_missing": "no reference photo file: enrol one in person",
    "no_face": "no face found in the reference photo",
    "several_faces": "several faces in the reference photo",
    "too_small": "the reference photo is too small",
}


def print_summary(report: RosterImportReport, show: int, language: Language = "en") -> None:
    from verification.roster.messages import reason_text

    print(f"Roster {report.file_name} (sha256 {report.file_sha256[:12]}…), import #{report.import_id}")
    print(f"  rows read: {report.rows_read}")
    print(f"  imported:  {report.imported} (new {report.new}, updated {report.updated})")
    print(f"  refused:   {len(report.refused)}")
    _print_rows(report.refused, show, language)
    if report.warnings:
        print(f"  warnings:  {len(report.warnings)} (these rows are imported)")
        _print_rows(report.warnings, show, language)
    for column in report.ignored_columns:
        print("  note: " + reason_text("ignored_column", language, column=column))
    if report.refused:
        print("  Correct the refused rows in the file and import it again; rows already in are updated.")


def _print_rows(rows: list[RefusedRow] | list[RowProblem], show: int, language: Language) -> None:
    from verification.roster.rows import RefusedRow

    for entry in rows[:show]:
        problems = entry.problems if isinstance(entry, RefusedRow) else (entry,)
        label = f"row {entry.row}:"
        for problem in problems:
            print(f"    {label:<11} {problem.message(language)} [{problem.code}]")
            label = ""
    if len(rows) > show:
        print(f"    … and {len(rows) - show} more (all are kept as error records of this import)")


def _show_progress(args: argparse.Namespace) -> bool:
    return sys.stderr.isatty() if args.progress is None else args.progress


@contextmanager
def progress_bar(enabled: bool, description: str) -> Iterator[Progress | None]:
    """A tqdm bar on stderr, fed by the import's per-batch callback (None when disabled)."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar: tqdm | None = None

    def advance(rows: int, estimated_total: int | None) -> None:
        nonlocal bar
        if bar is None:  # created at the first batch, once the size is known
            bar = tqdm(total=estimated_total, unit=" rows", desc=description, file=sys.stderr)
        bar.update(rows)

    try:
        yield advance
    finally:
        if bar is not None:
            bar.close()


# ---------------------------------------------------------------- bench roster-import


def bench_command(args: argparse.Namespace) -> int:
    return asyncio.run(_bench(args))


async def _bench(args: argparse.Namespace) -> int:
    # Imported here: only the benchmark needs synthetic people and throwaway keys.
    from cryptography.fernet import Fernet

    from storage.protection import PersonalDataVault
    from verification.roster.synthetic import write_synthetic_roster_csv

    today = date.today()
    ok = True
    with tempfile.TemporaryDirectory(prefix="pension-bench-") as folder:
        started = time.perf_counter()
        roster = write_synthetic_roster_csv(Path(folder) / "roster.csv", args.rows, today=today)
        print(
            f"generated {args.rows} synthetic rows in {time.perf_counter() - started:.1f} s "
            f"({roster.stat().st_size / 1e6:.1f} MB CSV)"
        )
        # Throwaway keys: the data is synthetic and the databases are deleted afterwards.
        vault = PersonalDataVault(Fernet.generate_key(), os.urandom(32))
        if not args.no_sqlite:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            ok &= await _bench_backend("SQLite", url, roster, vault, args, today)
        if args.postgres_url:
            async with temporary_postgres_database(args.postgres_url) as url:
                ok &= await _bench_backend("PostgreSQL", url, roster, vault, args, today)
        else:
            print("PostgreSQL: skipped (give --postgres-url or set TEST_POSTGRES_URL)")
    return 0 if ok else 1


async def _bench_backend(
    label: str, url: str, roster: Path, vault: PersonalDataVault, args: argparse.Namespace, today: date
) -> bool:
    from storage.db import create_engine, create_session_factory
    from storage.schema import ensure_schema
    from storage.uow import unit_of_work_factory
    from verification.roster.service import RosterSource, import_roster

    engine = create_engine(url)
    try:
        await ensure_schema(engine)
        uow_factory = unit_of_work_factory(create_session_factory(engine))
        timings: list[float] = []
        reports: list[RosterImportReport] = []
        for attempt in ("first import", "second import"):
            with progress_bar(_show_progress(args), f"{label} {attempt}") as progress:
                started = time.perf_counter()
                reports.append(
                    await import_roster(
                        RosterSource(roster), uow_factory, vault, today=today, progress=progress
                    )
                )
                timings.append(time.perf_counter() - started)
        async with uow_factory() as uow:
            stored = await uow.retirees.count()
    finally:
        await engine.dispose()
    first, second = reports
    rows = first.rows_read
    print(
        f"{label}: first import {rows} rows in {timings[0]:.2f} s = {rows / timings[0]:,.0f} rows/s "
        f"(new {first.new}, refused {len(first.refused)})"
    )
    print(
        f"{label}: second import of the same file in {timings[1]:.2f} s = {rows / timings[1]:,.0f} rows/s "
        f"(updated {second.updated}, new {second.new})"
    )
    ok = stored == args.rows and first.new == args.rows and second.updated == args.rows and second.new == 0
    print(f"{label}: retirees stored: {stored} ({'no duplicates' if ok else 'MISMATCH'})")
    slowest = rows / max(timings)
    verdict = "met" if slowest >= BENCH_TARGET_ROWS_PER_SECOND else "NOT met"
    print(f"{label}: target {BENCH_TARGET_ROWS_PER_SECOND:,} rows/s {verdict}")
    return ok


class temporary_postgres_database:
    """`async with temporary_postgres_database(server_url) as url`: a new empty database on
    that server, dropped afterwards even if the benchmark fails."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy.engine import make_url

        self._server = make_url(server_url)
        self._name = f"pb_bench_{uuid.uuid4().hex[:12]}"

    async def _admin(self, statement: str) -> None:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        admin = create_async_engine(self._server, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await admin.dispose()

    async def __aenter__(self) -> str:
        await self._admin(f'CREATE DATABASE "{self._name}"')
        return self._server.set(database=self._name).render_as_string(hide_password=False)

    async def __aexit__(self, *exc_info: object) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
