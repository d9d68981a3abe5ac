"""Care end to end through the real bot: a relative reports a death and payment stops at once;
a retiree asks for a home visit that staff see, and staff certify a retiree in person with a
real photo (one from the visit list, one by typing the ID number)."""

from __future__ import annotations

import csv
import shutil
from datetime import date

import pytest

from app.wiring import prepare_roster
from storage.models.care import HomeVisitRequest, LifeEventReport
from storage.models.certification import Binding, Certification, Suspension
from tests.care.helpers import rows
from tests.certification.conftest import REFERENCE, SAME_PERSON
from tests.conftest import faces_dir
from tests.e2e.harness import inline_labels, running_bot
from verification.roster.service import RosterSource, import_roster
from verification.roster.synthetic import synthetic_id_number

RELATIVE_CHAT, RETIREE_CHAT, STAFF_CHAT = 840001, 840002, 840003
NAME, NUMBER = "蔡刚", synthetic_id_number("110105", date(1950, 3, 4), 21)


@pytest.fixture
async def stack(e2e_morning, database_url, tmp_path):
    """The bot, and a staff member of the prefecture the retiree lives in."""
    async with running_bot(database_url, tmp_path / "var") as stack:
        stack.roster_dir = tmp_path / "roster"
        stack.staff_code = await stack.runtime.bot_services.staff.create("S-01", "赵敏", "110100")
        yield stack


async def _import(stack, *, with_face: bool) -> int:
    """One retiree from a roster file (with a real reference photo, or none); returns the id."""
    runtime = stack.runtime
    roster = stack.roster_dir / "roster.csv"
    roster.parent.mkdir()
    if with_face:
        shutil.copyfile(faces_dir() / REFERENCE, roster.parent / "reference.jpg")
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "身份证号码", "参保地", "居住地", "退休日期", "上次认证日期", "参考照片"])
        photo = "reference.jpg" if with_face else ""
        writer.writerow([NAME, NUMBER, "440300", "110105", "2010-04-01", "2025-12-01", photo])
    await import_roster(RosterSource(roster), runtime.uow_factory, runtime.vault, today=date(2026, 11, 27))
    prepared = await prepare_roster(runtime, enrol_faces=with_face)
    assert not with_face or prepared.enrolment.enrolled == 1
    async with runtime.uow_factory() as uow:
        return (await uow.retirees.by_id_hash(runtime.vault.lookup_hash(NUMBER))).id


async def _sign_in_staff(stack):
    staff = stack.user(STAFF_CHAT)
    await staff.say("/staff")
    [welcome] = await staff.say(stack.staff_code)
    assert "赵敏" in welcome["text"]
    return staff


async def _send_photo(stack, chat_id: int, data: bytes) -> dict:
    sent = await stack.client.send_photo(chat_id, data)
    [reply] = await stack.client.wait_for_bot_messages(chat_id, sent["message"]["message_id"], timeout=60)
    return reply


async def test_a_family_member_reports_a_death_and_payment_stops_at_once(stack):
    retiree_id = await _import(stack, with_face=False)
    relative = stack.user(RELATIVE_CHAT)

    [start] = await relative.say("🕯 报告去世或住院")
    assert inline_labels(start)[:2] == ["🕯 家人去世了", "🏥 家人住院了"]
    [intro] = await relative.tap("🕯 家人去世了")
    text = intro["text"]
    assert text.startswith("🕯 请您节哀")  # condolences first
    assert "20个工作日" in text and "社会保险经办条例 第二十五条" in text
    assert "社会保险法 第八十八条" in text and "2倍以上5倍以下" in text and "刑事责任" in text
    [ask_name] = await relative.say(NUMBER)
    assert "姓名" in ask_name["text"] and NUMBER not in ask_name["text"]
    [wrong] = await relative.say("蔡强")
    assert "对不上" in wrong["text"] and "还可以再试 4 次" in wrong["text"]
    await relative.say(NUMBER)
    [ask_day] = await relative.say(NAME)
    assert f"{NAME}是哪一天去世的" in ask_day["text"]
    [ask_certificate] = await relative.tap("昨天")
    assert "死亡证明上的编号" in ask_certificate["text"]
    [ask_document] = await relative.say("D110105202611260001")
    assert "跳过" in inline_labels(ask_document)[0]
    confirm = await _send_photo(stack, RELATIVE_CHAT, b"\xff\xd8\xff\xe0 a photo of the certificate")
    assert "马上暂停发放" in confirm["text"]
    [done] = await relative.tap("✅ 确认提交")

    assert "养老金已经暂停发放" in done["text"] and "节哀" in done["text"]
    uow_factory = stack.runtime.uow_factory
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        assert retiree.payment_state == "suspended"
    [suspension] = await rows(uow_factory, Suspension)
    assert (suspension.retiree_id, suspension.reason, suspension.resumed_on) == (
        retiree_id,
        "death_reported",
        None,
    )
    [report] = await rows(uow_factory, LifeEventReport)
    assert (report.kind, report.reporter_user_id, report.document_media_type) == (
        "death",
        RELATIVE_CHAT,
        "image/jpeg",
    )
    assert stack.runtime.vault.decrypt(report.document_encrypted).startswith(b"\xff\xd8")

    staff = await _sign_in_staff(stack)
    [case] = await staff.tap("🗂 待审核")
    assert "去世报告" in case["text"] and NAME in case["text"] and NUMBER not in case["text"]
    assert inline_labels(case) == ["📄 查看死亡证明", "✅ 确认去世", "❌ 报告不实"]


async def test_a_retiree_asks_for_a_visit_that_staff_see_and_certify_in_person(stack):
    faces = faces_dir()
    retiree_id = await _import(stack, with_face=True)
    async with stack.runtime.uow_factory() as uow:
        uow.bindings.add(
            Binding(telegram_user_id=RETIREE_CHAT, chat_id=RETIREE_CHAT, retiree_id=retiree_id, kind="self")
        )
        await uow.commit()
    retiree = stack.user(RETIREE_CHAT)

    [ask_reason] = await retiree.say("🏠 请工作人员上门")
    assert NAME in ask_reason["text"] and "📵 不会或没法拍" in inline_labels(ask_reason)
    [ask_note] = await retiree.tap("📵 不会或没法拍")
    assert "地址" in ask_note["text"]
    [asked] = await retiree.say("幸福小区3号楼501")
    assert "已经为蔡刚预约了上门" in asked["text"]
    [again] = await retiree.say("🏠 请工作人员上门")
    assert "已经预约过上门" in again["text"]

    staff = await _sign_in_staff(stack)
    [visit] = await staff.tap("🏠 上门任务")
    assert NAME in visit["text"] and "幸福小区3号楼501" in visit["text"] and NUMBER not in visit["text"]
    assert NUMBER[-4:] in visit["text"]
    [ask_place] = await staff.tap("📸 现在当面认证")
    assert NAME in ask_place["text"]
    [ask_agreement] = await staff.tap("🏠 上门（老人家里）")
    assert "同意" in ask_agreement["text"]
    [send] = await staff.tap("✅ 本人同意")
    assert "拍一张照片" in send["text"]
    certified = await _send_photo(stack, STAFF_CHAT, (faces / SAME_PERSON).read_bytes())

    assert "认证成功" in certified["text"] and "2027年11月" in certified["text"]
    [request] = await rows(stack.runtime.uow_factory, HomeVisitRequest)
    [certification] = await rows(stack.runtime.uow_factory, Certification)
    assert (request.state, request.certification_id) == ("done", certification.id)
    assert (certification.retiree_id, certification.place) == (retiree_id, "home_visit")
    [none_left] = await staff.tap("🏠 上门任务")
    assert "没有等待上门的请求" in none_left["text"]


async def test_staff_certify_a_retiree_in_person_by_id_number(stack):
    faces = faces_dir()
    retiree_id = await _import(stack, with_face=True)
    staff = await _sign_in_staff(stack)

    [ask_id] = await staff.say("🧑‍💼 当面协助认证")
    assert "身份证号码" in ask_id["text"]
    [typo] = await staff.say(NUMBER[:-1] + ("1" if NUMBER[-1] == "0" else "0"))
    assert "请重新输入身份证号码" in typo["text"]
    [ask_place] = await staff.say(NUMBER)
    assert NAME in ask_place["text"] and NUMBER not in ask_place["text"] and NUMBER[-4:] in ask_place["text"]
    [ask_agreement] = await staff.say("社区卫生服务中心")
    assert NAME in ask_agreement["text"]
    await staff.tap("✅ 本人同意")
    certified = await _send_photo(stack, STAFF_CHAT, (faces / SAME_PERSON).read_bytes())

    assert "认证成功" in certified["text"]
    [certification] = await rows(stack.runtime.uow_factory, Certification)
    assert (certification.retiree_id, certification.place) == (retiree_id, "社区卫生服务中心")
