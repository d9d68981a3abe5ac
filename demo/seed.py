"""The demo's made-up roster: three retirees with binding codes, one community staff member,
and reference faces from the shared data beside the project when it is there.

王秀兰 certifies by video note with a real recording: her reference photo is a frame of a
real person's clip (../shared/liveness/real/d3.mp4, MIT-licensed, read at run time and never
copied into the repository), and the demo makes her challenge ask for exactly the actions that
clip shows (`ChallengeService.script`), since it was filmed long before any challenge. The page
offers the clip as "the demo recording" (demo/page.py). The other two have reference photos
from ../shared/faces: no recording of them exists, and a video made from a photo is an animated
photo, which the bot refuses; staff can certify them in person.

Everything lives under the demo's var/ folder (never in the repository); seeding again finds
what is there and changes nothing.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from accounts.staff import StaffExists
from app.shared_data import faces_dir, real_clips_dir, real_clips_missing
from app.wiring import Runtime, prepare_roster
from demo.history import HistoryReport, seed_history
from verification.liveness.real_clips import RealClip, real_clip
from verification.roster.service import RosterSource, import_roster
from verification.roster.synthetic import synthetic_id_number

STAFF_REGION = "110100"


@dataclass(frozen=True)
class DemoRetiree:
    name: str
    birth: date
    sequence: int
    last_certified_on: date
    reference: str  # photo under the shared faces folder
    # A real recording (../shared/liveness/real/<clip>.mp4) of the person: when it is there, a
    # frame of it is the reference photo instead, and the challenge asks for what it shows.
    clip: str | None = None

    @property
    def id_number(self) -> str:
        return synthetic_id_number("110105", self.birth, self.sequence)


DEMO_RETIREES = (
    DemoRetiree(
        "王秀兰", date(1952, 5, 12), 2, date(2025, 12, 20), "people/cn_119_cai_gang/1.jpg", clip="d3"
    ),
    DemoRetiree("李桂芳", date(1949, 8, 3), 4, date(2025, 12, 10), "people/cn_101_chen_weiting/1.jpg"),
    DemoRetiree("张建国", date(1950, 1, 15), 5, date(2025, 9, 1), "people/kr_20000_lee_hyunjae/1.jpg"),
)
# Where the seeded roster says which recording its first retiree's reference photo was cut from.
RECORDING_MARK = "recording.txt"


@dataclass(frozen=True)
class DemoRecording:
    """The real recording a demo retiree certifies with."""

    retiree: DemoRetiree
    clip: RealClip


@dataclass(frozen=True)
class DemoGuide:
    """What a visitor needs to try each role: ID numbers, codes, the recording to send."""

    retirees: list[tuple[DemoRetiree, str]]  # with its binding code
    staff_code: str
    faces_dir: Path | None
    recording: DemoRecording | None
    # Why certification by video note cannot be tried (None when it can).
    no_recording: str | None = None
    # The year of the region's work seeded for the staff console (not seeded=False: there already).
    history: HistoryReport | None = None


async def seed_demo(runtime: Runtime, folder: Path, today: date | None = None) -> DemoGuide:
    """The demo's people (once), and a year of its region's work before `today` (default: the
    real date) for the staff console (demo/history.py, once)."""
    today = today or date.today()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
    faces = faces_dir() if (faces_dir() / "manifest.csv").exists() else None
    recordings = real_clips_dir()
    certifier = next(r for r in DEMO_RETIREES if r.clip is not None)
    clip = real_clip(recordings, certifier.clip)
    roster = folder / "roster.csv"
    if not roster.exists():
        _write_roster(roster, faces, clip)
        await import_roster(RosterSource(roster), runtime.uow_factory, runtime.vault, today=today)
    history = await seed_history(
        runtime.uow_factory, runtime.vault, folder, today=today, region_code=runtime.settings.region_code
    )
    await prepare_roster(runtime, enrol_faces=faces is not None or clip is not None)
    codes = {row.name: row.code for row in await runtime.bot_services.binding.notice_letters()}

    recording, why = None, None
    mark = folder / RECORDING_MARK
    seeded_from = mark.read_text().strip() if mark.exists() else None
    if clip is None:
        why = real_clips_missing(recordings)
    elif seeded_from != clip.name:
        why = (
            f"this demo's roster was seeded without the recording {clip.name}.mp4, so "
            f"{certifier.name}'s reference photo is not a frame of it: delete the demo's var/ "
            "folder (or VAR_DIR) to seed again"
        )
    else:
        recording = DemoRecording(certifier, clip)
        await _script_challenges(runtime, certifier, clip)
    return DemoGuide(
        [(retiree, codes.get(retiree.name, "(used)")) for retiree in DEMO_RETIREES],
        await _staff_code(runtime, folder),
        faces,
        recording,
        why,
        history,
    )


async def _script_challenges(runtime: Runtime, retiree: DemoRetiree, clip: RealClip) -> None:
    """The retiree's every challenge asks for what the recording shows, in one note."""
    async with runtime.uow_factory() as uow:
        row = await uow.retirees.by_id_hash(runtime.vault.lookup_hash(retiree.id_number))
    if row is not None and clip.actions:
        runtime.bot_services.certification.challenges.script(row.id, clip.actions)


def _write_roster(roster: Path, faces: Path | None, clip: RealClip | None = None) -> None:
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
            if clip is not None and retiree.clip == clip.name:
                # A frame of the real recording (cut at its labelled calm, frontal moment).
                photo = f"photos/{n}.jpg"
                _private(roster.parent / photo, clip.reference_photo())
                _private(roster.parent / RECORDING_MARK, clip.name.encode())
            elif faces is not None:
                photo = f"photos/{n}.jpg"
                _private(roster.parent / photo, (faces / retiree.reference).read_bytes())
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


def _private(path: Path, data: bytes) -> None:
    """Written readable by the owner only, from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


async def _staff_code(runtime: Runtime, folder: Path) -> str:
    saved = folder / "staff_code.txt"
    if saved.exists():
        return saved.read_text().strip()
    try:
        code = await runtime.bot_services.staff.create("DEMO-001", "赵社区", STAFF_REGION)
    except StaffExists:
        return "(see staff_code.txt)"
    _private(saved, code.encode())
    return code
