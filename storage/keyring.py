"""Keys that cannot be silently replaced.

The database remembers a fingerprint of each key protecting personal data (table
`key_fingerprints`): an HMAC-SHA256, under the key, of a fixed label, truncated to 64 bits. It
identifies the key without revealing it. Every start compares the loaded keys with it:

* fingerprints recorded and different → refused (`KeysDoNotMatchDatabase`): data encrypted under
  the old key cannot be read with another, and ID-number lookups would find nobody;
* no keys at all (no `secrets.json`, no DATA_KEY/ID_HASH_KEY) → new keys are generated only for an
  empty database; over existing data it is refused, nothing is generated or written;
* a database that predates fingerprints but holds data → the keys are checked against a stored
  value (one encrypted ID number is decrypted and its lookup hash compared), then recorded;
* an empty database → the fingerprints are recorded with the first start.

`rotate_data_key` re-encrypts every encrypted column under a new Fernet key in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, LargeBinary, Table, bindparam, delete, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import storage.models.care  # noqa: F401  (registers its tables)
import storage.models.certification  # noqa: F401  (registers its tables)
import storage.models.employer  # noqa: F401  (registers its tables)
import storage.models.liveness  # noqa: F401  (registers its tables)
import storage.models.publicity  # noqa: F401  (registers its tables)
import storage.models.records  # noqa: F401  (registers its tables)
from kernel.clock import utc_now
from storage.key_errors import KeysDoNotMatchDatabase  # defined there, imported from here too
from storage.key_material import KeySource, PersonalDataKeys
from storage.models import Base, Retiree
from storage.models.durability import KeyFingerprint
from storage.protection import PersonalDataVault

logger = logging.getLogger(__name__)

FINGERPRINT_LABEL = b"pension-bot/key-fingerprint/v1"
KEY_NAMES = ("data_key", "id_hash_key")
ENV_NAMES = {"data_key": "DATA_KEY", "id_hash_key": "ID_HASH_KEY"}
LABELS = {"data_key": "data key", "id_hash_key": "ID-hash key"}
# Tables whose rows depend on the ID-hash key (lookup hashes of ID numbers, staff and binding codes).
KEYED_TABLES = ("retirees", "staff_members", "binding_codes")
_ROTATION_BATCH = 100


def fingerprint(key: bytes) -> str:
    """Identifies a key without revealing it: HMAC-SHA256 of a fixed label, 16 hex digits."""
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def key_fingerprints(keys: PersonalDataKeys) -> dict[str, str]:
    return {"data_key": fingerprint(keys.data_key), "id_hash_key": fingerprint(keys.id_hash_key)}


def encrypted_columns() -> list[tuple[Table, Column[Any], Column[Any]]]:
    """(table, primary key, column) of every column holding Fernet tokens (`*_encrypted`)."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, LargeBinary) and column.name.endswith("_encrypted"):
                [primary_key] = table.primary_key.columns
                found.append((table, primary_key, column))
    return found


async def recorded_fingerprints(connection: AsyncConnection) -> dict[str, str]:
    rows = await connection.execute(select(KeyFingerprint.name, KeyFingerprint.fingerprint))
    return {name: value for name, value in rows.all()}


async def holds_keyed_data(connection: AsyncConnection) -> bool:
    """Whether any row depends on the keys (personal data encrypted or hashed under them)."""
    tables = {table.name: table for table, _, _ in encrypted_columns()}
    tables |= {name: Base.metadata.tables[name] for name in KEYED_TABLES}
    for table in tables.values():
        if (await connection.execute(select(1).select_from(table).limit(1))).first() is not None:
            return True
    return False


async def open_vault(
    engine: AsyncEngine, settings: KeySource, *, clock: Callable[[], datetime] = utc_now
) -> PersonalDataVault:
    """The vault for the configured keys, once they are known to fit the database (module
    docstring). Raises KeysDoNotMatchDatabase otherwise; nothing is then generated or written."""
    keys = await checked_keys(engine, settings, clock=clock)
    return PersonalDataVault(keys.data_key, keys.id_hash_key)


async def checked_keys(
    engine: AsyncEngine, settings: KeySource, *, clock: Callable[[], datetime] = utc_now
) -> PersonalDataKeys:
    try:
        return await _checked_keys(engine, settings, clock)
    except IntegrityError:
        # Another process recorded the fingerprints at the same moment: compare with those.
        return await _checked_keys(engine, settings, clock)


async def _checked_keys(
    engine: AsyncEngine, settings: KeySource, clock: Callable[[], datetime]
) -> PersonalDataKeys:
    where = _where(engine)
    keys = _load(settings)
    async with engine.begin() as connection:
        recorded = await recorded_fingerprints(connection)
        if keys is None:
            if recorded or await holds_keyed_data(connection):
                raise KeysDoNotMatchDatabase(_missing_message(settings, where))
            try:
                settings.create_local_secrets_file()
                logger.warning("new keys generated for an empty database into %s", settings.secrets_path())
            except FileExistsError:
                pass  # another process, starting on the same empty database, made them just now
            keys = _load(settings)
            assert keys is not None
        _check_usable(keys, settings)
        current = key_fingerprints(keys)
        if recorded:
            differing = [name for name in KEY_NAMES if name in recorded and recorded[name] != current[name]]
            if differing:
                raise KeysDoNotMatchDatabase(_mismatch_message(differing, keys, settings, where))
        elif await holds_keyed_data(connection):
            # A database from before fingerprints were kept: the keys must read what it holds.
            differing = await _keys_failing_stored_data(connection, keys)
            if differing:
                raise KeysDoNotMatchDatabase(_mismatch_message(differing, keys, settings, where))
        missing = [name for name in KEY_NAMES if name not in recorded]
        if missing:
            await connection.execute(
                insert(KeyFingerprint),
                [{"name": name, "fingerprint": current[name], "recorded_at": clock()} for name in missing],
            )
    return keys


def _load(settings: KeySource) -> PersonalDataKeys | None:
    try:
        return settings.load_personal_data_keys()
    except (OSError, ValueError) as error:  # a damaged or unreadable secrets file
        raise KeysDoNotMatchDatabase(
            f"The keys protecting personal data cannot be read: {error}. Nothing was started and "
            f"no new keys were generated. Restore {settings.secrets_path()} from its backup, or set "
            "DATA_KEY and ID_HASH_KEY, then start again."
        ) from None


def _check_usable(keys: PersonalDataKeys, settings: KeySource) -> None:
    try:
        Fernet(keys.data_key)
    except (ValueError, TypeError):
        raise KeysDoNotMatchDatabase(
            f"The data key ({_source('data_key', keys, settings)}) is not a valid Fernet key "
            "(32 bytes, URL-safe base64). Nothing was started."
        ) from None


async def _keys_failing_stored_data(connection: AsyncConnection, keys: PersonalDataKeys) -> list[str]:
    """The keys that cannot read what the database holds: one encrypted ID number is decrypted
    and its lookup hash compared; without retirees, the first encrypted value of any kind."""
    fernet = Fernet(keys.data_key)
    row = (
        await connection.execute(select(Retiree.id_number_hash, Retiree.id_number_encrypted).limit(1))
    ).first()
    if row is not None:
        try:
            number = fernet.decrypt(row.id_number_encrypted).decode()
        except InvalidToken:
            return ["data_key"]
        vault = PersonalDataVault(keys.data_key, keys.id_hash_key)
        return [] if hmac.compare_digest(vault.lookup_hash(number), row.id_number_hash) else ["id_hash_key"]
    for _table, _primary_key, column in encrypted_columns():
        value = (await connection.execute(select(column).where(column.is_not(None)).limit(1))).scalar()
        if value is not None:
            try:
                fernet.decrypt(value)
            except InvalidToken:
                return ["data_key"]
            return []
    return []


async def rotate_data_key(
    engine: AsyncEngine, old_key: bytes, new_key: bytes, *, clock: Callable[[], datetime] = utc_now
) -> dict[str, int]:
    """Re-encrypt every encrypted column under `new_key` and record its fingerprint, in ONE
    transaction: all or nothing. Returns the count of values re-encrypted per table.column.
    A value the old key cannot read stops it (KeysDoNotMatchDatabase), nothing changed."""
    rotating = MultiFernet([Fernet(new_key), Fernet(old_key)])
    counts: dict[str, int] = {}
    async with engine.begin() as connection:
        for table, primary_key, column in encrypted_columns():
            present = select(primary_key).where(column.is_not(None)).order_by(primary_key)
            ids = (await connection.execute(present)).scalars().all()
            statement = (
                update(table)
                .where(primary_key == bindparam("row_id"))
                .values({column.name: bindparam("token")})
            )
            for start in range(0, len(ids), _ROTATION_BATCH):
                chunk = ids[start : start + _ROTATION_BATCH]
                rows = await connection.execute(select(primary_key, column).where(primary_key.in_(chunk)))
                changes = []
                for row_id, token in rows.all():
                    try:
                        changes.append({"row_id": row_id, "token": rotating.rotate(token)})
                    except InvalidToken:
                        raise KeysDoNotMatchDatabase(
                            f"A value in {table.name}.{column.name} (row {row_id}) cannot be read with "
                            "the current data key, so the key was not rotated; nothing was changed."
                        ) from None
                await connection.execute(statement, changes)
            counts[f"{table.name}.{column.name}"] = len(ids)
        await connection.execute(delete(KeyFingerprint).where(KeyFingerprint.name == "data_key"))
        await connection.execute(
            insert(KeyFingerprint),
            [{"name": "data_key", "fingerprint": fingerprint(new_key), "recorded_at": clock()}],
        )
    return counts


def _where(engine: AsyncEngine) -> str:
    return make_url(engine.url).render_as_string(hide_password=True)


def _source(name: str, keys: PersonalDataKeys, settings: KeySource) -> str:
    from_env = keys.data_key_from_env if name == "data_key" else keys.id_hash_key_from_env
    return f"environment variable {ENV_NAMES[name]}" if from_env else str(settings.secrets_path())


def _missing_message(settings: KeySource, where: str) -> str:
    return (
        f"The keys protecting personal data are missing: {settings.secrets_path()} does not exist "
        f"and DATA_KEY/ID_HASH_KEY are not set, but the database {where} was written with keys "
        "(it holds personal data or their fingerprints). Nothing was started and no new keys were "
        "generated: data encrypted under the old keys (ID numbers, phone numbers, binding codes, face "
        "templates, evidence) cannot be read with new ones, and no ID number, staff code or binding "
        f"code would be recognised. Put back the backup of {settings.secrets_path()} (mode 0600), or "
        "set DATA_KEY and ID_HASH_KEY to the keys the database was written with, then start again; "
        "`pension-bot keys show` compares them with the database."
    )


def _mismatch_message(differing: list[str], keys: PersonalDataKeys, settings: KeySource, where: str) -> str:
    which = " and ".join(f"the {LABELS[name]} ({_source(name, keys, settings)})" for name in differing)
    pending = settings.secrets_path().with_name(settings.secrets_path().name + ".pending")
    interrupted = (
        f" A key rotation was interrupted: {pending} holds the new data key; if `pension-bot keys show` "
        "says so, move it over the secrets file."
        if pending.exists()
        else ""
    )
    plural = len(differing) > 1
    return (
        f"The keys protecting personal data do not match the database {where}: {which} "
        f"{'are not the ones' if plural else 'is not the one'} it was written with. Nothing was started: "
        "data encrypted under the old key cannot be read with another, and ID numbers, staff codes and "
        "binding codes would not be recognised. Put back the backup of the secrets file "
        f"{settings.secrets_path()} that the database was written with, or set "
        f"{' and '.join(ENV_NAMES[name] for name in differing)} to the old key{'s' if plural else ''}, "
        f"then start again; `pension-bot keys show` compares the keys with the database.{interrupted}"
    )
