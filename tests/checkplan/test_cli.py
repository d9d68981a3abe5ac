"""`pension-bot checks coverage|propose|list|assign`, run as an operator runs them: a
subprocess against the database named by DATABASE_URL (SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from app.settings import Settings
from app.wiring import open_runtime
from tests.checkplan.helpers import HOME, add_retiree, add_staff
from tests.cli import cli_env, run_cli
from verification.records.chain import append_record


async def test_the_checks_commands(sqlite_url, tmp_path):
    # One database: the commands are thin over the service, which runs on both elsewhere.
    database_url = sqlite_url
    settings = Settings(database_url=database_url, var_dir=tmp_path / "var")
    async with open_runtime(settings) as runtime:
        uow_factory, vault = runtime.uow_factory, runtime.vault
        checked = await add_retiree(uow_factory, vault, 1)
        await add_retiree(uow_factory, vault, 2)
        oldest = await add_retiree(uow_factory, vault, 3, born=date(1931, 2, 1))
        await add_staff(uow_factory)
        async with uow_factory() as uow:
            retiree = await uow.retirees.existing(checked)
            at = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)
            await append_record(
                uow, region="110000", event="certified", retiree=retiree, method="self_video", at=at
            )
            await uow.commit()
    env = cli_env(DATABASE_URL=database_url, VAR_DIR=str(tmp_path / "var"))

    def cli(*args: str):
        return run_cli("checks", *args, env=env, cwd=tmp_path)

    done = cli("coverage", "--year", "2026", "--json")
    assert done.returncode == 0, done.stderr
    [region] = json.loads(done.stdout)
    assert region["region"] == HOME and region["year"] == 2026
    q1 = region["quarters"][0]
    assert (q1["quarter"], q1["roster"], q1["checked"], q1["target_count"], q1["shortfall"]) == (
        "2026Q1", 3, 1, 2, 1,
    )  # fmt: skip
    assert q1["by_means"]["self_service"] == 1 and q1["share"] == 0.3333

    table = cli("coverage", "--region", HOME, "--year", "2026")
    assert table.returncode == 0 and "Region 110105, 2026" in table.stdout and "33.3%" in table.stdout
    assert "self_service" in table.stdout and "老人" not in table.stdout

    proposed = cli("propose", "--quarter", "2026Q4", "--count", "1", "--on", "2026-11-03")
    assert proposed.returncode == 0, proposed.stderr
    assert "Region 110105, 2026Q4: 1 proposed now, 0 before (wanted 1; 2 eligible)" in proposed.stdout
    again = cli("propose", "--quarter", "2026Q4", "--count", "1", "--on", "2026-11-03")
    assert "0 proposed now, 1 before" in again.stdout

    listed = cli("list", "--quarter", "2026Q4", "--json")
    [check] = json.loads(listed.stdout)
    assert (check["retiree_id"], check["state"], check["staff_number"]) == (oldest, "proposed", None)
    assert check["reasons"] == ["no_life_signal", "age"]

    far = cli("assign", str(check["check_id"]), "S3")
    assert far.returncode == 1 and "does not serve the retiree's region" in far.stderr
    assert cli("assign", "999", "S1").returncode == 1
    near = cli("assign", str(check["check_id"]), "S2")
    assert near.returncode == 0 and "assigned to staff member S2" in near.stdout
    table = cli("list", "--state", "assigned")
    assert "S2" in table.stdout and "1 checks." in table.stdout and "老人" not in table.stdout

    bad = cli("propose", "--quarter", "2026Q5")
    assert bad.returncode == 2 and "2026Q4" in bad.stderr
