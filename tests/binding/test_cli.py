"""`pension-bot binding-codes` and `pension-bot staff add`, run as a clerk runs them: in a
subprocess, against a SQLite database named by DATABASE_URL, keys in VAR_DIR."""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

from accounts.binding import BindingService, BindOutcome
from accounts.staff import StaffService
from app.settings import Settings
from storage.db import create_engine, create_session_factory
from storage.protection import PersonalDataVault
from storage.schema import upgrade
from storage.uow import unit_of_work_factory
from tests.binding.helpers import add_retiree, id_number
from tests.cli import cli_env, run_cli

REPO = Path(__file__).resolve().parents[2]
ELDERS = {id_number(31): "王秀英", id_number(32, region="310104"): "李桂兰"}


def _env(tmp_path: Path) -> dict[str, str]:
    return cli_env(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", VAR_DIR=str(tmp_path / "var")
    )


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, env=_env(tmp_path), cwd=tmp_path)  # no stray .env of the checkout


async def _open(tmp_path: Path):
    settings = Settings(database_url=_env(tmp_path)["DATABASE_URL"], var_dir=tmp_path / "var")
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    return (
        engine,
        unit_of_work_factory(create_session_factory(engine)),
        PersonalDataVault(*settings.personal_data_keys(create_if_missing=True)),
    )


async def test_binding_codes_csv_for_the_notice_letters(tmp_path):
    engine, uow_factory, vault = await _open(tmp_path)
    try:
        for number, name in ELDERS.items():
            await add_retiree(uow_factory, vault, number, name)
    finally:
        await engine.dispose()

    out = tmp_path / "letters.csv"
    done = _cli(tmp_path, "binding-codes", "--issue-missing", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "codes issued now: 2" in done.stdout and "(rows): 2" in done.stdout

    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8 (Chinese)
    assert out.stat().st_mode & 0o077 == 0  # the file holds working codes: owner only
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["姓名", "身份证号码（部分隐藏）", "居住地区划代码", "绑定码", "发放日期"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == set(ELDERS.values())
    for number, name in ELDERS.items():
        _, masked, region, code, issued = by_name[name]
        assert masked == number[:4] + "**********" + number[-4:]
        assert number not in raw.decode("utf-8-sig")
        assert region == "310104" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", issued)
        assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4} [2-9A-HJKMNP-Z]{4}", code)
        assert code.replace(" ", "") not in done.stdout + done.stderr  # never on the terminal

    # Running again issues nothing new and lists the same codes.
    again = _cli(tmp_path, "binding-codes", "--issue-missing", "--out", "-")
    assert again.returncode == 0, again.stderr
    assert "codes issued now: 0" in again.stderr
    assert list(csv.reader(again.stdout.splitlines()))[1:] == rows[1:]

    # The printed code works, with the full ID number, in the bot's binding.
    engine, uow_factory, vault = await _open(tmp_path)
    try:
        number = next(iter(ELDERS))
        result = await BindingService(uow_factory, vault).bind(
            1, 1, number, by_name[ELDERS[number]][3], "self"
        )
        assert result.outcome is BindOutcome.BOUND
    finally:
        await engine.dispose()
    after = _cli(tmp_path, "binding-codes", "--out", str(out))
    assert "(rows): 1" in after.stdout  # the used code is no longer listed


async def test_staff_add_prints_the_code_once(tmp_path):
    done = _cli(tmp_path, "staff", "add", "--number", "S001", "--name", "周建国", "--region", "110105")
    assert done.returncode == 0, done.stderr
    [code] = re.findall(r"Staff code: ([A-Z0-9 ]+)", done.stdout)
    twice = _cli(tmp_path, "staff", "add", "--number", "S001", "--name", "周建国", "--region", "110105")
    assert twice.returncode == 1 and "already" in twice.stderr

    engine, uow_factory, vault = await _open(tmp_path)
    try:
        signed = await StaffService(uow_factory, vault).sign_in(5, code)
        assert signed is not None and signed.name == "周建国"
        async with uow_factory() as uow:
            assert (await uow.staff.by_number("S001")).role == "staff"
    finally:
        await engine.dispose()
    boss = _cli(
        tmp_path, "staff", "add", "--number", "S002", "--name", "林芳", "--region", "110100", "--supervisor"
    )
    assert boss.returncode == 0 and boss.stdout.startswith("Supervisor S002 added"), boss.stderr
