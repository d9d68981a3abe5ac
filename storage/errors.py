"""Recording bad input met anywhere in the product, in its own short transaction, so that
the record survives even when the work that met the bad input is rolled back."""

from __future__ import annotations

from storage.models import ErrorRecord
from storage.uow import UnitOfWorkFactory


async def record_error(
    uow_factory: UnitOfWorkFactory,
    source: str,
    code: str,
    detail: str = "",
    *,
    chat_id: int | None = None,
    context: dict | None = None,
) -> None:
    async with uow_factory() as uow:
        uow.errors.add(
            ErrorRecord(source=source, code=code, detail=detail, chat_id=chat_id, context=context or {})
        )
        await uow.commit()
