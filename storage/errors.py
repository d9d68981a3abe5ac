"""Recording bad input met anywhere in the product, in its own short transaction, so that
the record survives even when the work that met the bad input is rolled back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exc as sa_exc

from storage.models import ErrorRecord
from storage.uow import UnitOfWorkFactory


async def record_error(
    uow_factory: UnitOfWorkFactory,
    source: str,
    code: str,
    detail: str = "",
    *,
    chat_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> None:
    async with uow_factory() as uow:
        uow.errors.add(
            ErrorRecord(source=source, code=code, detail=detail, chat_id=chat_id, context=context or {})
        )
        await uow.commit()


def is_database_outage(error: BaseException) -> bool:
    """This error (not its causes) says the database was away for a while: the connection
    was refused, lost or timed out, not that the work itself was wrong."""
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError):
        return True
    if isinstance(error, sa_exc.TimeoutError):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return "Connection" in type(error).__name__ and type(error).__module__.startswith("asyncpg")
