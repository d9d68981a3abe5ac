"""Control characters never reach the database, on SQLite and PostgreSQL alike.

PostgreSQL refuses a NUL in a text (asyncpg: "invalid byte sequence ... 0x00") where SQLite
stores it, so the same input would fail on one and pass on the other. Every text written is
cleaned the same way instead: C0 controls except tab, newline and carriage return, DEL, and
C1 controls are removed. The guard sits on the engine, under every way of writing (ORM
flushes, Core inserts and updates, raw SQL), and in the JSON serializer, for the texts inside
JSON values.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext

CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """`text` without control characters (tab, newline and carriage return are kept)."""
    if text.isprintable():  # the common case, checked in C: no control character at all
        return text
    return CONTROL_CHARACTERS.sub("", text) if CONTROL_CHARACTERS.search(text) else text


# Values that hold no text: passed as they are, without the checks below (a feed binds millions).
_NOT_TEXT = frozenset({int, float, bool, type(None), bytes, date, datetime, Decimal})


def clean_value(value: Any) -> Any:
    """`value` with every text in it cleaned: strings, and the keys and items of JSON-like
    dicts, lists and tuples (bound parameters of one row or of many); others as they are."""
    kind = type(value)
    if kind in _NOT_TEXT:
        return value
    if kind is str:
        return clean_text(value)
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_value(key): clean_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(clean_value(item) for item in value)
    return value


def json_dumps(value: Any) -> str:
    """The engine's JSON serializer: JSON text of `value`, its texts cleaned first."""
    return json.dumps(clean_value(value))


def _clean_parameters(
    _connection: Connection,
    _cursor: DBAPICursor,
    statement: str,
    parameters: Any,
    _context: ExecutionContext | None,
    _executemany: bool,
) -> tuple[str, Any]:
    return statement, clean_value(parameters)


def guard(engine: Engine) -> None:
    """Clean the parameters of every statement `engine` runs (an AsyncEngine's sync_engine)."""
    if not event.contains(engine, "before_cursor_execute", _clean_parameters):
        event.listen(engine, "before_cursor_execute", _clean_parameters, retval=True)
