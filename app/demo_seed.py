"""The demo's made-up roster: three retirees with binding codes, reference faces taken from
the shared test photos when they are beside the project, and one community staff member.

Everything lives under the demo's var/ folder (never in the repository); seeding again finds
what is there and changes nothing.
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from app.wiring import Runtime, prepare_roster
from verification.roster import RosterSource, import_roster
from verification.roster_synthetic import synthetic_id_number
from verification.staff import StaffExists

REPO = Path(__file__).resolve().parents[1]
FACES_DIR = Path(os.environ.get("PENSION_BOT_FACES_DIR", REPO.parent / "shared" / "faces"))
STAFF_REGION = "110100"


@dataclass(frozen=True)
class DemoRetiree:
    name: str
    birth: date
    sequence: int
    last_certified_on: date
    reference: str  # photo under the shared faces folder
    selfie_to_try: str  # another photo of the same person, to certify with

    @property
    def id_number(self) -> str:
        return synthetic_id_number("110105", self.birth, self.sequence)


DEMO_RETIREES = (
    DemoRetiree(
        "王秀兰",
        date(1952, 5, 12),
        2,
        date(2025, 12, 20),
        "people/cn_119_cai_gang/1.jpg",
        "people/cn_119_cai_gang/2.jpg",
    ),
    DemoRetiree(
        "李桂芳",
        date(1949, 8, 3),
        4,
        date(2025, 12, 10),
        "people/cn_101_chen_weiting/1.jpg",
        "people/cn_101_chen_weiting/11.jpg",
    ),
    DemoRetiree(
        "张建国",
        date(1950, 1, 15),
        5,
        date(2025, 9, 1),
        "people/kr_20000_lee_hyunjae/1.jpg",
        "people/kr_20000_lee_hyunjae/2.jpg",
    ),
)


@dataclass(frozen=True)
class DemoGuide:
    """What a visitor needs to try each role: ID numbers, codes, photos to send."""

    retirees: list[tuple[DemoRetiree, str]]  # with its binding code
    staff_code: str
    faces_dir: Path | None


async def seed_demo(runtime: Runtime, folder: Path) -> DemoGuide:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
    faces = FACES_DIR if (FACES_DIR / "manifest.csv").exists() else None
    roster = folder / "roster.csv"
    if not roster.exists():
        _write_roster(roster, faces)
        await import_roster(RosterSource(roster), runtime.uow_factory, runtime.vault, today=date.today())
    await prepare_roster(runtime, enrol_faces=faces is not None)
    codes = {row.name: row.code for row in await runtime.bot_services.binding.notice_letters()}
    return DemoGuide(
        [(retiree, codes.get(retiree.name, "(used)")) for retiree in DEMO_RETIREES],
        await _staff_code(runtime, folder),
        faces,
    )


def _write_roster(roster: Path, faces: Path | None) -> None:
    photos = roster.parent / "photos"
    photos.mkdir(mode=0o700, exist_ok=True)
    # Full ID numbers (made-up, but shaped like real ones): readable by the owner only.
    fd = os.open(roster, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["姓名", "身份证号码", "参保地", "居住地", "退休日期", "上次认证日期", "手机号", "参考照片"]
        )
        for n, retiree in enumerate(DEMO_RETIREES):
            photo = ""
            if faces is not None:
                photo = f"photos/{n}.jpg"
                shutil.copyfile(faces / retiree.reference, photos / f"{n}.jpg")
                os.chmod(photos / f"{n}.jpg", 0o600)
            writer.writerow(
                [
                    retiree.name,
                    retiree.id_number,
                    "440300",
                    "110105",
                    "2012-06-01",
                    retiree.last_certified_on.isoformat(),
                    "",
                    photo,
                ]
            )


async def _staff_code(runtime: Runtime, folder: Path) -> str:
    saved = folder / "staff_code.txt"
    if saved.exists():
        return saved.read_text().strip()
    try:
        code = await runtime.bot_services.staff.create("DEMO-001", "赵社区", STAFF_REGION)
    except StaffExists:
        return "(see staff_code.txt)"
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(code)
    return code
