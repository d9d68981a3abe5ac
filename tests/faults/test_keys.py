"""Keys that cannot be silently replaced (issue 12, finding 1).

A populated database started without its `var/secrets.json` used to get new keys without a
word: staff and binding codes were refused, `binding-codes` died, and a roster import
duplicated every retiree. Now the database remembers the keys' fingerprints and every start
compares: missing or other keys are refused with one clear paragraph, nothing generated or
written; only an empty database gets new keys. `keys rotate-data-key` re-encrypts everything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from sqlalchemy import delete, func, select

from app.commands.keys import RotationRefused, rotate
from app.settings import Settings, create_local_secrets
from app.wiring import open_runtime
from storage.db import create_engine, create_session_factory
from storage.keyring import (
    KeysDoNotMatchDatabase,
    encrypted_columns,
    fingerprint,
    key_fingerprints,
    open_vault,
)
from storage.models import Retiree
from storage.models.certification import BindingCode, ReferenceFace
from storage.models.durability import KeyFingerprint
from storage.schema import upgrade
from storage.uow import unit_of_work_factory
from tests.binding.helpers import add_retiree, id_number
from tests.cli import cli_env, run_cli
from tests.roster.rosters import person, write_csv

NOW = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)
ELDERS = {id_number(41): "王秀英", id_number(42): "李桂兰", id_number(43): "张建华"}


def clock() -> datetime:
    return NOW


def settings_for(database_url: str, var: Path, **overrides) -> Settings:
    # Explicit None: keys from the test runner's environment must not leak in.
    values = {"data_key": None, "id_hash_key": None, **overrides}
    return Settings(database_url=database_url, var_dir=var, **values)


@pytest.fixture
async def migrated(database_url):
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


async def populate(engine, settings: Settings) -> None:
    """Start on the empty database (keys made, fingerprints recorded), then personal data:
    retirees with phones, their binding codes, a reference face template."""
    vault = await open_vault(engine, settings, clock=clock)
    uow_factory = unit_of_work_factory(create_session_factory(engine))
    for n, (number, name) in enumerate(ELDERS.items()):
        retiree_id = await add_retiree(uow_factory, vault, number, name, phone=f"1380000000{n}")
        async with uow_factory() as uow:
            uow.session.add(
                BindingCode(
                    retiree_id=retiree_id,
                    code_hash=vault.lookup_hash(f"CODE{n}"),
                    code_encrypted=vault.encrypt(f"CODE{n}"),
                    issued_at=NOW,
                )
            )
            uow.session.add(
                ReferenceFace(
                    retiree_id=retiree_id,
                    template_encrypted=vault.encrypt(bytes([n]) * 512),
                    engine="test",
                    source="roster",
                    created_at=NOW,
                )
            )
            await uow.commit()


async def snapshot(engine) -> dict:
    """Everything the check must not touch: fingerprints and every encrypted value."""
    async with engine.connect() as connection:
        state = {
            "fingerprints": sorted(
                (await connection.execute(select(KeyFingerprint.name, KeyFingerprint.fingerprint))).all()
            )
        }
        for table, primary_key, column in encrypted_columns():
            rows = await connection.execute(select(primary_key, column).order_by(primary_key))
            state[f"{table.name}.{column.name}"] = rows.all()
    return state


async def test_a_lost_secrets_file_is_refused_and_nothing_is_generated(migrated, tmp_path):
    var = tmp_path / "var"
    settings = settings_for(str(migrated.url.render_as_string(hide_password=False)), var)
    await populate(migrated, settings)
    secrets_file = var / "secrets.json"
    old = json.loads(secrets_file.read_text())
    backup = tmp_path / "secrets-backup.json"
    shutil.move(secrets_file, backup)
    before = await snapshot(migrated)

    # Through the runtime, as `run`, `demo` and every command open it.
    with pytest.raises(KeysDoNotMatchDatabase) as refused:
        async with open_runtime(settings):
            pytest.fail("the runtime opened without its keys")
    message = str(refused.value)
    assert "missing" in message and str(secrets_file) in message
    assert "no new keys were generated" in message
    assert "cannot be read with new ones" in message
    assert "DATA_KEY and ID_HASH_KEY" in message and "backup" in message
    assert "\n" not in message  # one paragraph
    assert old["data_key"] not in message and old["id_hash_key"] not in message
    assert not secrets_file.exists()  # nothing generated
    assert await snapshot(migrated) == before  # nothing written

    # Other keys (a secrets file made anew by hand): refused, both keys named.
    create_local_secrets(secrets_file)
    other = json.loads(secrets_file.read_text())
    with pytest.raises(KeysDoNotMatchDatabase) as refused:
        await open_vault(migrated, settings, clock=clock)
    message = str(refused.value)
    assert "do not match" in message and "data key" in message and "ID-hash key" in message
    for secret in (*old.values(), *other.values()):
        assert secret not in message
    assert json.loads(secrets_file.read_text()) == other  # not replaced either
    assert await snapshot(migrated) == before

    # The backup put back: starts, and the stored data reads again.
    shutil.move(backup, secrets_file)
    vault = await open_vault(migrated, settings, clock=clock)
    uow_factory = unit_of_work_factory(create_session_factory(migrated))
    for number, name in ELDERS.items():
        async with uow_factory() as uow:
            retiree = await uow.retirees.by_id_hash(vault.lookup_hash(number))
            assert retiree.name == name and vault.decrypt_text(retiree.id_number_encrypted) == number
    assert await snapshot(migrated) == before


async def test_a_data_key_from_the_environment_that_differs_is_refused(migrated, tmp_path):
    var = tmp_path / "var"
    url = migrated.url.render_as_string(hide_password=False)
    await populate(migrated, settings_for(url, var))
    stored = json.loads((var / "secrets.json").read_text())
    wrong = Fernet.generate_key().decode()
    with pytest.raises(KeysDoNotMatchDatabase) as refused:
        await open_vault(migrated, settings_for(url, var, data_key=SecretStr(wrong)), clock=clock)
    message = str(refused.value)
    assert "the data key (environment variable DATA_KEY)" in message and "ID-hash key" not in message
    assert "set DATA_KEY to the old key" in message and wrong not in message
    # The right key from the environment (the other from the file) is accepted.
    right = settings_for(url, var, data_key=SecretStr(stored["data_key"]))
    await open_vault(migrated, right, clock=clock)
    # A value that is no Fernet key at all is refused plainly.
    with pytest.raises(KeysDoNotMatchDatabase, match="not a valid Fernet key"):
        await open_vault(migrated, settings_for(url, var, data_key=SecretStr("not-a-key")), clock=clock)


async def test_an_empty_database_gets_keys_and_remembers_them(migrated, tmp_path):
    var = tmp_path / "var"
    settings = settings_for(migrated.url.render_as_string(hide_password=False), var)
    vault = await open_vault(migrated, settings, clock=clock)
    secrets_file = var / "secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    keys = settings.load_personal_data_keys()
    async with migrated.connect() as connection:
        rows = (await connection.execute(select(KeyFingerprint.__table__))).all()
    assert {row.name: row.fingerprint for row in rows} == key_fingerprints(keys)
    # SQLite hands back a naive UTC time.
    assert all(
        (r.recorded_at.tzinfo and r.recorded_at or r.recorded_at.replace(tzinfo=UTC)) == NOW for r in rows
    )
    assert all(len(row.fingerprint) == 16 for row in rows)
    assert keys.data_key.decode() not in repr(rows) and repr(vault) == "PersonalDataVault(<keys hidden>)"
    # The same keys again: accepted, nothing new.
    await open_vault(migrated, settings, clock=clock)
    assert json.loads(secrets_file.read_text())["data_key"] == keys.data_key.decode()
    # Keys from the environment on an empty database: recorded, no file written.
    other_var = tmp_path / "other"
    async with migrated.begin() as connection:
        await connection.execute(delete(KeyFingerprint))
    from_env = settings_for(
        migrated.url.render_as_string(hide_password=False),
        other_var,
        data_key=SecretStr(Fernet.generate_key().decode()),
        id_hash_key=SecretStr("an-id-hash-key-from-the-secret-store"),
    )
    await open_vault(migrated, from_env, clock=clock)
    assert not (other_var / "secrets.json").exists()


async def test_a_database_from_before_fingerprints_is_checked_then_remembered(migrated, tmp_path):
    var = tmp_path / "var"
    url = migrated.url.render_as_string(hide_password=False)
    settings = settings_for(url, var)
    await populate(migrated, settings)
    stored = json.loads((var / "secrets.json").read_text())

    async def forget_fingerprints() -> None:
        async with migrated.begin() as connection:
            await connection.execute(delete(KeyFingerprint))

    # Wrong data key: the stored ID number cannot be decrypted.
    await forget_fingerprints()
    wrong_data = settings_for(url, var, data_key=SecretStr(Fernet.generate_key().decode()))
    with pytest.raises(KeysDoNotMatchDatabase, match="the data key"):
        await open_vault(migrated, wrong_data, clock=clock)
    # Wrong ID-hash key: decrypts, but the lookup hash differs.
    wrong_hash = settings_for(url, var, id_hash_key=SecretStr("another-id-hash-key-value"))
    with pytest.raises(KeysDoNotMatchDatabase, match="the ID-hash key"):
        await open_vault(migrated, wrong_hash, clock=clock)
    async with migrated.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(KeyFingerprint))).scalar() == 0
    # The right keys: accepted and remembered from now on.
    await open_vault(migrated, settings, clock=clock)
    async with migrated.connect() as connection:
        recorded = dict(
            (await connection.execute(select(KeyFingerprint.name, KeyFingerprint.fingerprint))).all()
        )
    assert recorded == {
        "data_key": fingerprint(stored["data_key"].encode()),
        "id_hash_key": fingerprint(stored["id_hash_key"].encode()),
    }
    # ... and a lost file is now refused even though the data alone could not tell.
    (var / "secrets.json").unlink()
    with pytest.raises(KeysDoNotMatchDatabase, match="missing"):
        await open_vault(migrated, settings, clock=clock)


async def test_rotate_data_key_re_encrypts_everything(migrated, tmp_path):
    var = tmp_path / "var"
    url = migrated.url.render_as_string(hide_password=False)
    settings = settings_for(url, var)
    await populate(migrated, settings)
    secrets_file = var / "secrets.json"
    old = json.loads(secrets_file.read_text())
    old_fernet = Fernet(old["data_key"])
    before = await snapshot(migrated)
    clear = {
        column: [(row_id, old_fernet.decrypt(token)) for row_id, token in rows if token is not None]
        for column, rows in before.items()
        if column != "fingerprints"
    }

    rotation = await rotate(settings, clock=clock)

    new = json.loads(secrets_file.read_text())
    assert new["id_hash_key"] == old["id_hash_key"] and new["data_key"] != old["data_key"]
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    backup = var / "secrets.json.bak-20261130T153000Z"
    assert rotation.backup == backup and json.loads(backup.read_text()) == old
    assert backup.stat().st_mode & 0o777 == 0o600
    assert not (var / "secrets.json.pending").exists()
    assert rotation.counts["retirees.id_number_encrypted"] == 3
    assert rotation.counts["retirees.phone_encrypted"] == 3
    assert rotation.counts["binding_codes.code_encrypted"] == 3
    assert rotation.counts["reference_faces.template_encrypted"] == 3

    after = await snapshot(migrated)
    new_fernet = Fernet(new["data_key"])
    for column, values in clear.items():
        tokens = dict(after[column])
        for row_id, value in values:
            assert new_fernet.decrypt(tokens[row_id]) == value  # readable with the new key
            with pytest.raises(InvalidToken):
                old_fernet.decrypt(tokens[row_id])  # not with the old
    assert dict(after["fingerprints"]) == {
        "data_key": fingerprint(new["data_key"].encode()),
        "id_hash_key": fingerprint(old["id_hash_key"].encode()),
    }
    assert rotation.new_fingerprint == fingerprint(new["data_key"].encode())
    # The next start accepts the new key; the backup (the old key) is refused.
    vault = await open_vault(migrated, settings, clock=clock)
    uow_factory = unit_of_work_factory(create_session_factory(migrated))
    number = next(iter(ELDERS))
    async with uow_factory() as uow:
        retiree = await uow.retirees.by_id_hash(vault.lookup_hash(number))
        assert vault.decrypt_text(retiree.id_number_encrypted) == number
    with pytest.raises(KeysDoNotMatchDatabase, match="do not match"):
        await open_vault(migrated, settings_for(url, var, data_key=SecretStr(old["data_key"])), clock=clock)


async def test_rotation_with_the_data_key_in_the_environment(migrated, tmp_path):
    var = tmp_path / "var"
    url = migrated.url.render_as_string(hide_password=False)
    await populate(migrated, settings_for(url, var))
    old = json.loads((var / "secrets.json").read_text())
    (var / "secrets.json").unlink()
    from_env = settings_for(
        url, var, data_key=SecretStr(old["data_key"]), id_hash_key=SecretStr(old["id_hash_key"])
    )
    before = await snapshot(migrated)

    with pytest.raises(RotationRefused, match="--write-env-file"):
        await rotate(from_env, clock=clock)
    assert await snapshot(migrated) == before

    env_file = tmp_path / "new-data-key.env"
    rotation = await rotate(from_env, write_env_file=env_file, clock=clock)
    assert rotation.env_file == env_file and env_file.stat().st_mode & 0o777 == 0o600
    [line] = env_file.read_text().splitlines()
    name, new_key = line.split("=", 1)
    assert name == "DATA_KEY" and new_key != old["data_key"]
    assert not (var / "secrets.json").exists()  # the environment keys stay where they are
    with pytest.raises(KeysDoNotMatchDatabase):
        await open_vault(migrated, from_env, clock=clock)
    vault = await open_vault(
        migrated,
        settings_for(url, var, data_key=SecretStr(new_key), id_hash_key=SecretStr(old["id_hash_key"])),
        clock=clock,
    )
    async with migrated.connect() as connection:
        token = (await connection.execute(select(Retiree.id_number_encrypted).limit(1))).scalar()
    assert vault.decrypt_text(token) in ELDERS
    # An existing file is never overwritten with a key.
    with pytest.raises(RotationRefused, match="exists"):
        await rotate(
            settings_for(url, var, data_key=SecretStr(new_key), id_hash_key=SecretStr(old["id_hash_key"])),
            write_env_file=env_file,
            clock=clock,
        )


def _cli(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = cli_env(DATABASE_URL=database_url, VAR_DIR=str(tmp_path / "var"))
    return run_cli(*args, env=env, cwd=tmp_path)  # no stray .env of the checkout


async def test_no_command_opens_the_database_with_lost_keys(database_url, tmp_path):
    """The tester's reproduction: import, lose secrets.json, import the same file again."""
    roster = write_csv(tmp_path / "roster.csv", [person(i) for i in range(3)])
    first = _cli(tmp_path, database_url, "roster", "import", "--no-faces", "--no-progress", str(roster))
    assert first.returncode == 0, first.stderr
    assert "imported:  3 (new 3, updated 0)" in first.stdout
    secrets_file = tmp_path / "var" / "secrets.json"
    shutil.move(secrets_file, tmp_path / "backup.json")

    again = _cli(tmp_path, database_url, "roster", "import", "--no-faces", "--no-progress", str(roster))
    assert again.returncode == 2
    assert "Traceback" not in again.stderr and "keys protecting personal data are missing" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1  # one paragraph
    assert not secrets_file.exists()
    codes = _cli(tmp_path, database_url, "binding-codes", "--out", str(tmp_path / "codes.csv"))
    assert codes.returncode == 2 and "Traceback" not in codes.stderr
    assert not (tmp_path / "codes.csv").exists() and not secrets_file.exists()
    show = _cli(tmp_path, database_url, "keys", "show")
    assert show.returncode == 1 and "DOES NOT MATCH" in show.stdout
    rotated = _cli(tmp_path, database_url, "keys", "rotate-data-key")
    assert rotated.returncode == 2 and not secrets_file.exists()

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(select(func.count()).select_from(Retiree))).scalar() == 3
    finally:
        await engine.dispose()

    # The backup put back: the same file imports as an update, nobody duplicated.
    shutil.move(tmp_path / "backup.json", secrets_file)
    show = _cli(tmp_path, database_url, "keys", "show")
    assert show.returncode == 0 and show.stdout.count("matches") == 2
    restored = _cli(tmp_path, database_url, "roster", "import", "--no-faces", "--no-progress", str(roster))
    assert restored.returncode == 0, restored.stderr
    assert "imported:  3 (new 0, updated 3)" in restored.stdout


async def test_a_rotation_interrupted_after_the_commit_points_at_the_new_key(
    migrated, tmp_path, monkeypatch, capsys
):
    import app.commands.keys as keys_command
    from app.commands.keys import show

    var = tmp_path / "var"
    url = migrated.url.render_as_string(hide_password=False)
    settings = settings_for(url, var)
    await populate(migrated, settings)

    def power_cut(*_args):  # after the database committed, before the file was replaced
        raise OSError("power cut")

    monkeypatch.setattr(keys_command, "_install", power_cut)
    with pytest.raises(OSError, match="power cut"):
        await rotate(settings, clock=clock)
    monkeypatch.undo()
    pending = var / "secrets.json.pending"
    assert pending.exists() and pending.stat().st_mode & 0o777 == 0o600

    with pytest.raises(KeysDoNotMatchDatabase) as refused:
        await open_vault(migrated, settings, clock=clock)
    assert "A key rotation was interrupted" in str(refused.value) and str(pending) in str(refused.value)
    assert await show(settings) == 1
    assert f"interrupted rotation: {pending} holds data key" in capsys.readouterr().out
    os.replace(pending, var / "secrets.json")
    await open_vault(migrated, settings, clock=clock)
    assert await show(settings) == 0
