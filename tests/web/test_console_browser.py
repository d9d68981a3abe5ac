"""The staff console in a real browser (Playwright driving Debian's Chromium), from the bot:
a staff member signs in to the real bot (PTB against the stand-in), taps 🖥 网页工作台, opens
the link it sends, sees the region's quarter, drills down to a review case with the reference
photo beside the recorded video and decides it, filters the overdue list and exports it, and
downloads the quarterly report as XLSX and PDF whose figures match the service's.

Screenshots go to tmp_path, or to $CONSOLE_SCREENSHOTS (docs/ holds the ones in the README:
`CONSOLE_SCREENSHOTS=docs pytest tests/web/test_console_browser.py`)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from app.console_app import mount_console
from app.wiring import prepare_roster
from demo.history import seed_history
from storage.models.certification import CertificationAttempt, Evidence, ReviewCase
from tests.console.helpers import free_port
from tests.e2e.harness import ROSTER_HEADER, running_bot
from tests.real_clips import clip
from tests.web.test_demo_page import CHROMIUM, CHROMIUM_ARGS
from verification.checkplan.quarters import Quarter
from verification.records.chain import append_record
from verification.roster.service import RosterSource, import_roster
from verification.roster.synthetic import synthetic_id_number
from web.exchange import running_exchange

STAFF_CHAT = 850001
LINK = re.compile(r"http://\S+/console/sign-in/\S+")
QUARTER = "2026Q4"
TABLET = {"width": 1024, "height": 768}


def _roster(folder: Path, photo: bytes) -> Path:
    """Twelve retirees of 110105: the first with a reference photo, some overdue."""
    folder.mkdir()
    (folder / "ref.jpg").write_bytes(photo)
    path = folder / "roster.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ROSTER_HEADER)
        for n in range(12):
            number = synthetic_id_number("110105", date(1950, 1 + n % 12, 3), 100 + n)
            last = date(2025, 9 + n % 4, 10)  # due a year later: some overdue by 2026-11-27
            writer.writerow(
                [
                    f"示例{n}",
                    number,
                    "440300",
                    "110105",
                    "2010-04-01",
                    last.isoformat(),
                    "ref.jpg" if n == 0 else "",
                ]
            )
    return path


async def _seed(stack, recording: bytes, tmp_path: Path) -> int:
    """The roster, a few certifications in the records, and one review case whose attempt kept
    its video note; returns the case's id."""
    runtime = stack.runtime
    # A year of the region's work before it (the demo's made-up history): the overview has figures.
    await seed_history(
        runtime.uow_factory,
        runtime.vault,
        tmp_path / "history",
        today=date(2026, 11, 27),
        region_code="110000",
    )
    await import_roster(
        RosterSource(_roster(tmp_path / "roster", clip("d3").reference_photo())),
        runtime.uow_factory,
        runtime.vault,
        today=date(2026, 11, 27),
    )
    await prepare_roster(runtime, enrol_faces=False)
    at = datetime(2026, 10, 15, 2, tzinfo=UTC)
    async with runtime.uow_factory() as uow:
        everyone = (await uow.session.execute(_all_retirees())).scalars()
        retirees = sorted((r for r in everyone if r.name.startswith("示例")), key=lambda r: r.id)
        for n, retiree in enumerate(retirees[1:6]):
            method = ("self_video", "data", "assisted_photo", "self_video", "review")[n]
            await append_record(
                uow,
                region="110000",
                event="certified",
                retiree=retiree,
                method=method,
                at=at + timedelta(days=n),
            )
        case = ReviewCase(retiree_id=retirees[0].id, opened_because="failed_matches", opened_at=at)
        uow.reviews.add(case)
        await uow.flush()
        attempt = CertificationAttempt(
            idempotency_key="tg:browser:1", retiree_id=retirees[0].id, at=at, channel="video_note",
            outcome="fail", reason="no_match", distance=0.58, review_case_id=case.id,
        )  # fmt: skip
        uow.attempts.add(attempt)
        await uow.flush()
        uow.evidence.add(
            Evidence(
                attempt_id=attempt.id,
                retiree_id=retirees[0].id,
                media_type="video/mp4",
                data_encrypted=runtime.vault.encrypt(recording),
            )
        )
        await uow.commit()
        return case.id


def _all_retirees():
    from sqlalchemy import select

    from storage.models import Retiree

    return select(Retiree)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"headless Chromium not found at {CHROMIUM}")
async def test_staff_go_from_the_bot_to_the_console_decide_a_case_and_download_the_report(
    e2e_morning, sqlite_url, tmp_path
):
    playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    recording = clip("d3").path.read_bytes()
    shots = Path(os.environ.get("CONSOLE_SCREENSHOTS", tmp_path / "shots"))
    os.makedirs(shots, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with running_bot(sqlite_url, tmp_path / "var", console_url=f"{base}/console") as stack:
        case_id = await _seed(stack, recording, tmp_path)
        staff_code = await stack.runtime.bot_services.staff.create("S-01", "赵敏", "110100")
        site = web.Application()
        mount_console(site, stack.runtime)
        async with running_exchange(site, port=port):
            staff = stack.user(STAFF_CHAT)
            await staff.say("/staff")
            [welcome] = await staff.say(staff_code)
            assert "赵敏" in welcome["text"]
            assert "🖥 网页工作台" in await staff.keyboard_labels()
            [reply] = await staff.say("🖥 网页工作台")
            link = LINK.search(reply["text"]).group(0)

            async with playwright_api.async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    page = await browser.new_page(viewport=TABLET, locale="zh-CN", accept_downloads=True)
                    expect = playwright_api.expect
                    await page.goto(link)
                    await page.get_by_role("button", name="进入工作台").click()
                    await expect(page.get_by_role("heading", level=1)).to_contain_text("110100")
                    # The keyboard reaches the content first: the skip link, then the menu.
                    await page.keyboard.press("Tab")
                    await expect(page.locator(":focus")).to_have_text("跳到正文")

                    await page.goto(f"{base}/console/?quarter={QUARTER}")
                    await expect(page.locator(".stat").first).to_contain_text("今年核查覆盖率")
                    await expect(page.locator(".chart svg")).to_have_count(3)
                    await page.screenshot(path=str(shots / "console-overview.png"), full_page=True)

                    await page.get_by_role("link", name="待审核").first.click()
                    await page.get_by_role("link", name=f"#{case_id}").click()
                    await expect(page.locator("video")).to_have_count(1)
                    await expect(page.get_by_role("img", name="参考照片")).to_be_visible()
                    # The photo and the video are a real person's (never shipped): blurred in the picture.
                    blur = await page.add_style_tag(
                        content=".side-by-side img, .side-by-side video { filter: blur(28px); }"
                    )
                    await page.screenshot(path=str(shots / "console-case.png"), full_page=True)
                    await blur.evaluate("node => node.remove()")
                    await page.get_by_label("通过", exact=True).check()
                    await page.get_by_label("理由（会记录在案）").fill("视频中是本人，光线不好")
                    await page.get_by_role("button", name="保存决定").click()
                    await expect(page.get_by_role("status")).to_contain_text("已经保存您的决定")

                    await page.goto(f"{base}/console/retirees?region=110105&quarter={QUARTER}&status=overdue")
                    await expect(page.get_by_role("status")).to_contain_text("共")
                    await page.screenshot(path=str(shots / "console-retirees.png"), full_page=True)
                    async with page.expect_download() as exported:
                        await page.get_by_role("link", name="导出 CSV").click()
                    rows = list(
                        csv.reader(io.StringIO((await (await exported.value).path()).read_text("utf-8-sig")))
                    )
                    assert len(rows) > 1 and all("*" in row[2] for row in rows[1:])

                    await page.goto(f"{base}/console/?quarter={QUARTER}")
                    downloads = {}
                    for label, fmt in (("下载季度报表（Excel）", "xlsx"), ("下载季度报表（PDF）", "pdf")):
                        async with page.expect_download() as download:
                            await page.get_by_role("link", name=label).click()
                        saved = await (await download.value).path()  # gone with the browser: read now
                        downloads[fmt] = await asyncio.to_thread(Path(saved).read_bytes)

                    await page.get_by_role("link", name="English").click()
                    await expect(page.get_by_role("heading", level=1)).to_contain_text("Region 110100")
                    await page.screenshot(path=str(shots / "console-overview-en.png"), full_page=True)
                finally:
                    await browser.close()

        figures = await _figures(stack.runtime)
        _check_report(downloads, figures)
    async with stack.runtime.uow_factory() as uow:
        assert (await uow.reviews.get(case_id)).status == "approved"


async def _figures(runtime):
    from zoneinfo import ZoneInfo

    from verification.reporting.service import QuarterlyReportService

    return await QuarterlyReportService(
        runtime.uow_factory, zone=ZoneInfo("Asia/Shanghai"), own_region="110000"
    ).figures("110100", Quarter.parse(QUARTER))


def _check_report(downloads: dict[str, bytes], figures) -> None:
    import openpyxl
    import pypdfium2

    # A download has no file extension, which openpyxl goes by: read the bytes.
    sheet = openpyxl.load_workbook(io.BytesIO(downloads["xlsx"]), read_only=True).worksheets[0]
    values = {row[1]: row[2] for row in sheet.iter_rows(values_only=True) if row and len(row) > 2}
    for key, figure in figures.figures.items():
        assert values.get(key) == figure.value, key
    pdf = pypdfium2.PdfDocument(downloads["pdf"])
    text = pdf[0].get_textpage().get_text_range()
    assert "110100" in text and QUARTER in text
