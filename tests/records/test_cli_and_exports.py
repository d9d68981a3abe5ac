"""`pension-bot records verify|export` as a subprocess, and the export lists."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import update

from app.settings import Settings
from app.wiring import open_runtime
from storage.models.certification import Certification
from storage.models.records import VerificationRecord
from tests.cli import run_cli
from tests.cycle.factories import FakeClock, add_retiree
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService
from verification.records.exports import export_rows

REPO = Path(__file__).resolve().parents[2]
DUE = date(2026, 4, 30)


async def _history(uow_factory, vault) -> int:
    """A retiree suspended on 2026-06-01 and certified again (resumed) on 2026-08-20."""
    retiree_id = await add_retiree(uow_factory, vault, due_on=DUE, name="=HYPERLINK(1)")
    clock = FakeClock(date(2026, 6, 1))
    service = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock, region_code="440300")
    await service.sweep_suspensions()
    clock.set(date(2026, 8, 20))
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        change = await service.apply_certification(uow, retiree, date(2026, 8, 20))
        uow.certifications.add(
            Certification(
                retiree_id=retiree_id, certified_on=date(2026, 8, 20), valid_until=change.due_on, method="x"
            )
        )
        await uow.commit()
    return retiree_id


async def test_records_verify_and_export_commands(sqlite_url, tmp_path, vault):
    settings = Settings(database_url=sqlite_url, var_dir=tmp_path / "var")
    async with open_runtime(settings) as runtime:
        retiree_id = await _history(runtime.uow_factory, vault)
    env = {**os.environ, "DATABASE_URL": sqlite_url, "VAR_DIR": str(tmp_path / "var")}

    done = run_cli("records", "verify", env=env)
    assert done.returncode == 0 and "region 440300: 2 records, chain intact" in done.stdout, done.stderr

    out = tmp_path / "resumed.csv"
    done = run_cli("records", "export", "--kind", "resumed", "--from", "2026-08-01", "--to", "2026-08-31",
               "--format", "csv", "--out", str(out), env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with out.open(encoding="utf-8-sig") as handle:
        header, row = list(csv.reader(handle))
    assert header[-3:] == ["suspended_on", "resumed_on", "back_pay_months"]
    assert row[0] == str(retiree_id) and row[1] == "'=HYPERLINK(1)"  # never a live formula
    assert row[-1] == "2026-06 2026-07 2026-08"

    xlsx = tmp_path / "suspended.xlsx"
    done = run_cli("records", "export", "--kind", "suspended", "--from", "2026-06-01", "--to", "2026-06-01",
               "--format", "xlsx", "--out", str(xlsx), env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    values = list(load_workbook(xlsx).active.values)
    assert values[0][-2:] == ("suspended_on", "reason") and values[1][-2:] == ("2026-06-01", "not_certified")

    async with open_runtime(settings) as runtime, runtime.uow_factory() as uow:
        await uow.session.execute(
            update(VerificationRecord).where(VerificationRecord.seq == 1).values(retiree_hash="0" * 64)
        )
        await uow.commit()
    done = run_cli("records", "verify", env=env)
    assert done.returncode == 1 and "BROKEN at record #1" in done.stdout


async def test_export_lists_by_date_range(uow_factory, vault):
    await _history(uow_factory, vault)
    certified = await export_rows(uow_factory, "certified", date(2026, 8, 1), date(2026, 8, 31))
    assert len(certified) == 2 and certified[1][-3] == date(2026, 8, 20)
    assert len(await export_rows(uow_factory, "certified", date(2026, 9, 1), date(2026, 9, 30))) == 1
    due = await export_rows(uow_factory, "due", date(2027, 1, 1), date(2027, 12, 31))
    assert len(due) == 2 and due[1][-1] == "active"
