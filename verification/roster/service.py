"""Importing the paying agency's roster of retirees.

    report = await import_roster(RosterSource(path), uow_factory, vault, today=date.today())

Good rows are written in batches of about 1,000, each batch (retirees, error records for
refused rows, and the running counts of the import) in one transaction: a failure half-way
keeps every batch committed before it and leaves no half-written batch; running the import
again then updates the rows already in, never duplicating them (upsert keyed by the
ID-number lookup hash).

Reading, checking and encrypting rows (the CPU-heavy half) runs off the event loop: in a
worker thread, or for large rosters in a child process so it overlaps the database writes
on another core (see batches.py).

ID numbers and phone numbers leave this module only as the vault's lookup hash and
encrypted copies; reports and error records carry row numbers and reason codes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from storage.models import ErrorRecord, RosterImport
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.roster.batches import Batch, BatchBuilder, BatchFeed, ProcessBatchFeed, ThreadBatchFeed
from verification.roster.reader import RosterFileError, RosterReader, RosterSource
from verification.roster.rows import RefusedRow, RowProblem

ERROR_SOURCE = "roster_import"
BATCH_SIZE = 1000
PARALLEL_FROM_ROWS = 20_000

# Called after each committed batch: (rows in that batch, estimated rows in the file or None).
Progress = Callable[[int, int | None], None]

__all__ = [
    "BATCH_SIZE",
    "Progress",
    "ERROR_SOURCE",
    "RosterFileError",
    "RosterImportInterrupted",
    "RosterImportReport",
    "RefusedRow",
    "RosterSource",
    "RowProblem",
    "import_roster",
]


@dataclass
class RosterImportReport:
    """What an import did; counts are of committed rows only."""

    file_name: str
    file_sha256: str = ""
    import_id: int | None = None
    rows_read: int = 0  # data rows met (blank rows are not counted)
    new: int = 0
    updated: int = 0
    refused: list[RefusedRow] = field(default_factory=list)  # one entry per refused row
    warnings: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    estimated_rows: int | None = None
    completed: bool = False

    @property
    def imported(self) -> int:
        return self.new + self.updated


class RosterImportInterrupted(Exception):
    """The import stopped half-way (e.g. the database went away). `report` shows what was
    committed before; importing the same file again completes it without duplicates."""

    def __init__(self, report: RosterImportReport, cause: BaseException) -> None:
        self.report = report
        self.cause = cause
        super().__init__(
            f"roster import stopped after {report.imported} committed rows: {type(cause).__name__}"
        )


async def import_roster(
    source: RosterSource,
    uow_factory: UnitOfWorkFactory,
    vault: PersonalDataVault,
    *,
    today: date,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    parallel: bool | None = None,
) -> RosterImportReport:
    """Import a roster file. Raises `RosterFileError` (nothing written) when the file as a
    whole is unusable, `RosterImportInterrupted` when writing stopped half-way.

    `parallel`: build batches in a child process (None: only for rosters of more than
    PARALLEL_FROM_ROWS rows, where it pays for the process start).
    """
    reader: RosterReader = await asyncio.to_thread(source.open)
    report = RosterImportReport(
        file_name=source.file_name,
        file_sha256=reader.file_sha256,
        ignored_columns=list(reader.ignored_columns),
        estimated_rows=reader.estimated_rows,
    )
    if parallel is None:
        parallel = (reader.estimated_rows or 0) >= PARALLEL_FROM_ROWS
    feed: BatchFeed
    try:
        if parallel:
            reader.close()  # the child process reads the file itself
            feed = await ProcessBatchFeed.start(
                source, reader.file_sha256, batch_size, BatchBuilder.for_reader, source, vault, today
            )
        else:
            feed = ThreadBatchFeed(BatchBuilder.for_reader(reader, source, vault, today), batch_size)
        try:
            await _write_all(feed, uow_factory, report, progress)
        except Exception as error:
            raise RosterImportInterrupted(report, error) from error
        finally:
            await feed.aclose()
    finally:
        reader.close()
    return report


async def _write_all(
    feed: BatchFeed,
    uow_factory: UnitOfWorkFactory,
    report: RosterImportReport,
    progress: Progress | None,
) -> None:
    async with uow_factory() as uow:
        roster_import = RosterImport(file_name=report.file_name[:300], file_sha256=report.file_sha256)
        uow.roster_imports.add(roster_import)
        await uow.commit()  # committed first, so error records of every batch can refer to it
        report.import_id = roster_import.id
        while (batch := await feed.next()).rows_read:
            new = await _write_batch(uow, roster_import, batch)
            # The report follows commits only: it never claims rows a failed batch lost.
            report.rows_read += batch.rows_read
            report.new += new
            report.updated += len(batch.values) - new
            report.refused.extend(batch.refused)
            report.warnings.extend(batch.warnings)
            if progress is not None:
                progress(batch.rows_read, report.estimated_rows)
        roster_import.finished_at = datetime.now(UTC)
        await uow.commit()
        report.completed = True


async def _write_batch(uow: UnitOfWork, roster_import: RosterImport, batch: Batch) -> int:
    """One transaction: the retirees, the error records, the running counts. Returns how
    many retirees were new."""
    new = await uow.retirees.upsert_many(batch.values)
    for refused in batch.refused:
        uow.errors.add(_error_record(refused, roster_import.id, warning=False))
    for warning in batch.warnings:
        uow.errors.add(_error_record(warning, roster_import.id, warning=True))
    roster_import.rows_total += batch.rows_read
    roster_import.rows_imported += len(batch.values)
    roster_import.rows_refused += len(batch.refused)
    await uow.commit()
    return new


def _error_record(problem: RefusedRow | RowProblem, import_id: int, *, warning: bool) -> ErrorRecord:
    context = problem.context()
    if warning:
        context["severity"] = "warning"  # the row was imported; only something to follow up
    return ErrorRecord(
        source=ERROR_SOURCE,
        code=problem.code,
        detail=f"row {problem.row}: {problem.message('en')}",
        context=context,
        roster_import_id=import_id,
    )
