"""`pension-bot reference enrol`: staff replace a reference face; the ID number comes on stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.settings import Settings
from app.wiring import open_runtime
from tests.certification.conftest import SAME_PERSON, enrol_retiree

REPO = Path(__file__).resolve().parents[2]


async def test_staff_enrol_a_new_reference_face(sqlite_url, tmp_path, faces):
    settings = Settings(database_url=sqlite_url, var_dir=tmp_path / "var")
    async with open_runtime(settings) as runtime:
        enrolled = await enrol_retiree(runtime.uow_factory, runtime.vault, runtime.faces, faces)
    env = {**os.environ, "DATABASE_URL": sqlite_url, "VAR_DIR": str(tmp_path / "var")}

    def enrol(staff_number: str, id_number: str, photo: Path) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "app.cli", "reference", "enrol", "--staff-number", staff_number]
        return subprocess.run(
            [*command, "--photo", str(photo)],
            input=id_number + "\n",
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=120,
        )

    done = enrol("S1", enrolled.id_number, faces / SAME_PERSON)
    assert done.returncode == 0 and "enrolled" in done.stdout
    assert enrolled.id_number not in done.stdout + done.stderr
    assert "No active staff member" in enrol("NOBODY", enrolled.id_number, faces / SAME_PERSON).stdout
    assert "several faces" in enrol("S1", enrolled.id_number, faces / "group" / "bbt2.jpg").stdout
    async with open_runtime(settings) as runtime, runtime.uow_factory() as uow:
        [reference] = await uow.faces.references(enrolled.retiree_id)
        actions = [entry.action for entry in await uow.audit.for_retiree(enrolled.retiree_id)]
    assert reference.source == "staff" and reference.created_by.startswith("staff:")
    assert actions.count("reference_enrolled") == 2  # the roster photo, then the staff's
