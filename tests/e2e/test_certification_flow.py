"""Remote certification end to end, through the real bot, the real liveness judge and the
stand-in Bot API, with real recordings (../shared/liveness/real, read at run time; each test
skips with the reason where they are absent).

A retiree of an imported roster, whose reference photo is a frame of their own clip, binds,
consents, gets a liveness challenge (seeded with the actions the clip shows: it was filmed long
before) and certifies by sending the clip as the video note; the same clip again is refused.
The attacks are refused: a filmed still photo of the reference, the real clip forwarded, and
that one photo animated into the actions asked (rendered by the liveness lab: an
animated-photo attack) make three failed tries and a review case. Three real people who are
not the retiree fail the face match, and staff decide the case in the bot."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from tests.binding.helpers import unused_code
from tests.e2e.harness import inline_labels, retiree_id_of, running_bot_with_clip_people
from tests.real_clips import clip, seed_challenge
from verification.liveness.actions import Action
from verification.roster.synthetic import synthetic_id_number

RETIREE_CHAT, IMPOSTOR_CHAT, STAFF_CHAT = 830001, 830002, 830003
# chat -> (name, ID number, the real clip whose person the retiree is)
PEOPLE = {
    RETIREE_CHAT: ("蔡刚", synthetic_id_number("110105", date(1950, 3, 4), 11), "d18"),
    IMPOSTOR_CHAT: ("蔡丽", synthetic_id_number("110105", date(1951, 6, 9), 14), "d3"),
}
# Real people who are not 蔡丽 (d3), each passing the liveness checks with their own clip.
SOMEONE_ELSE = ("d19", "d0", "d10")


@pytest.fixture
async def stack(e2e_morning, database_url, tmp_path):
    async with running_bot_with_clip_people(database_url, tmp_path, PEOPLE.values(), "2010-04-01") as stack:
        yield stack


async def _retiree_id(stack, chat_id: int) -> int:
    return await retiree_id_of(stack, PEOPLE[chat_id][1])


async def _bind_and_consent(stack, chat_id: int) -> None:
    name, number, _ = PEOPLE[chat_id]
    retiree_id = await _retiree_id(stack, chat_id)
    code = await unused_code(stack.runtime.uow_factory, stack.runtime.vault, retiree_id)
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


async def _seed(stack, chat_id: int, actions) -> None:
    """The open challenge asks for `actions` (what a clip filmed long ago shows)."""
    await seed_challenge(stack.runtime, await _retiree_id(stack, chat_id), chat_id, actions)


async def _send(
    stack, chat_id: int, *, photo: bytes | None = None, video: bytes | None = None, **kwargs
) -> str:
    if photo is not None:
        sent = await stack.client.send_photo(chat_id, photo, **kwargs)
    else:
        sent = await stack.client.send_video_note(chat_id, video, **kwargs)
    [reply] = await stack.user(chat_id).replies(sent["message"]["message_id"], wait=90)
    return reply["text"]


async def _reasons(stack, chat_id: int) -> list[str]:
    retiree_id = await _retiree_id(stack, chat_id)
    async with stack.runtime.uow_factory() as uow:
        attempts = await uow.attempts.since(retiree_id, datetime(2000, 1, 1, tzinfo=UTC))
    return [a.reason for a in attempts]


async def test_a_retiree_certifies_with_a_real_video_note_doing_the_actions_asked(stack):
    own = clip(PEOPLE[RETIREE_CHAT][2])
    await _bind_and_consent(stack, RETIREE_CHAT)

    photo_only = await _send(stack, RETIREE_CHAT, photo=own.reference_photo())
    assert "只发照片不能完成自助认证" in photo_only
    corrupt = await _send(stack, RETIREE_CHAT, video=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500)
    assert "打不开" in corrupt
    await _seed(stack, RETIREE_CHAT, own.actions)
    certified = await _send(stack, RETIREE_CHAT, video=own.path.read_bytes(), duration=8)
    assert "认证成功" in certified and "2027年11月" in certified
    again = await _send(stack, RETIREE_CHAT, video=own.path.read_bytes(), duration=8)
    assert "已经发过" in again  # the same video twice is refused (not counted: it is their own)

    [status] = await stack.user(RETIREE_CHAT).tap("📅 我的认证状态")
    assert "2027年11月" in status["text"]
    async with stack.runtime.uow_factory() as uow:
        certification = await uow.certifications.latest(await _retiree_id(stack, RETIREE_CHAT))
        errors = [e.code for e in await uow.errors.list(source="selfie")]
    assert certification.method == "self_video"
    assert sorted(errors) == ["corrupt", "replay"]


async def test_a_still_photo_a_forwarded_note_and_an_animated_photo_are_refused(stack):
    from liveness_lab.synthesis import encode_mp4, load_face_photo, render_genuine, render_still_photo_attack

    own = clip(PEOPLE[RETIREE_CHAT][2])
    # The attacker has one photo of the retiree: here the very frame on file as the reference.
    photo_file = stack.runtime.settings.var_dir / "one_photo.jpg"
    photo_file.write_bytes(own.reference_photo())
    photo = load_face_photo(photo_file, size=480)
    await _bind_and_consent(stack, RETIREE_CHAT)

    held_up = encode_mp4(render_still_photo_attack(photo, seconds=5.0, size=480, fps=24, seed=3), fps=24)
    refused = await _send(stack, RETIREE_CHAT, video=held_up)
    assert "没有通过" in refused or "拍的是一张照片" in refused
    assert "还可以再试 2 次" in refused and "这次只做一个动作" in refused  # stepwise after a failure
    assert "请工作人员上门" in refused  # and an offer of help

    forwarded = await _send(stack, RETIREE_CHAT, video=own.path.read_bytes(), forwarded_from="某人")
    assert "转发" in forwarded and "还可以再试 1 次" in forwarded

    # The photo animated into the action asked (照片活化): every other check would pass it.
    asked = [Action.TURN_LEFT]
    await _seed(stack, RETIREE_CHAT, asked)
    animated = encode_mp4(render_genuine(photo, asked, size=480, fps=24, seed=1), fps=24)
    third = await _send(stack, RETIREE_CHAT, video=animated)
    assert "工作人员人工核对" in third  # the third failed try: staff look (the reason is recorded)

    async with stack.runtime.uow_factory() as uow:
        assert await uow.certifications.latest(await _retiree_id(stack, RETIREE_CHAT)) is None
    assert await _reasons(stack, RETIREE_CHAT) == ["still_image", "forwarded", "animated_photo"]


async def test_someone_else_is_refused_and_staff_decide_the_case(stack):
    await _bind_and_consent(stack, IMPOSTOR_CHAT)
    replies = []
    for name in SOMEONE_ELSE:
        other = clip(name)
        await _seed(stack, IMPOSTOR_CHAT, other.actions)
        replies.append(await _send(stack, IMPOSTOR_CHAT, video=other.path.read_bytes(), duration=8))
    assert "还可以再试 2 次" in replies[0] and "还可以再试 1 次" in replies[1]
    assert "工作人员人工核对" in replies[2]
    assert await _reasons(stack, IMPOSTOR_CHAT) == ["no_match"] * 3  # live people, not her
    [waiting] = await stack.user(IMPOSTOR_CHAT).tap("✅ 开始认证")
    assert "正在由工作人员人工核对" in waiting["text"]

    staff = stack.user(STAFF_CHAT)
    await staff.say("/staff")
    [welcome] = await staff.say(stack.staff_code)
    assert "赵敏" in welcome["text"]
    [case] = await staff.tap("🗂 待审核")
    assert "蔡丽" in case["text"] and "自助认证三次未通过" in case["text"]
    assert PEOPLE[IMPOSTOR_CHAT][1] not in case["text"]  # the ID number is masked
    evidence = await staff.tap("🖼 查看照片", expect=4)
    assert sum(1 for m in evidence if m.get("photo")) == 1  # the reference ...
    assert sum(1 for m in evidence if m.get("video") or m.get("document")) == 3  # ... and three videos
    [ask] = await staff.tap("✅ 通过")
    assert "理由" in ask["text"]
    decided = await staff.say("电话视频核实为本人", expect=1)
    assert "已记录" in decided[0]["text"]
    # The chat may get the cycle's reminder (her due date is 1 December) at any moment of the
    # day the suite runs: the decision is the message that names it, whatever came before it.
    told = await _first_bot_message_with(stack, IMPOSTOR_CHAT, waiting["message_id"], "认证通过")
    assert "认证通过" in told["text"]


async def _first_bot_message_with(
    stack, chat_id: int, after_id: int, words: str, seconds: float = 20
) -> dict:
    """The first message of the bot to `chat_id` after `after_id` whose text has `words`."""
    deadline = time.monotonic() + seconds
    cursor = after_id
    while (left := deadline - time.monotonic()) > 0:
        for message in await stack.client.wait_for_bot_messages(chat_id, cursor, timeout=left):
            if words in message.get("text", ""):
                return message
            cursor = max(cursor, message["message_id"])
    raise AssertionError(f"no message with {words!r} in {seconds} s")
