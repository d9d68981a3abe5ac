"""Remote certification end to end, through the real bot and the stand-in Bot API: a retiree
of an imported roster binds, consents, gets a liveness challenge and certifies with a video
note doing the actions asked (rendered from a real photo of the same person: see
verification/liveness/synthesis/); a filmed still photo is refused; someone else's face
is refused three times and becomes a review case that a staff member decides in the bot."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, date, datetime

import pytest

from app.wiring import prepare_roster
from tests.binding.helpers import unused_code
from tests.certification.conftest import REFERENCE, SAME_PERSON, SOMEONE_ELSE
from tests.conftest import faces_dir
from tests.e2e.harness import inline_labels, running_bot
from verification.liveness.actions import Action
from verification.liveness.synthesis import (
    encode_mp4,
    load_face_photo,
    render_genuine,
    render_still_photo_attack,
)
from verification.roster import RosterSource, import_roster
from verification.roster_synthetic import synthetic_id_number

RETIREE_CHAT, IMPOSTOR_CHAT, STAFF_CHAT = 830001, 830002, 830003
PEOPLE = {
    RETIREE_CHAT: ("蔡刚", synthetic_id_number("110105", date(1950, 3, 4), 11)),
    IMPOSTOR_CHAT: ("蔡强", synthetic_id_number("110105", date(1951, 6, 9), 13)),
}


@pytest.fixture
async def stack(e2e_morning, database_url, tmp_path):
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
    assert "视频" in agreed["text"]
    [challenge] = await user.tap("✅ 开始认证")
    assert f"请为{name}录一段圆形小视频" in challenge["text"] and "1. " in challenge["text"]


async def _asked(stack, chat_id: int) -> list[Action]:
    """The actions of the chat's open challenge, as the bot listed them."""
    async with stack.runtime.uow_factory() as uow:
        retiree = await uow.retirees.by_id_hash(stack.runtime.vault.lookup_hash(PEOPLE[chat_id][1]))
        challenge = await uow.challenges.open_for(retiree.id, chat_id)
    step = challenge.step if challenge.mode == "stepwise" else None
    actions = [Action(a) for a in challenge.actions]
    return actions if step is None else [actions[step]]


def _performing(photo_path, actions, seed: int) -> bytes:
    photo = load_face_photo(photo_path, size=480)
    return encode_mp4(render_genuine(photo, actions, size=480, fps=24, seed=seed), fps=24)


async def _send(
    stack, chat_id: int, *, photo: bytes | None = None, video: bytes | None = None, **kwargs
) -> str:
    if photo is not None:
        sent = await stack.client.send_photo(chat_id, photo, **kwargs)
    else:
        sent = await stack.client.send_video_note(chat_id, video, **kwargs)
    [reply] = await stack.user(chat_id).replies(sent["message"]["message_id"], wait=90)
    return reply["text"]


async def test_a_retiree_certifies_with_a_video_note_doing_the_actions_asked(stack):
    faces = faces_dir()
    await _bind_and_consent(stack, RETIREE_CHAT)

    photo_only = await _send(stack, RETIREE_CHAT, photo=(faces / SAME_PERSON).read_bytes())
    assert "只发照片不能完成自助认证" in photo_only
    corrupt = await _send(stack, RETIREE_CHAT, video=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500)
    assert "打不开" in corrupt
    take = _performing(faces / SAME_PERSON, await _asked(stack, RETIREE_CHAT), seed=1)
    certified = await _send(stack, RETIREE_CHAT, video=take)
    assert "认证成功" in certified and "2027年11月" in certified
    again = await _send(stack, RETIREE_CHAT, video=take)
    assert "已经发过" in again  # the same video twice is refused (not counted: it is their own)

    [status] = await stack.user(RETIREE_CHAT).tap("📅 我的认证状态")
    assert "2027年11月" in status["text"]
    async with stack.runtime.uow_factory() as uow:
        certification = await uow.certifications.latest(
            (await uow.retirees.by_id_hash(stack.runtime.vault.lookup_hash(PEOPLE[RETIREE_CHAT][1]))).id
        )
        errors = [e.code for e in await uow.errors.list(source="selfie")]
    assert certification.method == "self_video"
    assert sorted(errors) == ["corrupt", "replay"]


async def test_a_video_of_a_still_photo_is_refused_and_the_next_try_is_one_action(stack):
    faces = faces_dir()
    await _bind_and_consent(stack, RETIREE_CHAT)
    photo = load_face_photo(faces / SAME_PERSON, size=480)
    held_up = encode_mp4(render_still_photo_attack(photo, seconds=5.0, size=480, fps=24, seed=3), fps=24)

    refused = await _send(stack, RETIREE_CHAT, video=held_up)

    assert "没有通过" in refused or "拍的是一张照片" in refused
    assert "还可以再试 2 次" in refused and "这次只做一个动作" in refused  # stepwise after a failure
    assert "请工作人员上门" in refused  # and an offer of help
    someone_elses = _performing(faces / SAME_PERSON, await _asked(stack, RETIREE_CHAT), seed=4)
    forwarded = await _send(stack, RETIREE_CHAT, video=someone_elses, forwarded_from="某人")
    assert "转发" in forwarded
    async with stack.runtime.uow_factory() as uow:
        retiree = await uow.retirees.by_id_hash(stack.runtime.vault.lookup_hash(PEOPLE[RETIREE_CHAT][1]))
        assert await uow.certifications.latest(retiree.id) is None
        reasons = [a.reason for a in await uow.attempts.since(retiree.id, datetime(2000, 1, 1, tzinfo=UTC))]
    assert reasons[0] in ("still_image", "action_missing") and reasons[1] == "forwarded"


async def test_someone_else_is_refused_and_staff_decide_the_case(stack):
    faces = faces_dir()
    await _bind_and_consent(stack, IMPOSTOR_CHAT)
    replies = []
    for seed in range(3):
        take = _performing(faces / SOMEONE_ELSE, await _asked(stack, IMPOSTOR_CHAT), seed=seed)
        replies.append(await _send(stack, IMPOSTOR_CHAT, video=take))
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
    evidence = await staff.tap("🖼 查看照片", expect=4)
    assert sum(1 for m in evidence if m.get("photo")) == 1  # the reference ...
    assert sum(1 for m in evidence if m.get("video") or m.get("document")) == 3  # ... and three videos
    [ask] = await staff.tap("✅ 通过")
    assert "理由" in ask["text"]
    decided = await staff.say("电话视频核实为本人", expect=1)
    assert "已记录" in decided[0]["text"]
    [told] = await stack.client.wait_for_bot_messages(IMPOSTOR_CHAT, waiting["message_id"], timeout=20)
    assert "认证通过" in told["text"]
