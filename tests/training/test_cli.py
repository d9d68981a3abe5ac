"""`pension-bot training verify|revoke|check` run as an operator runs them: in a subprocess,
against a SQLite database named by DATABASE_URL, keys in VAR_DIR."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.wiring import training_service
from tests.cli import cli_database, cli_env, run_cli
from tests.training.helpers import Clock, add_staff, pass_the_exam
from training.service import CertificateView


def _env(tmp_path: Path) -> dict[str, str]:
    return cli_env(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", VAR_DIR=str(tmp_path / "var")
    )


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli("training", *args, env=_env(tmp_path), cwd=tmp_path)


async def _seed(tmp_path: Path) -> CertificateView:
    """A clerk who passed, certified by the same service the commands build."""
    async with cli_database(_env(tmp_path)) as (settings, uow_factory, vault):
        await add_staff(uow_factory)
        clock = Clock()
        return await pass_the_exam(training_service(settings, uow_factory, vault, clock), clock)


async def test_the_training_commands(tmp_path):
    certificate = await _seed(tmp_path)

    valid = _cli(tmp_path, "verify", certificate.number, "--code", certificate.code)
    assert valid.returncode == 0, valid.stderr
    assert f"{certificate.number}: valid; held by 李*华 (region 440305), issued 2026-10-07" in valid.stdout
    assert _cli(tmp_path, "verify", certificate.number).returncode == 0  # on the server: no code needed
    wrong = _cli(tmp_path, "verify", certificate.number, "--code", "AAAAAAAAAA")
    assert wrong.returncode == 3 and "tampered" in wrong.stderr
    odd = _cli(tmp_path, "verify", "PXC-20x6")
    assert odd.returncode == 3 and "not a certificate number" in odd.stderr

    refused = _cli(tmp_path, "revoke", certificate.number, "--by", "T-02", "--reason", "x")
    assert refused.returncode == 2 and "not supervisor" in refused.stdout
    nobody = _cli(tmp_path, "revoke", certificate.number, "--by", "NOBODY", "--reason", "x")
    assert nobody.returncode == 2 and "nothing done" in nobody.stderr
    revoked = _cli(tmp_path, "revoke", certificate.number, "--by", "T-03", "--reason", "代考，经核实")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked.stderr
    after = _cli(tmp_path, "verify", certificate.number, "--code", certificate.code)
    assert after.returncode == 3 and "REVOKED" in after.stdout

    attended = _cli(tmp_path, "attend", "T-02", "--on", "2026-10-01", "--by", "T-03")
    assert attended.returncode == 0 and "recorded" in attended.stdout, attended.stderr
    clerk = _cli(tmp_path, "attend", "T-02", "--on", "2026-10-02", "--by", "T-01")
    assert clerk.returncode == 2 and "not supervisor" in clerk.stdout

    checked = _cli(tmp_path, "check")
    assert checked.returncode == 0, checked.stderr
    assert "5 modules" in checked.stdout
    questions = int(checked.stdout.split("question bank: ", 1)[1].split(" ", 1)[0])
    assert questions >= 120  # the floor


def test_an_agencys_broken_training_files_are_listed_and_stop_the_start(tmp_path):
    """TRAINING_DIR with a question without its answer and a lesson citing no real article:
    `training check` lists both; a command that needs the runtime stops with the same list."""
    import shutil

    from training.bank import QUESTIONS_DIR

    folder = tmp_path / "training"
    shutil.copytree(QUESTIONS_DIR.parent, folder)
    bank = folder / "questions" / "01_contributions.toml"
    text = bank.read_text(encoding="utf-8")
    bank.write_text(text.replace('answer = "', 'no_answer = "', 1), encoding="utf-8")
    course = folder / "courses" / "01_certification.toml"
    text = course.read_text(encoding="utf-8")
    first = text.index('citations = ["') + len('citations = ["')
    course.write_text(text[:first] + "社会保险法 第九百条" + text[text.index('"', first) :], encoding="utf-8")
    env = {**_env(tmp_path), "TRAINING_DIR": str(folder)}

    checked = run_cli("training", "check", env=env, cwd=tmp_path)
    assert checked.returncode == 1
    assert "the answer is missing" in checked.stderr and "社会保险法 第九百条" in checked.stderr
    started = run_cli("training", "verify", "PXC-2026-440305-000001", env=env, cwd=tmp_path)
    assert started.returncode == 2 and "Traceback" not in started.stderr
    assert "a data file cannot be used" in started.stderr and "the answer is missing" in started.stderr
