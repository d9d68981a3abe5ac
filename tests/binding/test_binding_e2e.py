"""Binding, privacy and consent through the real PTB Application and the Bot API stand-in."""

from __future__ import annotations

import asyncio

import pytest

from accounts.binding import BindingService
from accounts.consent import ConsentService
from accounts.staff import StaffService
from storage.models.certification import ReferenceFace
from tests.binding.helpers import add_retiree, id_number, unused_code
from tests.e2e.harness import inline_labels, running_bot

ELDER = id_number(41)


@pytest.fixture
async def stack(database_url, tmp_path):
    async with running_bot(database_url, tmp_path / "var") as stack:
        yield stack


async def _seed(stack, name: str = "王秀英", number: str = ELDER) -> tuple[int, str]:
    runtime = stack.runtime
    retiree_id = await add_retiree(runtime.uow_factory, runtime.vault, number, name)
    await BindingService(runtime.uow_factory, runtime.vault).issue_codes([retiree_id])
    return retiree_id, await unused_code(runtime.uow_factory, runtime.vault, retiree_id)


async def _face_template(stack, retiree_id: int) -> None:
    async with stack.runtime.uow_factory() as uow:
        uow.faces.add(
            ReferenceFace(
                retiree_id=retiree_id,
                template_encrypted=stack.runtime.vault.encrypt(bytes(16)),
                engine="test",
                source="roster",
            )
        )
        await uow.commit()


async def test_a_retiree_binds_then_reads_and_withdraws_in_my_data(stack):
    retiree_id, code = await _seed(stack)
    user = stack.user(820001)
    [ask_kind] = await user.say("/bind")
    assert "给谁绑定" in ask_kind["text"]
    assert inline_labels(ask_kind) == [
        "👤 给我自己",
        "👨‍👩‍👧 帮家里老人（我是家属或社区工作人员）",
        "✖️ 取消",
    ]
    [ask_id] = await user.tap("👤 给我自己")
    assert "18位身份证号码" in ask_id["text"] and inline_labels(ask_id) == ["✖️ 取消"]
    assert inline_labels(await user.message(ask_kind["message_id"])) == []  # answered: buttons gone

    [explained] = await user.say("1234567")
    assert "18位" in explained["text"] and "再输入一次身份证号码" in explained["text"]
    [ask_code] = await user.say(ELDER.lower())
    assert "绑定码" in ask_code["text"]
    [bound] = await user.say(f"{code[:4]} {code[4:]}")
    assert "绑定成功" in bound["text"] and "王秀英" in bound["text"]
    assert "✅ 开始认证" in await user.keyboard_labels()  # role set to retiree: its main menu
    profile = await stack.runtime.bot_services.profiles.profile(820001)
    assert profile.role.value == "retiree"

    # 🔒 My data: the summary, then withdrawal of consent and the face data.
    await ConsentService(stack.runtime.uow_factory).record(820001, retiree_id, "agree")
    await _face_template(stack, retiree_id)
    [summary] = await user.tap("🔒 我的信息")
    text = summary["text"]
    assert "王秀英" in text and ELDER[:4] + "*" * 10 + ELDER[-4:] in text and ELDER not in text
    assert "人脸特征：1 份" in text and "已同意" in text and "180天" in text
    [confirm] = await user.tap("🗑 撤回同意，删除人脸数据")
    assert "不能恢复" in confirm["text"] and "上门" in confirm["text"]
    [report] = await user.tap("🗑 确定撤回并删除")
    assert "已撤回同意" in report["text"] and "人脸特征 1 份" in report["text"]
    async with stack.runtime.uow_factory() as uow:
        assert await uow.faces.count_for_retiree(retiree_id) == 0
        assert (await uow.consents.latest(retiree_id)).withdrawn_at is not None
    [again] = await user.say("/privacy")
    assert "已撤回" in again["text"] and "人脸特征：0 份" in again["text"]
    # Nothing left to withdraw; the choice about certification from data stays offered.
    assert inline_labels(again) == ["🔕 不用数据比对认证"]


async def test_a_helper_binds_an_elder_from_the_menu(stack):
    _, code = await _seed(stack, "李桂兰")
    user = stack.user(820002)
    await user.say("/start")
    await user.tap("简体中文")
    await user.tap("👵 我是退休人员（或家属）")
    [ask_kind] = await user.tap("🔗 绑定身份")
    assert "给谁绑定" in ask_kind["text"]
    [ask_id] = await user.tap("👨‍👩‍👧 帮家里老人（我是家属或社区工作人员）")
    assert "老人的18位身份证号码" in ask_id["text"]
    await user.say(ELDER)
    [bound] = await user.say(code)
    assert "帮 李桂兰 认证" in bound["text"]
    bindings = await stack.runtime.bot_services.binding.bindings_for(820002)
    assert [(b.name, b.kind) for b in bindings] == [("李桂兰", "helper")]


async def test_a_wrong_code_gets_the_neutral_answer_and_cancel_works(stack):
    _, code = await _seed(stack)
    user = stack.user(820003)
    await user.say("/bind")
    await user.tap("👤 给我自己")
    await user.say(ELDER)
    wrong = "ABCD2345" if code != "ABCD2345" else "ABCD2346"
    [neutral] = await user.say(wrong)
    assert "身份证号码和绑定码对不上" in neutral["text"] and "还可以再试 4 次" in neutral["text"]
    assert "王秀英" not in neutral["text"]
    [other_id] = await user.say(id_number(42))  # an ID number not on file: the very same words
    await user.say(code)
    replies = await user.client.messages(820003, after_id=other_id["message_id"])
    last = [m for m in replies if m["from_bot"]][-1]
    assert last["text"].replace("3", "4") == neutral["text"]
    [cancelled] = await user.tap("✖️ 取消")
    assert "已取消" in cancelled["text"]
    [not_understood] = await user.say(ELDER)  # the conversation is over: no ID is expected now
    assert "没太明白" in not_understood["text"] or "不太明白" in not_understood["text"]


async def test_consent_buttons_record_the_choice_only_for_a_bound_account(stack):
    retiree_id, code = await _seed(stack)
    user = stack.user(820004)
    await user.say("/bind")
    await user.tap("👤 给我自己")
    await user.say(ELDER)
    [bound] = await user.say(code)

    stranger = stack.user(820005)
    [greeting] = await stranger.say("/start")
    await stack.client.press_button(820005, greeting["message_id"], f"consent:agree:{retiree_id}")
    for _ in range(100):
        answers = (await stack.client.chat(820005))["callback_answers"]
        if answers:
            break
        await asyncio.sleep(0.05)
    assert "只能由绑定了这位老人的账号使用" in answers[-1]["text"]
    assert not await stack.runtime.bot_services.consent.has_consent(retiree_id)

    await stack.client.press_button(820004, bound["message_id"], f"consent:no_face:{retiree_id}")
    [booked] = await stack.client.wait_for_bot_messages(820004, bound["message_id"], timeout=15)
    assert "预约工作人员" in booked["text"]
    await stack.client.press_button(820004, bound["message_id"], f"consent:agree:{retiree_id}")
    [agreed] = await stack.client.wait_for_bot_messages(820004, booked["message_id"], timeout=15)
    assert "视频" in agreed["text"] and "✅ 开始认证" in await user.keyboard_labels()
    assert await stack.runtime.bot_services.consent.has_consent(retiree_id)


async def test_a_menu_button_leaves_the_conversation_and_staff_sign_in(stack):
    code = await StaffService(stack.runtime.uow_factory, stack.runtime.vault).create(
        "S001", "周建国", "110105"
    )
    user = stack.user(820006)
    await user.say("/start")
    await user.tap("简体中文")
    await user.tap("👵 我是退休人员（或家属）")
    await user.tap("🔗 绑定身份")
    await user.tap("👤 给我自己")
    [help_text] = await user.tap("❓ 帮助")  # not taken for an ID number: the button works
    assert "帮助" in help_text["text"]

    [ask] = await user.say("/staff")
    assert "工作人员码" in ask["text"]
    [wrong] = await user.say("ABCD EFGH JKMN")
    assert "不对" in wrong["text"]
    [welcome] = await user.say(code.lower())
    assert "周建国" in welcome["text"] and "110105" in welcome["text"]
    assert "🗂 待审核" in await user.keyboard_labels()
    assert (await stack.runtime.bot_services.profiles.profile(820006)).role.value == "staff"
    assert (await stack.runtime.bot_services.staff.staff_for(820006)).name == "周建国"


async def test_a_quiet_conversation_ends_by_itself(database_url, tmp_path, monkeypatch):
    from bot.handlers import binding

    monkeypatch.setattr(binding, "TIMEOUT", 1.0)
    async with running_bot(database_url, tmp_path / "var") as quiet:
        user = quiet.user(820007)
        [ask_kind] = await user.say("/bind")
        [timed_out] = await quiet.client.wait_for_bot_messages(820007, ask_kind["message_id"], timeout=15)
        assert "几分钟没有收到回复" in timed_out["text"]
        await quiet.client.press(820007, "👤 给我自己")  # a button of the ended conversation
        for _ in range(100):
            answers = (await quiet.client.chat(820007))["callback_answers"]
            if answers:
                break
            await asyncio.sleep(0.05)
        assert "已经结束" in answers[-1]["text"]
