"""`pension-bot roster import` and `pension-bot bench roster-import`, run as a user would."""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
from pathlib import Path

from app.commands._groups import group
from tests.cli import cli_env, run_cli
from tests.conftest import POSTGRES_URL
from tests.roster.rosters import HEADER_ZH, STANDARD_ID, make_id, person, write_csv


def _run(*args: str, tmp_path: Path, **env_overrides: str) -> subprocess.CompletedProcess:
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "VAR_DIR": str(tmp_path / "var"),
    }
    return run_cli(*args, env=cli_env(**{**settings, **env_overrides}), timeout=300)


def test_roster_import_end_to_end(tmp_path):
    bad_check = STANDARD_ID[:17] + "3"
    rows = [
        person(0, id_number=STANDARD_ID),
        person(1),
        person(2, id_number=bad_check),
        person(3, id_number=make_id(1)),
        person(4, reference_photo="photos/none.jpg"),
    ]
    roster = write_csv(tmp_path / "名单.csv", rows, header=HEADER_ZH, encoding="gbk")

    first = _run("roster", "import", str(roster), tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "imported:  3 (new 3, updated 0)" in out
    assert "refused:   2" in out
    assert "row 4:" in out and "[bad_check_digit]" in out
    assert "row 5:" in out and "already on row 3" in out
    assert "row 6:" in out and "[photo_missing]" in out
    for secret in (STANDARD_ID, bad_check, make_id(1), "13800000000"):
        assert secret not in out + first.stderr

    second = _run("roster", "import", str(roster), tmp_path=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "imported:  3 (new 0, updated 3)" in second.stdout

    with sqlite3.connect(tmp_path / "bot.db") as db:
        assert db.execute("SELECT count(*) FROM retirees").fetchone() == (3,)
        assert db.execute("SELECT name FROM retirees ORDER BY id").fetchall() == [
            ("张秀英0",),
            ("张秀英1",),
            ("张秀英4",),
        ]
        assert db.execute(
            "SELECT count(*), sum(rows_imported), sum(rows_refused) FROM roster_imports"
        ).fetchone() == (2, 6, 4)
        dump = "\n".join(db.iterdump())
    for secret in (STANDARD_ID, bad_check, make_id(1), "13800000000"):
        assert secret not in dump
    # The keys were made once in VAR_DIR and reused: the second run found the same retirees.
    assert (tmp_path / "var" / "secrets.json").exists()


def test_unusable_files_exit_1_with_a_kind_message(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = _run("roster", "import", str(empty), tmp_path=tmp_path)
    assert result.returncode == 1
    assert "Nothing was imported" in result.stderr and "empty" in result.stderr

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,phone\n王五,13800138000\n", encoding="utf-8")
    result = _run("roster", "import", str(wrong), tmp_path=tmp_path)
    assert result.returncode == 1
    assert "Missing: 身份证号码/id_number" in result.stderr
    assert "Found: name, phone" in result.stderr

    result = _run("roster", "import", str(tmp_path / "absent.xlsx"), tmp_path=tmp_path)
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def test_progress_bar_only_when_asked(tmp_path):
    roster = write_csv(tmp_path / "r.csv", [person(i) for i in range(3)])
    quiet = _run("roster", "import", str(roster), tmp_path=tmp_path)
    assert "rows/s" not in quiet.stderr
    shown = _run("roster", "import", "--progress", str(roster), tmp_path=tmp_path)
    assert shown.returncode == 0
    assert "rows" in shown.stderr and "3/3" in shown.stderr


def test_bench_roster_import(tmp_path):
    args = ["bench", "roster-import", "--rows", "300"]
    if POSTGRES_URL:
        args += ["--postgres-url", POSTGRES_URL]
    result = _run(*args, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SQLite: first import 300 rows" in result.stdout
    assert "SQLite: retirees stored: 300 (no duplicates)" in result.stdout
    if POSTGRES_URL:
        assert "PostgreSQL: retirees stored: 300 (no duplicates)" in result.stdout


def test_command_groups_are_shared_between_modules():
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command")
    bench = group(subparsers, "bench", "benchmarks")
    assert group(subparsers, "bench", "ignored the second time") is bench
    bench.add_parser("one").set_defaults(handler="one")
    group(subparsers, "bench", "benchmarks").add_parser("two").set_defaults(handler="two")
    assert parser.parse_args(["bench", "two"]).handler == "two"

    # A group made by hand (as faces.py used to) is adopted, not added twice.
    made_by_hand = subparsers.add_parser("check").add_subparsers(dest="check_command")
    assert group(subparsers, "check", "checks") is made_by_hand

    other = argparse.ArgumentParser().add_subparsers()
    assert group(other, "bench", "benchmarks") is not bench


def test_an_interrupted_import_exits_1_and_says_what_is_saved(tmp_path, monkeypatch, capsys):
    from app.commands import roster as roster_command
    from storage.uow import UnitOfWork

    roster = write_csv(tmp_path / "r.csv", [person(i) for i in range(2_500)])
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DATA_KEY", raising=False)
    monkeypatch.delenv("ID_HASH_KEY", raising=False)
    commits = 0
    real_commit = UnitOfWork.commit

    async def failing_commit(self):
        nonlocal commits
        commits += 1
        if commits == 4:  # after the import record and two batches
            raise ConnectionResetError("database went away")
        await real_commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", failing_commit)
    parser = argparse.ArgumentParser(prog="pension-bot")
    roster_command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["roster", "import", "--no-progress", str(roster)])
    assert args.handler(args) == 1
    captured = capsys.readouterr()
    assert "imported:  2000 (new 2000, updated 0)" in captured.out
    assert "stopped before the end: the database could not be reached" in captured.err
    assert "run the same command again" in captured.err

    monkeypatch.setattr(UnitOfWork, "commit", real_commit)
    assert args.handler(args) == 0
    assert "imported:  2500 (new 500, updated 2000)" in capsys.readouterr().out
