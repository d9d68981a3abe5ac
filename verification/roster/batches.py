"""Turning raw roster rows into batches ready to write: checked, de-duplicated, protected.

This is the CPU-heavy half of an import (parsing, HMAC, two encryptions per row: about
0.1 ms a row). It never runs on the event loop. Two feeds deliver the batches:

* `ThreadBatchFeed` builds them in a worker thread, one batch ahead of the writer;
* `ProcessBatchFeed` builds them in a child process, so that on a large roster the
  building and the database writing use two CPU cores instead of sharing one (Python
  threads share one core for Python code). The child reads the file itself, so only the
  finished batches cross the process boundary.

Both give the same batches: the service does not know which one it has.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from storage.protection import PersonalDataVault
from verification.roster.reader import RawRow, RosterReader, RosterSource
from verification.roster.rows import RefusedRow, RosterRecord, RowProblem, RowValidator


@dataclass
class Batch:
    """Rows read and checked, to be written in one transaction."""

    rows_read: int = 0
    values: list[dict[str, Any]] = field(default_factory=list)  # Retiree columns, protected
    refused: list[RefusedRow] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Batch(rows_read={self.rows_read}, values={len(self.values)}, refused={len(self.refused)})"


class BatchBuilder:
    def __init__(self, rows: Iterator[RawRow], validator: RowValidator, vault: PersonalDataVault) -> None:
        self._rows = rows
        self._validator = validator
        self._vault = vault
        self._seen: dict[str, int] = {}  # lookup hash -> first row number, for duplicates

    @classmethod
    def for_reader(
        cls, reader: RosterReader, source: RosterSource, vault: PersonalDataVault, today: date
    ) -> BatchBuilder:
        validator = RowValidator(today=today, photo_folder=source.folder, columns=reader.columns)
        return cls(reader.rows(), validator, vault)

    def next_batch(self, size: int) -> Batch:
        """Up to `size` rows; a batch with `rows_read == 0` means the file is done."""
        batch = Batch()
        now = datetime.now(UTC)
        for raw in self._rows:
            batch.rows_read += 1
            checked = self._validator.check(raw)
            if isinstance(checked, RefusedRow):
                batch.refused.append(checked)
            else:
                id_hash = self._vault.lookup_hash(checked.id_number.number)
                first_row = self._seen.get(id_hash)
                if first_row is not None:
                    duplicate = RowProblem(raw.number, "duplicate_id_number", first_row=first_row)
                    batch.refused.append(RefusedRow(raw.number, (duplicate,)))
                else:
                    self._seen[id_hash] = raw.number
                    batch.values.append(self._protected(checked, id_hash, now))
                    batch.warnings.extend(checked.warnings)
            if batch.rows_read >= size:
                break
        return batch

    def _protected(self, record: RosterRecord, id_hash: str, now: datetime) -> dict[str, Any]:
        vault = self._vault
        return {
            "id_number_hash": id_hash,
            "id_number_encrypted": vault.encrypt(record.id_number.number),
            "name": record.name,
            "birth_date": record.id_number.birth_date,
            "pension_region": record.pension_region,
            "residence_region": record.residence_region,
            "pension_start": record.pension_start,
            "last_certified_on": record.last_certified_on,
            "phone_encrypted": vault.encrypt(record.phone) if record.phone else None,
            "reference_photo_path": record.reference_photo,
            "monthly_pension_fen": record.monthly_pension_fen,
            # Same instant for both: the upsert tells new rows from updated ones by it.
            "created_at": now,
            "updated_at": now,
        }


class BatchFeed(Protocol):
    async def next(self) -> Batch: ...

    async def aclose(self) -> None: ...


class _Counted(Protocol):
    @property
    def rows_read(self) -> int: ...


B = TypeVar("B", bound=_Counted)
B_co = TypeVar("B_co", bound=_Counted, covariant=True)


class _Builder(Protocol[B_co]):
    def next_batch(self, size: int) -> B_co: ...


class ThreadBatchFeed(Generic[B]):
    """Builds batches in a worker thread, prefetching one while the last one is written.
    Any builder whose batches count their rows will do (the roster's, a feed's)."""

    def __init__(self, builder: _Builder[B], batch_size: int) -> None:
        self._builder = builder
        self._size = batch_size
        self._pending: asyncio.Future[B] | None = None

    def _start(self) -> asyncio.Future[B]:
        return asyncio.ensure_future(asyncio.to_thread(self._builder.next_batch, self._size))

    async def next(self) -> B:
        pending = self._pending or self._start()
        batch = await pending
        self._pending = self._start() if batch.rows_read else None
        return batch

    async def aclose(self) -> None:
        # Let the worker finish before the caller closes the file it is reading.
        if self._pending is not None:
            await asyncio.wait([self._pending])
            if not self._pending.cancelled():
                self._pending.exception()  # retrieved, so asyncio does not log it
            self._pending = None


DONE = "done"  # the last frame of a successful run
FRAME_HEADER = struct.Struct(">Q")  # length of the pickled frame that follows
# The child imports this package from the same checkout as the parent, installed or not.
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


class ProcessBatchFeed:
    """Builds batches in a child Python process and reads them from its standard output.

    A plain subprocess rather than `multiprocessing`: spawning through multiprocessing
    re-imports the caller's main module (which fails in scripts without a __main__ guard),
    and forking a process that runs an event loop and database threads is unsafe. The pipe
    also gives back-pressure for free: the child waits while the writer is behind.
    """

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._done = False

    @classmethod
    async def start(
        cls,
        source: RosterSource,
        sha256: str,
        batch_size: int,
        make_builder: Callable[..., _Builder[Any]],
        *arguments: Any,
    ) -> ProcessBatchFeed:
        """The child opens `source`, checks it is still the file of checksum `sha256`, and
        sends the batches of `make_builder(reader, *arguments)` (a module-level function or
        a class method, and arguments that pickle)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PROJECT_ROOT, env.get("PYTHONPATH")]))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "verification.roster.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert process.stdin is not None
        # The job, keys included, goes through the pipe: never on a command line, where
        # other users could read it in the process list.
        process.stdin.write(pickle.dumps((source, sha256, batch_size, make_builder, arguments)))
        await process.stdin.drain()
        process.stdin.close()
        return cls(process)

    async def next(self) -> Any:
        if self._done:
            return Batch()  # rows_read 0: the end, whatever the builder's batches
        assert self._process.stdout is not None
        try:
            header = await self._process.stdout.readexactly(FRAME_HEADER.size)
            item = pickle.loads(await self._process.stdout.readexactly(FRAME_HEADER.unpack(header)[0]))
        except asyncio.IncompleteReadError:
            self._done = True
            code = await self._process.wait()
            raise RuntimeError(f"the file reader process stopped (exit code {code})") from None
        if isinstance(item, BaseException):
            self._done = True
            raise item
        if item == DONE:
            self._done = True
            return Batch()
        return item

    async def aclose(self) -> None:
        if self._process.returncode is None:
            if not self._done:
                self._process.kill()
            await self._process.wait()
