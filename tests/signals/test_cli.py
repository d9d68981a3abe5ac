"""`pension-bot signals …` and the two benches, run as an operator runs them (subprocesses).
The dates are fixed and far enough in the past that the answer does not depend on the day the
suite runs: a death (no age limit) and a life signal too old to certify."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tests.cli import cli_env, run_cli
from tests.conftest import POSTGRES_URL
from tests.roster.rosters import HEADER_ZH, make_id, person, write_csv
from tests.signals.factories import write_feed


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "VAR_DIR": str(tmp_path / "var"),
    }
    return run_cli(*args, env=cli_env(**settings), timeout=300)


def test_signals_import_end_to_end(tmp_path):
    roster = write_csv(tmp_path / "名单.csv", [person(0), person(1)], header=HEADER_ZH)
    assert _run("roster", "import", str(roster), "--no-faces", tmp_path=tmp_path).returncode == 0

    life = write_feed(tmp_path / "yb.csv", [(make_id(0), "2025-01-06"), (make_id(7), "2025-01-06")])
    first = _run("signals", "import", str(life), "--source", "medical_settlement", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "kept:        1" in first.stdout and "(too_old): 1" in first.stdout
    assert "row 3:" in first.stdout and "[unknown_person]" in first.stdout
    assert make_id(0) not in first.stdout + first.stderr and make_id(7) not in first.stdout

    again = _run(
        "signals",
        "import",
        str(life),
        "--source",
        "medical_settlement",
        "--language",
        "zh",
        tmp_path=tmp_path,
    )
    assert again.returncode == 1 and "已完整导入过" in again.stderr

    deaths = write_feed(tmp_path / "hk.csv", [(make_id(1), "2025-02-03")], header=("身份证号码", "死亡日期"))
    recorded = _run("signals", "import", str(deaths), "--source", "death_household", tmp_path=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    assert "deaths:      1" in recorded.stdout

    unknown = _run("signals", "import", str(deaths), "--source", "horoscope", tmp_path=tmp_path)
    assert unknown.returncode == 2 and "unknown source" in unknown.stderr
    listed = _run("signals", "imports", tmp_path=tmp_path)
    assert "medical_settlement" in listed.stdout and "death_household" in listed.stdout
    assert "certifies, in person, up to 90 days old" in _run("signals", "sources", tmp_path=tmp_path).stdout
    with sqlite3.connect(tmp_path / "bot.db") as db:
        assert db.execute("SELECT payment_state FROM retirees ORDER BY id").fetchall() == [
            ("active",),
            ("suspended",),
        ]
        assert db.execute("SELECT count(*) FROM review_cases").fetchone() == (1,)


def test_bench_signals_and_bench_year(tmp_path):
    args = ["bench", "signals", "--rows", "3000", "--retirees", "2000"]
    if POSTGRES_URL:
        args += ["--postgres-url", POSTGRES_URL]
    signals = _run(*args, tmp_path=tmp_path)
    assert signals.returncode == 0, signals.stdout + signals.stderr
    assert "SQLite: 3,000 rows imported and matched" in signals.stdout and "rows/s" in signals.stdout
    if POSTGRES_URL:
        assert "PostgreSQL: 3,000 rows imported and matched" in signals.stdout

    year = _run("bench", "year", "--retirees", "400", "--deaths", "0.05", "--fraud", "0.5", tmp_path=tmp_path)
    assert year.returncode == 0, year.stdout + year.stderr
    out = year.stdout
    for figure in (
        "certified with no action",
        "days from death to suspension",
        "suspected false claims",
        "2026Q4",
    ):
        assert figure in out
