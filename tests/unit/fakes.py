"""A unit of work held in memory, for testing services without a database (Cosmic Python's
FakeUnitOfWork): the same repository methods the service calls, over lists of the same model
objects, and a count of commits.

Only what the services tested here use is faked; a service calling anything else fails with
AttributeError, which says which method to add. Changes are visible at once and nothing is
rolled back: these tests check decisions, the integration tests check transactions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kernel.clock import as_utc
from storage.models import ErrorRecord
from storage.models.certification import AuditEntry, BindingFailure, StaffMember


class _Rows:
    def __init__(self) -> None:
        self.rows: list[Any] = []

    def add(self, row: Any) -> None:
        if getattr(row, "id", 0) is None:
            row.id = len(self.rows) + 1  # what the database's flush would assign
        self.rows.append(row)

    def _one(self, test: Callable[[Any], bool]) -> Any:
        found = [row for row in self.rows if test(row)]
        assert len(found) <= 1, "a unique column holds a value twice"
        return found[0] if found else None


class FakeStaffRepository(_Rows):
    async def by_number(self, staff_number: str) -> StaffMember | None:
        return self._one(lambda m: m.staff_number == staff_number)

    async def by_code_hash(self, code_hash: str) -> StaffMember | None:
        return self._one(lambda m: m.staff_code_hash == code_hash)

    async def by_telegram_user(self, telegram_user_id: int) -> StaffMember | None:
        return self._one(lambda m: m.telegram_user_id == telegram_user_id and m.active)

    async def any_by_telegram_user(self, telegram_user_id: int) -> StaffMember | None:
        return self._one(lambda m: m.telegram_user_id == telegram_user_id)


class FakeBindingRepository(_Rows):
    """The failed code entries (the lock's table), all that the staff service touches here."""

    async def failure_times_since(self, telegram_user_id: int, since: datetime, limit: int) -> list[datetime]:
        times = [
            f.at
            for f in self.rows
            if isinstance(f, BindingFailure) and f.telegram_user_id == telegram_user_id
        ]
        return sorted((t for t in times if as_utc(t) > as_utc(since)), reverse=True)[:limit]


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.staff = FakeStaffRepository()
        self.bindings = FakeBindingRepository()
        self.audit = _Rows()
        self.errors = _Rows()
        self.commits = 0

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def flush(self) -> None:
        return None

    async def commit(self) -> None:
        self.commits += 1

    def __call__(self) -> FakeUnitOfWork:  # the factory a service is given: always this one
        return self

    def audited(self) -> list[AuditEntry]:
        return list(self.audit.rows)

    def error_codes(self) -> list[str]:
        return [record.code for record in self.errors.rows if isinstance(record, ErrorRecord)]
