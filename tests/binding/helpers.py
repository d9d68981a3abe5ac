"""Retirees, codes and a fake clock for the binding, consent and staff tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.bench_support import binding_code
from storage.models import Retiree
from verification.roster.synthetic import synthetic_id_number

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def id_number(sequence: int, region: str = "110105", born: date = date(1950, 3, 7)) -> str:
    """A made-up ID number with a correct check character."""
    return synthetic_id_number(region, born, sequence)


async def add_retiree(
    uow_factory,
    vault,
    number: str,
    name: str = "王秀英",
    *,
    residence_region: str = "310104",
    phone: str | None = None,
) -> int:
    async with uow_factory() as uow:
        retiree = Retiree(
            id_number_hash=vault.lookup_hash(number),
            id_number_encrypted=vault.encrypt(number),
            name=name,
            birth_date=date(1950, 3, 7),
            pension_region=number[:6],
            residence_region=residence_region,
            pension_start=date(2010, 4, 1),
            phone_encrypted=vault.encrypt(phone) if phone else None,
        )
        uow.session.add(retiree)
        await uow.commit()
        return retiree.id


async def unused_code(uow_factory, vault, retiree_id: int) -> str:
    """The newest unused binding code of a retiree, in clear (as printed on the letter)."""
    async with uow_factory() as uow:
        return await binding_code(uow, vault, retiree_id)


async def audit_entries(uow_factory, retiree_id: int | None = None) -> list[tuple[str, str, dict]]:
    """(action, actor, detail) of the audit trail, oldest first."""
    from storage.models.certification import AuditEntry

    async with uow_factory() as uow:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if retiree_id is not None:
            query = query.where(AuditEntry.retiree_id == retiree_id)
        return [(e.action, e.actor, dict(e.detail)) for e in (await uow.session.execute(query)).scalars()]
