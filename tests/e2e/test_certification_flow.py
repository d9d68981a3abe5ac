"""Remote certification end to end: a retiree of an imported roster binds, consents and
certifies with a real photo through the real bot; someone else's face is refused three times
and becomes a review case that a staff member decides in the bot."""

from __future__ import annotations

import csv
import shutil
from datetime import date

import pytest

from app.wiring import prepare_roster
from tests.binding.helpers import unused_code
from tests.certification.conftest import REFERENCE, SAME_PERSON, SOMEONE_ELSE
from tests.conftest import faces_dir
from tests.e2e.harness import inline_labels, running_bot
from verification.roster import RosterSource, import_roster
from verification.roster_synthetic import synthetic_id_number

RETIREE_CHAT, IMPOSTOR_CHAT, STAFF_CHAT = 830001, 830002, 830003
PEOPLE = {
    RETIREE_CHAT: ("蔡刚", synthetic_id_number("110105", date(1950, 3, 4), 11)),
    IMPOSTOR_CHAT: ("蔡强", synthetic_id_number("110105", date(1951, 6, 9), 13)),
}


@pytest.fixture
async def stack(database_url, tmp_path):
    faces = faces_dir()
    roster = tmp_path / "roster" / "roster.csv"
    roster.parent.mkdir()
    shutil.copyfile(faces / REFERENCE, roster.parent / "reference.jpg")
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "身份证号码", "参保地", "居住地", "退休日期", "上次认证日期", "参考照片"])
        for name, number in PEOPLE.values():
            writer.writerow([name, number, "440300", "110105", "2010-04-01", "2025-12-01", "reference.jpg"])
    async with running_bot(database_url, tmp_path / "var") as stack:
        runtime = stack.runtime
        await import_roster(
            RosterSource(roster), runtime.uow_factory, runtime.vault, today=date(2026, 11, 27)
        )
        prepared = await prepare_roster(runtime)
        assert prepared.codes_issued == 2 and prepared.enrolment.enrolled == 2
        stack.staff_code = await runtime.bot_services.staff.create("S-01", "赵敏", "110100")
        yield stack


async def _bind_and_consent(stack, chat_id: int) -> None:
    name, number = PEOPLE[chat_id]
    async with stack.runtime.uow_factory() as uow:
        retiree = await uow.retirees.by_id_hash(stack.runtime.vault.lookup_hash(number))
    code = await unused_code(stack.runtime.uow_factory, stack.runtime.vault, retiree.id)
    user = stack.user(chat_id)
    await user.say("/bind")
    await user.tap("👤 给我自己")
    await user.say(number)
    [bound] = await user.say(code)
    assert "绑定成功" in bound["text"]
    [consent] = await user.tap("✅ 开始认证")
    assert inline_labels(consent)[0] == "✅ 同意"
    [agreed] = await user.tap("✅ 同意")
    assert "自拍" in agreed["text"]
    [instructions] = await user.tap("✅ 开始认证")
    assert f"请为{name}拍一张照片" in instructions["text"]


async def _send_photo(stack, chat_id: int, data: bytes, **kwargs) -> str:
    sent = await stack.client.send_photo(chat_id, data, **kwargs)
    [reply] = await stack.client.wait_for_bot_messages(chat_id, sent["message"]["message_id"], timeout=60)
    return reply["text"]


async def test_a_retiree_certifies_with_a_photo_of_themself(stack):
    faces = faces_dir()
    await _bind_and_consent(stack, RETIREE_CHAT)

    not_a_photo = await _send_photo(
        stack, RETIREE_CHAT, b"%PDF-1.4 not a photo", filename="x.pdf", as_document=True
    )
    assert "不是照片" in not_a_photo
    certified = await _send_photo(stack, RETIREE_CHAT, (faces / SAME_PERSON).read_bytes())
    assert "认证成功" in certified and "2027年11月" in certified

    [status] = await stack.user(RETIREE_CHAT).tap("📅 我的认证状态")
    assert "2027年11月" in status["text"]
    async with stack.runtime.uow_factory() as uow:
        errors = await uow.errors.list(source="selfie")
    assert [e.code for e in errors] == ["not_an_image"]


async def test_someone_else_is_refused_and_staff_decide_the_case(stack):
    faces = faces_dir()
    await _bind_and_consent(stack, IMPOSTOR_CHAT)
    impostor = (faces / SOMEONE_ELSE).read_bytes()
    replies = [await _send_photo(stack, IMPOSTOR_CHAT, impostor) for _ in range(3)]
    assert "还可以再试 2 次" in replies[0] and "还可以再试 1 次" in replies[1]
    assert "工作人员人工核对" in replies[2]
    [waiting] = await stack.user(IMPOSTOR_CHAT).tap("✅ 开始认证")
    assert "正在由工作人员人工核对" in waiting["text"]

    staff = stack.user(STAFF_CHAT)
    await staff.say("/staff")
    [welcome] = await staff.say(stack.staff_code)
    assert "赵敏" in welcome["text"]
    [case] = await staff.tap("🗂 待审核")
    assert "蔡强" in case["text"] and "自助认证三次未通过" in case["text"]
    assert PEOPLE[IMPOSTOR_CHAT][1] not in case["text"]  # the ID number is masked
    photos = await staff.tap("🖼 查看照片", expect=4)
    assert sum(1 for m in photos if m.get("photo")) == 4  # the reference and three attempts
    [ask] = await staff.tap("✅ 通过")
    assert "理由" in ask["text"]
    decided = await staff.say("电话视频核实为本人", expect=1)
    assert "已记录" in decided[0]["text"]
    [told] = await stack.client.wait_for_bot_messages(IMPOSTOR_CHAT, waiting["message_id"], timeout=20)
    assert "认证通过" in told["text"]
