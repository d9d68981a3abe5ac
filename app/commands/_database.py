"""Opening the product's database for a console command, or saying plainly why not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.settings import Settings
    from app.wiring import Runtime


class DatabaseUnavailable(Exception):
    """The database cannot be opened, or is at another schema version: the message says which."""


@asynccontextmanager
async def command_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The runtime for a command; failures while OPENING become DatabaseUnavailable, while
    errors of the command's own work pass through unchanged."""
    # Imported here, not above: building the parser (`pension-bot --help`) imports every
    # command module, and the runtime pulls in the whole product.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from app.wiring import open_runtime
    from storage.schema import SchemaOutOfDate

    async with AsyncExitStack() as stack:
        try:
            runtime = await stack.enter_async_context(open_runtime(settings, index_knowledge=False))
        except SchemaOutOfDate as error:
            raise DatabaseUnavailable(str(error)) from error
        except (OSError, SQLAlchemyError) as error:
            where = make_url(settings.database_url).render_as_string(hide_password=True)
            raise DatabaseUnavailable(
                f"Cannot open the database {where} ({type(error).__name__})."
            ) from error
        yield runtime
