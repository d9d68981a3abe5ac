"""`pension-bot recovery …` run as a clerk runs it: in a subprocess, against a SQLite database
named by DATABASE_URL, keys in VAR_DIR; two staff members of the paying region, one far off."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli import cli_database, cli_env, run_cli
from tests.recovery.helpers import CLERK_NUMBER, SECOND_NUMBER, add_retiree, add_staff, open_case


def _env(tmp_path: Path) -> dict[str, str]:
    return cli_env(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", VAR_DIR=str(tmp_path / "var")
    )


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli("recovery", *args, "--language", "en", env=_env(tmp_path), cwd=tmp_path)


async def _seed(tmp_path: Path) -> int:
    async with cli_database(_env(tmp_path)) as (_, uow_factory, vault):
        await add_staff(uow_factory)
        case_id = await open_case(uow_factory, await add_retiree(uow_factory, vault, name="陈淑珍"))
        assert case_id is not None
        return case_id


async def test_the_recovery_commands(tmp_path):
    case = str(await _seed(tmp_path))

    listed = _cli(tmp_path, "list", "--staff-number", CLERK_NUMBER)
    assert listed.returncode == 0, listed.stderr
    assert f"case {case}" in listed.stdout and "13002.00 yuan owed" in listed.stdout
    bad = _cli(tmp_path, "payment", case, "--amount", "12.345", "--staff-number", CLERK_NUMBER)
    assert bad.returncode == 2 and "Not an amount" in bad.stderr
    too_much = _cli(tmp_path, "payment", case, "--amount", "13,002.01", "--staff-number", CLERK_NUMBER)
    assert too_much.returncode == 4 and "more than is still owed" in too_much.stderr
    paid = _cli(tmp_path, "payment", case, "--amount", "1,002.00", "--staff-number", CLERK_NUMBER)
    assert paid.returncode == 0 and "12000.00 yuan is still owed" in paid.stdout

    plan = _cli(
        tmp_path,
        "plan",
        case,
        "--instalments",
        "3",
        "--first-due",
        "2027-01-10",
        "--staff-number",
        CLERK_NUMBER,
    )
    assert plan.returncode == 0, plan.stderr
    assert "• 10 January 2027: 4000.00 yuan" in plan.stdout

    out = tmp_path / "letter.pdf"
    letter = _cli(tmp_path, "letter", case, "--out", str(out), "--staff-number", SECOND_NUMBER)
    assert letter.returncode == 0, letter.stderr
    assert out.read_bytes().startswith(b"%PDF") and b"12000.00 yuan owed" in out.read_bytes()

    asked = _cli(
        tmp_path,
        "write-off",
        case,
        "--reason",
        "estate settled, nothing left",
        "--staff-number",
        CLERK_NUMBER,
    )
    assert asked.returncode == 0 and "12000.00 yuan is asked for" in asked.stdout
    own = _cli(tmp_path, "approve", case, "--staff-number", CLERK_NUMBER)
    assert own.returncode == 4 and "second staff member" in own.stderr
    approved = _cli(tmp_path, "approve", case, "--staff-number", SECOND_NUMBER)
    assert approved.returncode == 0 and "12000.00 yuan is approved" in approved.stdout

    shown = _cli(tmp_path, "show", case, "--staff-number", SECOND_NUMBER)
    assert shown.returncode == 0
    assert "State: written off" in shown.stdout
    for step in (
        "payment",
        "plan agreed",
        "letter made",
        "write-off asked",
        "write-off approved",
    ):
        assert step in shown.stdout
