"""Importing a feed of another agency's records: life signals, or deaths.

    report = await importer.import_file(path, "medical_settlement")

The file is read like the roster (CSV or XLSX, the same file-level refusals, rows refused by
number with a reason code) and written in batches, one transaction each: the signals, what
they did (silent certifications, deaths), their verification records, the notices to the
retirees' chats, the error records of refused rows and the import's running counts. So an
import stopped half-way keeps every batch before it and re-running it completes it:

* a signal already kept (retiree, source, day) is counted as repeated, never twice, and a
  repeated signal certifies nothing;
* a file whose import completed before (same source, same SHA-256) is refused as a whole;
* a death already recorded for the person is refused by row ("already dead").

Nothing here keeps an ID number: rows are matched by the vault's keyed lookup hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kernel.clock import Clock, utc_now
from storage.models import ErrorRecord
from storage.models.signals import SignalImport
from storage.protection import PersonalDataVault
from storage.repositories.signals import MatchedRetiree
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.cycle.policies import CyclePolicies
from verification.records.chain import RecordDraft, append_records
from verification.roster.batches import ProcessBatchFeed, ThreadBatchFeed
from verification.roster.reader import CellValue, RawRow, RosterFileError, RosterReader, RosterSource
from verification.roster.rows import RefusedRow, RowProblem
from verification.signals.deaths import DeathOutcome, record_death
from verification.signals.rows import SIGNAL_LAYOUT, SignalField, SignalRow, SignalRowChecker
from verification.signals.rules import Cycle, NotCertifying, silent_certification
from verification.signals.sources import SignalSources, SourcePolicy

ERROR_SOURCE = "signal_import"
BATCH_SIZE = 5000
PARALLEL_FROM_ROWS = 20_000
SILENT_CERTIFIED = "silent_certified"  # the ChatNotice kind

Progress = Callable[[int, int | None], None]


class FeedRefused(Exception):
    """The feed as a whole is not taken (nothing written): `code` is a reason code."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(code)


@dataclass
class FeedReport:
    source: str
    file_name: str
    file_sha256: str = ""
    import_id: int | None = None
    rows_read: int = 0
    kept: int = 0  # new signals (or deaths) written
    repeated: int = 0  # already on file: not counted again
    certified: int = 0
    deaths: int = 0
    suspected_false_claims: int = 0
    recovery_cases: int = 0
    not_certifying: Counter[str] = field(default_factory=Counter)
    refused: list[RefusedRow] = field(default_factory=list)
    estimated_rows: int | None = None
    completed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "import_id": self.import_id,
            "rows_read": self.rows_read,
            "kept": self.kept,
            "repeated": self.repeated,
            "certified": self.certified,
            "deaths": self.deaths,
            "suspected_false_claims": self.suspected_false_claims,
            "recovery_cases": self.recovery_cases,
            "not_certifying": dict(self.not_certifying),
            "refused": [{"row": r.row, "codes": r.codes} for r in self.refused],
            "completed": self.completed,
        }


@dataclass
class FeedBatch:
    rows_read: int = 0
    rows: list[SignalRow] = field(default_factory=list)
    refused: list[RefusedRow] = field(default_factory=list)


class _BatchBuilder:
    def __init__(self, rows: Iterator[RawRow], checker: SignalRowChecker) -> None:
        self._rows = rows
        self._checker = checker

    def next_batch(self, size: int) -> FeedBatch:
        batch = FeedBatch()
        for raw in self._rows:
            batch.rows_read += 1
            checked = self._checker.check(raw)
            if isinstance(checked, RefusedRow):
                batch.refused.append(checked)
            else:
                batch.rows.append(checked)
            if batch.rows_read >= size:
                break
        return batch


def _builder_for(
    reader: RosterReader, vault: PersonalDataVault, today: date, one_per_person: bool
) -> _BatchBuilder:
    """A feed's batch builder for an opened file (also called in the reader's child process)."""
    checker = SignalRowChecker(vault, today=today, columns=reader.columns, one_per_person=one_per_person)
    return _BatchBuilder(reader.rows(), checker)


class FeedImporter:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        sources: SignalSources,
        policies: CyclePolicies,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Clock = utc_now,
        region_code: str | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.sources = sources
        self._uow_factory = uow_factory
        self._vault = vault
        self._policies = policies
        self._zone = ZoneInfo(timezone)
        self._clock = clock
        self._region_code = region_code  # the chain records are appended to
        self._batch_size = batch_size

    def today(self) -> date:
        return self._clock().astimezone(self._zone).date()

    async def import_file(
        self, path: Path, source_name: str, *, progress: Progress | None = None
    ) -> FeedReport:
        """Raises `SourceError` (unknown source), `RosterFileError` (the file as a whole is
        unusable) or `FeedRefused` (imported before), with nothing written."""
        policy = self.sources.get(source_name)
        source = RosterSource(path, SIGNAL_LAYOUT)
        reader = await asyncio.to_thread(source.open)
        report = FeedReport(policy.name, path.name, reader.file_sha256, estimated_rows=reader.estimated_rows)
        arguments = (self._vault, self.today(), policy.is_death)
        feed: Any
        try:
            if (reader.estimated_rows or 0) >= PARALLEL_FROM_ROWS:
                # Rows are checked and hashed in a child process: the writer keeps a core.
                reader.close()
                feed = await ProcessBatchFeed.start(
                    source, reader.file_sha256, self._batch_size, _builder_for, *arguments
                )
            else:
                feed = ThreadBatchFeed(_builder_for(reader, *arguments), self._batch_size)
            await self._import(policy, "file", feed, report, progress)
        finally:
            reader.close()
        return report

    async def import_records(
        self, records: Sequence[Mapping[str, Any]], source_name: str, name: str
    ) -> FeedReport:
        """A feed sent over the signed endpoint: [{"id_number": ..., "day": "YYYY-MM-DD"}]."""
        policy = self.sources.get(source_name)
        if not records:
            raise RosterFileError("no_data_rows")
        digest = hashlib.sha256(json.dumps(records, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        report = FeedReport(policy.name, name, digest, estimated_rows=len(records))
        rows = (_raw_row(number, record) for number, record in enumerate(records, start=1))
        checker = SignalRowChecker(
            self._vault, today=self.today(), columns={}, one_per_person=policy.is_death
        )
        await self._import(
            policy, "endpoint", ThreadBatchFeed(_BatchBuilder(rows, checker), self._batch_size), report, None
        )
        return report

    async def _import(
        self,
        policy: SourcePolicy,
        channel: str,
        feed: Any,
        report: FeedReport,
        progress: Progress | None,
    ) -> None:
        async with self._uow_factory() as uow:
            if await uow.signals.completed_import(policy.name, report.file_sha256) is not None:
                await feed.aclose()
                raise FeedRefused("feed_already_imported")
            feed_import = SignalImport(
                source=policy.name,
                channel=channel,
                file_name=report.file_name[:300],
                file_sha256=report.file_sha256,
            )
            uow.signals.add(feed_import)
            await uow.commit()  # first, so every batch's error records can name it
            report.import_id = feed_import.id
            try:
                while (batch := await feed.next()).rows_read:
                    await self._write_batch(uow, policy, feed_import, batch, report)
                    if progress is not None:
                        progress(batch.rows_read, report.estimated_rows)
            finally:
                await feed.aclose()
            feed_import.finished_at = self._clock()
            await uow.commit()
            report.completed = True

    async def _write_batch(
        self,
        uow: UnitOfWork,
        policy: SourcePolicy,
        feed_import: SignalImport,
        batch: FeedBatch,
        report: FeedReport,
    ) -> None:
        """One transaction. The report follows commits only."""
        step = FeedReport(policy.name, report.file_name)
        step.refused.extend(batch.refused)
        matched = await uow.signals.retirees_by_hash({row.id_hash for row in batch.rows})
        if policy.is_death:
            await self._deaths(uow, policy, feed_import, batch.rows, matched, step)
        else:
            await self._life_signals(uow, policy, feed_import, batch.rows, matched, step)
        for refused in step.refused:
            uow.errors.add(_error_record(refused, feed_import.id, policy.name, self._clock()))
        feed_import.rows_total += batch.rows_read
        feed_import.rows_matched += step.kept
        feed_import.rows_repeated += step.repeated
        feed_import.rows_refused += len(step.refused)
        feed_import.certified += step.certified
        feed_import.deaths += step.deaths
        await uow.commit()
        report.rows_read += batch.rows_read
        for name in ("kept", "repeated", "certified", "deaths", "suspected_false_claims", "recovery_cases"):
            setattr(report, name, getattr(report, name) + getattr(step, name))
        report.not_certifying.update(step.not_certifying)
        report.refused.extend(step.refused)

    async def _life_signals(
        self,
        uow: UnitOfWork,
        policy: SourcePolicy,
        feed_import: SignalImport,
        rows: list[SignalRow],
        matched: dict[str, MatchedRetiree],
        step: FeedReport,
    ) -> None:
        kept: list[tuple[SignalRow, MatchedRetiree]] = []
        latest: dict[int, tuple[SignalRow, MatchedRetiree]] = {}  # retiree id -> their newest row
        for row in rows:
            retiree = matched.get(row.id_hash)
            problem = _life_problem(row, retiree)
            if problem is not None:
                step.refused.append(RefusedRow(row.row, (RowProblem(row.row, problem),)))
                continue
            assert retiree is not None
            kept.append((row, retiree))
            if retiree.id not in latest or row.day > latest[retiree.id][0].day:
                latest[retiree.id] = (row, retiree)
        # Decided before the signals are written, so each signal row goes in once, naming the
        # certification it gave. A signal already on file cannot certify again: its day is not
        # after the certification it gave (or it did not qualify then, and still does not).
        certified = await self._certify_silently(uow, policy, list(latest.values()), step)
        values = [
            {
                "retiree_id": retiree.id,
                "source": policy.name,
                "observed_on": row.day,
                "in_person": policy.in_person,
                "import_id": feed_import.id,
                "certification_id": certified.get(retiree.id) if latest[retiree.id][0] is row else None,
            }
            for row, retiree in kept
        ]
        step.kept = await uow.signals.insert_new_signals(values)
        step.repeated = len(values) - step.kept

    async def _certify_silently(
        self,
        uow: UnitOfWork,
        policy: SourcePolicy,
        candidates: list[tuple[SignalRow, MatchedRetiree]],
        step: FeedReport,
    ) -> dict[int, int]:
        """The silent certifications the candidates qualify for, with their cycles moved, their
        records and the notices; returns {retiree id: certification id}."""
        now, today = self._clock(), self.today()
        certifications: list[dict[str, Any]] = []
        drafts: list[RecordDraft] = []
        for row, retiree in candidates:
            cycle = Cycle(
                retiree.birth_date,
                retiree.pension_region,
                retiree.due_on,
                retiree.last_certified_on,
                retiree.payment_state,
            )
            verdict = silent_certification(
                row.day,
                cycle,
                policy,
                today=today,
                window_days=self.sources.certify_from_days_before_due,
                policies=self._policies,
            )
            if isinstance(verdict, NotCertifying):
                step.not_certifying[verdict.value] += 1
                continue
            certifications.append(
                {
                    "retiree_id": retiree.id,
                    "certified_at": now,
                    "certified_on": verdict.certified_on,
                    "valid_until": verdict.due_on,
                    "method": "data",
                    "place": policy.name,  # the source, for the check plan and the staff
                }
            )
            drafts.append(
                RecordDraft(
                    "certified",
                    retiree,
                    "data",
                    now,
                    detail={
                        "source": policy.name,
                        "signal_on": verdict.certified_on.isoformat(),
                        "in_person": policy.in_person,
                        "valid_until": verdict.due_on.isoformat(),
                    },
                )
            )
        if not certifications:
            return {}
        certification_ids = await uow.signals.insert_certifications(certifications)
        await uow.signals.move_cycles(
            [
                {"rid": row["retiree_id"], "due_on": row["valid_until"], "certified_on": row["certified_on"]}
                for row in certifications
            ]
        )
        await append_records(uow, drafts, region=self._region_code)
        by_retiree = {row["retiree_id"]: row for row in certifications}
        await uow.notices.add_many(
            [
                {
                    "chat_id": chat_id,
                    "retiree_id": retiree_id,
                    "kind": SILENT_CERTIFIED,
                    "params": {
                        "source": policy.name,
                        "on": by_retiree[retiree_id]["certified_on"].isoformat(),
                        "due_on": by_retiree[retiree_id]["valid_until"].isoformat(),
                    },
                    "for_helper": kind == "helper",
                    "created_at": now,
                    "state": "pending",
                }
                for retiree_id, chat_id, kind, _language in await uow.signals.bound_chats(list(by_retiree))
            ]
        )
        step.certified = len(certifications)
        return certification_ids

    async def _deaths(
        self,
        uow: UnitOfWork,
        policy: SourcePolicy,
        feed_import: SignalImport,
        rows: list[SignalRow],
        matched: dict[str, MatchedRetiree],
        step: FeedReport,
    ) -> None:
        now, today = self._clock(), self.today()
        for row in rows:
            known = matched.get(row.id_hash)
            problem = _death_problem(row, known)
            if problem is not None:
                step.refused.append(RefusedRow(row.row, (RowProblem(row.row, problem),)))
                continue
            assert known is not None
            retiree = await uow.retirees.existing(known.id)
            outcome: DeathOutcome = await record_death(
                uow,
                retiree,
                source=policy.name,
                died_on=row.day,
                import_id=feed_import.id,
                now=now,
                today=today,
                region_code=self._region_code,
            )
            step.kept += 1
            step.deaths += 1
            step.suspected_false_claims += int(outcome.suspected_false_claim)
            step.recovery_cases += int(outcome.recovery_case_id is not None)


def _life_problem(row: SignalRow, retiree: MatchedRetiree | None) -> str | None:
    if retiree is None:
        return "unknown_person"
    if retiree.opted_out:  # withdrew consent to data matching: the signal is not kept
        return "opted_out"
    if row.day < retiree.birth_date:
        return "date_before_birth"
    if retiree.died_on is not None and row.day > retiree.died_on:
        return "after_recorded_death"
    return None


def _death_problem(row: SignalRow, retiree: MatchedRetiree | None) -> str | None:
    if retiree is None:
        return "unknown_person"
    if row.day < retiree.birth_date:
        return "date_before_birth"
    if retiree.died_on is not None:
        return "already_dead"
    return None


def _raw_row(number: int, record: Mapping[str, Any]) -> RawRow:
    cells: dict[Any, CellValue] = {
        SignalField.ID_NUMBER: _cell(record.get("id_number")),
        SignalField.DAY: _cell(record.get("day")),
    }
    return RawRow(number=number, cells=cells)


def _cell(value: Any) -> CellValue:
    return value if isinstance(value, str | int | float) or value is None else str(value)


def _error_record(problem: RefusedRow, import_id: int, source: str, at: datetime) -> ErrorRecord:
    return ErrorRecord(
        occurred_at=at,
        source=ERROR_SOURCE,
        code=problem.code,
        detail=f"row {problem.row}: {problem.message('en')}",
        context={**problem.context(), "signal_import_id": import_id, "feed": source},
    )
