"""The audit queue end to end, through the real PTB Application, the stand-in Bot API and the
real liveness judge: two retirees certify with real video notes (clips of real people from
../shared/liveness/real, each retiree's reference photo a frame of their own clip, and the
challenge seeded with the actions the clip shows), are told the usual "certified", and both
passes go to the audit queue (every pass drawn: PASS_AUDIT_SHARE 1.0). A staff member sees
each with the reference photo, the video and the reasons, confirms one and opens a review
case from the other, then rejects that pass in the review: payment stops and the retiree is
asked to certify in person."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest
from sqlalchemy import select

from content.i18n import Translator
from storage.models import ErrorRecord
from storage.models.certification import PassAudit
from storage.models.records import VerificationRecord
from tests.binding.helpers import unused_code
from tests.e2e.harness import inline_labels, retiree_id_of, running_bot_with_clip_people
from tests.real_clips import clip, seed_challenge
from verification.roster.synthetic import synthetic_id_number

KEPT, DOUBTED, STAFF_CHAT = 870001, 870002, 870003
# chat -> (name, ID number, clip, the actions the clip shows in this order)
PEOPLE = {
    KEPT: ("王芳", synthetic_id_number("110105", date(1948, 5, 6), 41), "d11", ["blink", "open_mouth"]),
    DOUBTED: ("李明", synthetic_id_number("110105", date(1946, 9, 1), 43), "d18", ["open_mouth", "blink"]),
}
zh = Translator("zh_Hans")


@pytest.fixture
async def stack(e2e_morning, database_url, tmp_path):
    people = [(name, number, shown) for name, number, shown, _ in PEOPLE.values()]
    async with running_bot_with_clip_people(
        database_url, tmp_path, people, "2008-04-01", pass_audit_share=1.0
    ) as stack:
        yield stack


async def _retiree_id(stack, chat_id: int) -> int:
    return await retiree_id_of(stack, PEOPLE[chat_id][1])


async def _certify_with_the_clip(stack, chat_id: int) -> str:
    """Bind, consent, ✅, and send the clip as the video note; the bot's answer."""
    name, number, shown, actions = PEOPLE[chat_id]
    retiree_id = await _retiree_id(stack, chat_id)
    code = await unused_code(stack.runtime.uow_factory, stack.runtime.vault, retiree_id)
    user = stack.user(chat_id)
    await user.say("/bind")
    await user.tap("👤 给我自己")
    await user.say(number)
    [bound] = await user.say(code)
    assert "绑定成功" in bound["text"]
    await user.tap("✅ 开始认证")
    await user.tap("✅ 同意")
    [challenge] = await user.tap("✅ 开始认证")
    assert f"请为{name}录一段圆形小视频" in challenge["text"]
    assert "5 分钟内有效" in challenge["text"]
    # The clip was filmed long ago: the challenge is seeded with what it shows (as the demo does).
    await seed_challenge(stack.runtime, retiree_id, chat_id, actions)
    sent = await stack.client.send_video_note(chat_id, clip(shown).path.read_bytes(), duration=9)
    after = sent["message"]["message_id"]
    while True:
        [reply] = await stack.client.wait_for_bot_messages(chat_id, after, timeout=90)
        if not reply.get("text", "").startswith("⏰"):  # the cycle's reminder may come in between
            return reply["text"]
        after = reply["message_id"]


async def _callback_answer(stack, chat_id: int, query_id: str, wait: float = 15) -> dict:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for answer in (await stack.client.chat(chat_id))["callback_answers"]:
            if answer["callback_query_id"] == query_id:
                return answer
        await asyncio.sleep(0.05)
    raise TimeoutError(f"callback query {query_id} was not answered")


async def test_staff_confirm_one_audited_pass_and_open_a_review_from_another(stack):
    for chat_id in (KEPT, DOUBTED):
        answer = await _certify_with_the_clip(stack, chat_id)
        assert "认证成功" in answer and "2027年11月" in answer, answer  # nothing different is said
        assert "抽查" not in answer and "审核" not in answer

    staff = stack.user(STAFF_CHAT)
    await staff.say("/staff")
    [welcome] = await staff.say(stack.staff_code)
    assert "🕵 抽查复核" in await staff.keyboard_labels()
    shown = await staff.tap("🕵 抽查复核", expect=6, wait=30)

    # Oldest first; each: the photo on file, the video, then the reasons with two buttons.
    cards = [m for m in shown if m.get("text")]
    assert [bool(m.get("photo")) for m in shown] == [True, False, False] * 2
    assert [bool(m.get("video") or m.get("document")) for m in shown] == [False, True, False] * 2
    assert [PEOPLE[KEPT][0] in cards[0]["text"], PEOPLE[DOUBTED][0] in cards[1]["text"]] == [True, True]
    for card in cards:
        assert "这条是随机抽到的" in card["text"] and "风险分" in card["text"]
        assert inline_labels(card) == ["✅ 确认无误", "⚠️ 转人工审核"]
        assert PEOPLE[KEPT][1] not in card["text"] and PEOPLE[DOUBTED][1] not in card["text"]  # masked

    # A button the bot never sent: refused politely, recorded without its data.
    forged = await stack.client.press_button(STAFF_CHAT, cards[0]["message_id"], "audit:ok:٣")
    refusal = await _callback_answer(stack, STAFF_CHAT, forged["callback_query_id"])
    assert (refusal["text"], refusal["show_alert"]) == (zh("button.expired"), True)

    kept_data = cards[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    before = (await stack.client.messages(STAFF_CHAT))[-1]["message_id"]
    await stack.client.press_button(STAFF_CHAT, cards[0]["message_id"], kept_data)
    [confirmed] = await stack.client.wait_for_bot_messages(STAFF_CHAT, before, timeout=20)
    assert "确认无误" in confirmed["text"] and PEOPLE[KEPT][0] in confirmed["text"]
    [opened] = await staff.tap("⚠️ 转人工审核")
    assert "审核案例" in opened["text"] and PEOPLE[DOUBTED][0] in opened["text"]
    [empty] = await staff.tap("🕵 抽查复核")
    assert "没有需要抽查复核" in empty["text"]

    # The review case, in the existing flow: the evidence, then a decision with a reason.
    [case] = await staff.tap("🗂 待审核")
    assert PEOPLE[DOUBTED][0] in case["text"] and "抽查复核时有疑问" in case["text"]
    assert inline_labels(case)[1:] == ["✅ 是本人，认证有效", "❌ 认证无效，暂停发放"]
    evidence = await staff.tap("🖼 查看照片", expect=2)
    assert [bool(m.get("photo")) for m in evidence] == [True, False]
    [ask] = await staff.tap("❌ 认证无效，暂停发放")
    assert "理由" in ask["text"]
    heard = (await stack.client.messages(DOUBTED))[-1]["message_id"]
    [decided] = await staff.say("视频里的人与档案照片不符")
    assert "已记录" in decided["text"] and "暂停发放" in decided["text"]
    [told] = await stack.client.wait_for_bot_messages(DOUBTED, heard, timeout=20)
    assert "当面认证" in told["text"] and "补发" in told["text"]
    [refused] = await stack.user(DOUBTED).tap("✅ 开始认证")
    assert "当面认证" in refused["text"]

    async with stack.runtime.uow_factory() as uow:
        audits = list((await uow.session.execute(select(PassAudit).order_by(PassAudit.id))).scalars())
        events = [
            r.event
            for r in (
                await uow.session.execute(select(VerificationRecord).order_by(VerificationRecord.seq))
            ).scalars()
        ]
        forged_records = [
            e.detail
            for e in (
                await uow.session.execute(select(ErrorRecord).where(ErrorRecord.code == "forged_callback"))
            ).scalars()
        ]
        doubted = await uow.retirees.get(await _retiree_id(stack, DOUBTED))
    assert [(a.state, a.sampled) for a in audits] == [("confirmed", True), ("review_opened", True)]
    assert audits[1].review_case_id is not None
    assert events[:2] == ["certified", "certified"]
    assert events[2:] == ["audit_confirmed", "audit_review_opened", "suspended", "review_rejected"]
    assert forged_records == ["audit"] and doubted.payment_state == "suspended"
