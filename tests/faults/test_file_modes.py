"""Files the product keeps are its owner's only (issue 12, finding 9): the SQLite database and
its -wal/-shm, VAR_DIR, the secrets file and the demo's roster (full ID numbers) were 0644/0755."""

from __future__ import annotations

import logging
import os
import stat
from contextlib import contextmanager
from pathlib import Path

from app.file_modes import secure_storage
from app.settings import Settings, create_local_secrets
from app.wiring import open_runtime
from demo.seed import _write_roster
from tests.cli import cli_env, run_cli
from tests.roster.rosters import person, write_csv


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def permissive_umask():
    """The usual umask (0o022), which made everything world-readable before."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def test_the_runtime_keeps_its_files_private(database_url, tmp_path):
    var = tmp_path / "var"
    settings = Settings(database_url=database_url, var_dir=var, data_key=None, id_hash_key=None)
    with permissive_umask():
        async with open_runtime(settings):
            assert mode(var) == 0o700
            assert mode(var / "secrets.json") == 0o600
            if database_url.startswith("sqlite"):
                database = tmp_path / "test.db"
                # SQLite gives -wal and -shm the database file's mode; they exist while connected.
                for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                    assert path.exists() and mode(path) == 0o600, path


def test_looser_modes_are_tightened_at_start(tmp_path, caplog):
    var = tmp_path / "var"
    with permissive_umask():
        var.mkdir(mode=0o755)
        create_local_secrets(var / "secrets.json")
        database = var / "pension_bot.db"
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            path.write_bytes(b"")
        demo = var / "demo"
        (demo / "photos").mkdir(parents=True)
        write_csv(demo / "roster.csv", [person(0)])
        (demo / "photos" / "0.jpg").write_bytes(b"jpeg")
        for path in (var, demo, demo / "photos"):
            path.chmod(0o755)
        (var / "secrets.json").chmod(0o644)
    assert mode(database) == 0o644 and mode(demo / "roster.csv") == 0o644

    with caplog.at_level(logging.WARNING, logger="app.file_modes"):
        secure_storage(var, f"sqlite+aiosqlite:///{database}")

    for folder in (var, demo, demo / "photos"):
        assert mode(folder) == 0o700, folder
    for path in (
        var / "secrets.json",
        database,
        Path(f"{database}-wal"),
        Path(f"{database}-shm"),
        demo / "roster.csv",
        demo / "photos" / "0.jpg",
    ):
        assert mode(path) == 0o600, path
    noted = [record.getMessage() for record in caplog.records]
    assert any("roster.csv" in line and "0644 to 0600" in line for line in noted)
    assert any("secrets.json" in line for line in noted) and len(noted) == 9
    roster_text = (demo / "roster.csv").read_text()
    assert person(0)["id_number"] in roster_text
    assert not any(person(0)["id_number"] in line for line in noted)  # paths only, never contents
    caplog.clear()
    secure_storage(var, f"sqlite+aiosqlite:///{database}")
    assert caplog.records == []  # already private: nothing to note


def test_the_demo_roster_is_written_private(tmp_path):
    roster = tmp_path / "demo" / "roster.csv"
    roster.parent.mkdir()
    with permissive_umask():
        _write_roster(roster, None)
    assert mode(roster) == 0o600 and mode(roster.parent / "photos") == 0o700
    assert "身份证号码" in roster.read_text(encoding="utf-8")


def test_the_command_creates_everything_private(tmp_path):
    roster = write_csv(tmp_path / "roster.csv", [person(i) for i in range(2)])
    var = tmp_path / "var"
    database = var / "pension_bot.db"
    done = run_cli(
        *("roster", "import", "--no-faces", "--no-progress", str(roster)),
        env=cli_env(DATABASE_URL=f"sqlite+aiosqlite:///{database}", VAR_DIR=str(var)),
        cwd=tmp_path,
        preexec_fn=lambda: os.umask(0o022),  # noqa: PLW1509 - only the umask, before exec
    )
    assert done.returncode == 0, done.stderr
    assert mode(var) == 0o700
    assert mode(var / "secrets.json") == 0o600 and mode(database) == 0o600
    for companion in ("-wal", "-shm"):
        path = Path(f"{database}{companion}")
        assert not path.exists() or mode(path) == 0o600


def test_the_command_restores_the_callers_umask(tmp_path, monkeypatch):
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    with permissive_umask():
        main(["db", "status"])
        assert os.umask(0o022) == 0o022
