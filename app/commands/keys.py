"""`pension-bot keys show|rotate-data-key`: the keys protecting personal data.

`show` prints the fingerprints of the loaded keys and of those the database was written with,
and whether they match (it opens the database even when they do not: that is what it is for).

`rotate-data-key` makes a new Fernet data key and re-encrypts every encrypted column under it
in one transaction. Where the data key comes from `VAR_DIR/secrets.json`, the steps are:
backup `secrets.json.bak-<UTC time>` (0600) → the new keys in `secrets.json.pending` (0600,
fsync) → the database transaction (values and fingerprint) → `secrets.json.pending` renamed
over `secrets.json`. Interrupted before the commit, nothing changed; after it, the start is
refused and the message points at the pending file. Where DATA_KEY comes from the environment
the command cannot change it: it refuses unless `--write-env-file PATH` names a new file
(0600) to receive `DATA_KEY=<new key>` for the operator to move into the secret store. A key
is never printed to the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.file_modes import secure_storage
from kernel.clock import utc_now
from storage.key_errors import KeysDoNotMatchDatabase

if TYPE_CHECKING:
    from app.settings import Settings

ROTATE_HELP = (
    "make a new data key (DATA_KEY) and re-encrypt all encrypted personal data under it, in one "
    "transaction; stop the bot first. The ID-hash key (ID_HASH_KEY) is not rotated: every lookup "
    "hash of an ID number, staff code and binding code would change, and regions exchanging "
    "records share it."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("keys", help="keys protecting personal data: show, rotate-data-key")
    actions = parser.add_subparsers(dest="keys_action", required=True, metavar="COMMAND")
    actions.add_parser(
        "show", help="fingerprints of the loaded keys and of those the database was written with"
    ).set_defaults(handler=show_command)
    rotate = actions.add_parser("rotate-data-key", help=ROTATE_HELP, description=ROTATE_HELP)
    rotate.add_argument(
        "--write-env-file",
        metavar="PATH",
        type=Path,
        help="where DATA_KEY comes from the environment: a NEW file (mode 0600) to receive "
        "DATA_KEY=<new key>; set it in the secret store before the next start",
    )
    rotate.set_defaults(handler=rotate_command)


# ---------------------------------------------------------------- show


def show_command(args: argparse.Namespace) -> int:
    from app.settings import Settings

    return asyncio.run(show(Settings()))


async def show(settings: Settings) -> int:
    from app.settings import read_local_secrets
    from storage.db import create_engine
    from storage.keyring import (
        ENV_NAMES,
        KEY_NAMES,
        LABELS,
        fingerprint,
        key_fingerprints,
        recorded_fingerprints,
    )
    from storage.schema import SchemaOutOfDate, ensure_schema

    try:
        keys = settings.load_personal_data_keys()
    except (OSError, ValueError) as error:
        print(f"The keys cannot be read: {error}", file=sys.stderr)
        return 1
    loaded = key_fingerprints(keys) if keys is not None else {}
    engine = create_engine(settings.database_url)
    try:
        await ensure_schema(engine, auto_upgrade=False)
        async with engine.connect() as connection:
            recorded = await recorded_fingerprints(connection)
    except SchemaOutOfDate as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        await engine.dispose()

    if keys is None:
        print(f"loaded keys: none ({settings.secrets_path()} does not exist, DATA_KEY/ID_HASH_KEY not set)")
    matching = True
    for name in KEY_NAMES:
        source = ""
        if keys is not None:
            from_env = keys.data_key_from_env if name == "data_key" else keys.id_hash_key_from_env
            source = f"environment {ENV_NAMES[name]}" if from_env else str(settings.secrets_path())
        have, want = loaded.get(name), recorded.get(name)
        if want is None:
            state = "not recorded yet (recorded at the next start)"
        elif have == want:
            state = "matches"
        else:
            state, matching = "DOES NOT MATCH", False
        print(
            f"{LABELS[name]:<12} loaded {have or '-':<16} ({source or 'none'}); "
            f"database {want or '-':<16} {state}"
        )
    pending = _pending_path(settings)
    if pending.exists():
        stored = read_local_secrets(pending) or {}
        if stored.get("data_key"):
            pending_print = fingerprint(stored["data_key"].encode())
            verdict = "matches the database" if pending_print == recorded.get("data_key") else "differs"
            print(f"interrupted rotation: {pending} holds data key {pending_print} ({verdict})")
    if not matching:
        print(
            "The loaded keys are not the ones the database was written with: restore the backup of the "
            "secrets file, or set DATA_KEY/ID_HASH_KEY to the old keys.",
            file=sys.stderr,
        )
    return 0 if matching else 1


# ---------------------------------------------------------------- rotate-data-key


@dataclass(frozen=True)
class Rotation:
    counts: dict[str, int]
    old_fingerprint: str
    new_fingerprint: str
    backup: Path | None  # the previous secrets file (file keys)
    env_file: Path | None  # the new DATA_KEY (environment keys)


class RotationRefused(Exception):  # noqa: N818 - the name says what happened
    """The rotation did not start; the message says why (nothing was changed)."""


def rotate_command(args: argparse.Namespace) -> int:
    from app.settings import Settings

    try:
        rotation = asyncio.run(rotate(Settings(), write_env_file=args.write_env_file))
    except RotationRefused as error:
        print(f"pension-bot: {error}", file=sys.stderr)
        return 2
    total = sum(rotation.counts.values())
    print(f"data key rotated: {rotation.old_fingerprint} -> {rotation.new_fingerprint}")
    for column, count in rotation.counts.items():
        print(f"  {column}: {count} value(s) re-encrypted")
    print(f"  total: {total}")
    if rotation.backup is not None:
        print(f"previous secrets file kept as {rotation.backup} (0600): keep it with the database backups")
    if rotation.env_file is not None:
        print(
            f"the new DATA_KEY is in {rotation.env_file} (0600): set it in the secret store now and delete "
            "the file; the bot refuses to start with the old DATA_KEY."
        )
    return 0


async def rotate(
    settings: Settings, *, write_env_file: Path | None = None, clock: Callable[[], datetime] = utc_now
) -> Rotation:
    from cryptography.fernet import Fernet

    from app.settings import read_local_secrets, write_private_file
    from storage.db import create_engine
    from storage.keyring import checked_keys, fingerprint, rotate_data_key
    from storage.schema import SchemaOutOfDate, ensure_schema

    secure_storage(settings.var_dir, settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        try:
            await ensure_schema(engine, auto_upgrade=False)
        except SchemaOutOfDate as error:
            raise RotationRefused(str(error)) from None
        keys = await checked_keys(engine, settings, clock=clock)  # KeysDoNotMatchDatabase: refused
        new_key = Fernet.generate_key()
        backup = env_file = None
        secrets_path, pending = settings.secrets_path(), _pending_path(settings)
        if keys.data_key_from_env:
            if write_env_file is None:
                raise RotationRefused(
                    "DATA_KEY comes from the environment, which this command cannot change. Run it again "
                    "with --write-env-file PATH (a new file, created 0600) to receive the new DATA_KEY, "
                    "then set that value in the secret store before the next start. Nothing was changed."
                )
            try:
                write_private_file(write_env_file, f"DATA_KEY={new_key.decode()}\n", replace=False)
            except FileExistsError:
                raise RotationRefused(
                    f"{write_env_file} exists; name a new file. Nothing was changed."
                ) from None
            env_file = write_env_file
        else:
            stored = read_local_secrets(secrets_path)
            if stored is None:  # checked_keys just read it
                raise RotationRefused(f"{secrets_path} disappeared. Nothing was changed.")
            backup = secrets_path.with_name(f"{secrets_path.name}.bak-{clock():%Y%m%dT%H%M%SZ}")
            try:
                write_private_file(backup, json.dumps(stored), replace=False)
            except FileExistsError:
                raise RotationRefused(
                    f"{backup} exists; try again in a second. Nothing was changed."
                ) from None
            write_private_file(pending, json.dumps({**stored, "data_key": new_key.decode()}), replace=True)
        try:
            counts = await rotate_data_key(engine, keys.data_key, new_key, clock=clock)
        except KeysDoNotMatchDatabase:
            # Refused before anything was written: the new key is of no use. (After any other
            # failure the pending file stays: the commit may have happened.)
            pending.unlink(missing_ok=True)
            if env_file is not None:
                env_file.unlink(missing_ok=True)
            raise
        if not keys.data_key_from_env:
            _install(pending, secrets_path)
    finally:
        await engine.dispose()
    return Rotation(counts, fingerprint(keys.data_key), fingerprint(new_key), backup, env_file)


def _pending_path(settings: Settings) -> Path:
    path = settings.secrets_path()
    return path.with_name(path.name + ".pending")


def _install(pending: Path, secrets_path: Path) -> None:
    """The new keys take the secrets file's place (after the database committed)."""
    os.replace(pending, secrets_path)
    _sync_folder(secrets_path.parent)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
