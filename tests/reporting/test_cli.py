"""`pension-bot report quarterly`, run in this process against a SQLite file named by
DATABASE_URL: a workbook and a PDF written, and bad input refused in one line with exit code 2."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from app.cli import main
from app.settings import Settings
from app.wiring import open_runtime
from tests.checkplan.helpers import FAR, HOME, add_retiree
from verification.records.chain import append_record

OWN_SETTINGS = ("DATA_KEY", "ID_HASH_KEY", "TEST_POSTGRES_URL", "DATABASE_URL", "VAR_DIR", "REGION_CODE")


@pytest.fixture
async def database(sqlite_url, tmp_path, monkeypatch):
    """Three retirees of HOME (one certified by video in 2026Q4) and one far away."""
    settings = Settings(database_url=sqlite_url, var_dir=tmp_path / "var")
    async with open_runtime(settings) as runtime:
        uow_factory, vault = runtime.uow_factory, runtime.vault
        checked = await add_retiree(uow_factory, vault, 1)
        await add_retiree(uow_factory, vault, 2)
        await add_retiree(uow_factory, vault, 3)
        await add_retiree(uow_factory, vault, 4, residence=FAR)
        async with uow_factory() as uow:
            retiree = await uow.retirees.existing(checked)
            at = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
            await append_record(
                uow, region="110000", event="certified", retiree=retiree, method="self_video", at=at
            )
            await uow.commit()
    for name in OWN_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    return tmp_path


def test_a_workbook_for_a_region(database, capsys):
    out = database / "q4.xlsx"
    assert main(["report", "quarterly", "--quarter", "2026Q4", "--region", HOME, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"Quarterly report 2026Q4, region {HOME}: written to {out}" in printed
    headline = "retirees 3, certified this quarter 1, since 1 January 1 (33.3%; target 60% = 2, missing 1)"
    assert headline in printed
    assert "老人" not in printed
    book = load_workbook(io.BytesIO(out.read_bytes()))
    rows = list(book["主要数字"].iter_rows(values_only=True))
    values = {row[1]: row[2] for row in rows if len(row) > 2 and row[1]}
    assert (values["retirees"], values["certified"], values["certified.self_service"]) == (3, 1, 1)
    trace = list(book["记录明细"].iter_rows(values_only=True))[2:]
    assert [(row[0], row[1], row[2], row[4], row[5], row[7]) for row in trace] == [
        ("chain", "110000", 1, "certified", "self_video", "self_service")
    ]


def test_a_pdf_of_the_whole_database_in_english(database, capsys):
    out = database / "all.pdf"
    assert main(["report", "quarterly", "--quarter", "2026q4", "--out", str(out), "--language", "en"]) == 0
    printed = capsys.readouterr().out
    assert "the whole database (every region)" in printed and "retirees 4," in printed
    assert out.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--quarter", "2026Q5", "--out", "r.xlsx"], "2026Q4"),
        (["--quarter", "2026Q4", "--region", "1101", "--out", "r.xlsx"], "six digits"),
        (["--quarter", "2026Q4", "--out", "r.csv"], ".xlsx or .pdf"),
        (["--quarter", "2026Q4", "--out", "r.pdf", "--language", "fr"], "zh_Hans or en"),
        (["--quarter", "2026Q4", "--out", "nowhere/r.pdf"], "no folder"),
    ],
)
def test_bad_input_is_refused_in_one_line(database, capsys, args, said):
    assert main(["report", "quarterly", *args]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("No report written:") and said in line, line
    assert "Traceback" not in captured.err and captured.out == ""
    assert not list(database.glob("r.*"))
