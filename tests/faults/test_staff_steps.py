"""A main-menu button tapped where a step waits for typed text is never taken as the answer:
the step is left and the button does what it says. Above all for staff, whose typed text
decides a case (the reason) or goes to an employer as the official answer. Through the real
bot, polling the stand-in, on a real database."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select

from content.i18n import Translator
from storage.models.care import HomeVisitRequest
from storage.models.certification import Binding, ReviewCase
from storage.models.employer import EmployerQuestion
from storage.models.publicity import PublicityCampaign
from tests.e2e.harness import inline_labels, running_bot
from verification.roster.service import RosterSource, import_roster
from verification.roster.synthetic import synthetic_id_number

STAFF_CHAT, EMPLOYER_CHAT, RETIREE_CHAT = 850001, 850002, 850003
NAME, NUMBER = "蔡刚", synthetic_id_number("110105", date(1950, 3, 4), 21)
MORNING = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
zh, en = Translator("zh_Hans"), Translator("en")


@pytest.fixture
async def stack(sqlite_url, tmp_path):
    with time_machine.travel(MORNING, tick=True):
        async with running_bot(sqlite_url, tmp_path / "var") as stack:
            stack.tmp_path = tmp_path
            stack.staff_code = await stack.runtime.bot_services.staff.create("S-01", "赵敏", "110100")
            yield stack


async def _retiree(stack) -> int:
    runtime = stack.runtime
    roster = stack.tmp_path / "roster" / "roster.csv"
    roster.parent.mkdir()
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "身份证号码", "参保地", "居住地", "退休日期", "上次认证日期", "参考照片"])
        writer.writerow([NAME, NUMBER, "440300", "110105", "2010-04-01", "2025-12-01", ""])
    await import_roster(RosterSource(roster), runtime.uow_factory, runtime.vault, today=date(2026, 11, 27))
    async with runtime.uow_factory() as uow:
        return (await uow.retirees.by_id_hash(runtime.vault.lookup_hash(NUMBER))).id


async def _add(stack, row):
    async with stack.runtime.uow_factory() as uow:
        uow.session.add(row)
        await uow.commit()
        return row.id


async def _all(stack, model):
    async with stack.runtime.uow_factory() as uow:
        return (await uow.session.execute(select(model))).scalars().all()


async def _staff(stack):
    staff = stack.user(STAFF_CHAT)
    await staff.say("/staff")
    [welcome] = await staff.say(stack.staff_code)
    assert "赵敏" in welcome["text"]
    return staff


async def _replies_since(stack, chat_id: int, message_id: int) -> list[str]:
    messages = await stack.client.messages(chat_id, after_id=message_id)
    return [m["text"] for m in messages if m["from_bot"]]


async def test_a_menu_button_instead_of_a_review_reason_leaves_the_step(stack):
    retiree_id = await _retiree(stack)
    case_id = await _add(
        stack, ReviewCase(retiree_id=retiree_id, opened_at=MORNING, opened_because="failed_matches")
    )
    staff = await _staff(stack)
    [case] = await staff.tap(zh("menu.review"))
    assert "❌ 不通过" in inline_labels(case)

    [ask] = await staff.tap("❌ 不通过")
    assert "理由" in ask["text"]
    [visits] = await staff.tap("🏠 上门任务")
    assert visits["text"] == zh("care.visits.none")
    # The English label of a button leaves the step as well.
    await staff.tap("❌ 不通过")
    [questions] = await staff.say(en("menu.questions"))
    assert questions["text"] == zh("questions.none")
    [still] = await _all(stack, ReviewCase)
    assert (still.status, still.decision_reason) == ("pending", None)

    # Another verdict's button while the reason is awaited asks again; /cancel says so once
    # (nothing else answers it), and a real reason still decides.
    await staff.tap("❌ 不通过")
    [ask_again] = await staff.tap("✅ 通过")
    assert "理由" in ask_again["text"]
    [cancelled] = await staff.say("/cancel")
    assert cancelled["text"] == zh("review.cancelled")
    await staff.tap("❌ 不通过")
    [decided] = await staff.say("照片不是本人")
    assert decided["text"].startswith(zh("review.decided", case_id=case_id, decision="")[:6])
    [case_row] = await _all(stack, ReviewCase)
    assert (case_row.status, case_row.decision_reason) == ("rejected", "照片不是本人")
    assert len(await _replies_since(stack, STAFF_CHAT, cancelled["message_id"])) == 2  # ask, decided


async def test_a_menu_button_instead_of_an_answer_to_an_employer_is_not_sent(stack):
    await _add(
        stack,
        EmployerQuestion(
            telegram_user_id=EMPLOYER_CHAT, chat_id=EMPLOYER_CHAT, language="zh_Hans", question="基数怎么定？"
        ),
    )
    [started] = await stack.user(EMPLOYER_CHAT).say("/start")  # the stand-in knows the chat
    staff = await _staff(stack)
    [item] = await staff.tap("❓ 待答问题")
    assert "基数怎么定？" in item["text"]
    [ask] = await staff.tap("✍️ 回复")
    assert "回复" in ask["text"]

    [again] = await staff.tap("❓ 待答问题")  # leaves the step: the list again, nothing sent
    assert "基数怎么定？" in again["text"]
    assert await _replies_since(stack, EMPLOYER_CHAT, started["message_id"]) == []
    [question] = await _all(stack, EmployerQuestion)
    assert (question.status, question.answer) == ("open", None)

    await staff.tap("✍️ 回复")
    [sent] = await staff.say("按上年度月平均工资确定")
    assert sent["text"] == zh("questions.sent", question_id=question.id)
    [answer] = await stack.client.wait_for_bot_messages(EMPLOYER_CHAT, started["message_id"])
    assert "按上年度月平均工资确定" in answer["text"] and "❓" not in answer["text"].split("按上年度")[1]


async def test_a_menu_button_instead_of_a_campaign_text_is_not_a_campaign(stack):
    staff = await _staff(stack)
    [ask] = await staff.say("/campaign new")
    assert ask["text"] == zh("campaign.ask_text")
    [library] = await staff.tap("📰 宣传资料")
    assert library["text"] == zh("publicity.library")
    assert await _all(stack, PublicityCampaign) == []


async def test_a_menu_button_instead_of_an_id_number_for_in_person_certification(stack):
    staff = await _staff(stack)
    await staff.tap("🧑‍💼 当面协助认证")
    [requests] = await staff.tap("🔎 协查任务")
    assert requests["text"] == zh("xreq.none")
    [unknown] = await staff.say(NUMBER)  # the step was left: a number is no longer an answer
    assert unknown["text"] == zh("unknown.text")


async def test_a_menu_button_instead_of_an_id_number_for_an_assistance_request(stack):
    staff = await _staff(stack)
    await staff.tap("🔎 协查任务")
    [ask] = await staff.tap("➕ 请外地协助核实")
    assert ask["text"] == zh("xreq.ask.id")
    [review] = await staff.tap("🗂 待审核")
    assert review["text"] == zh("review.none")


async def test_a_menu_button_instead_of_a_staff_code_is_not_a_sign_in_attempt(stack):
    person = stack.user(STAFF_CHAT)
    await person.say("/staff")
    [help_text] = await person.say(zh("menu.help"))
    assert help_text["text"] == zh("help.text")
    [welcome] = await person.say(stack.staff_code)  # the step was left: no longer a sign-in
    assert welcome["text"] == zh("unknown.text")


async def test_a_menu_button_instead_of_a_home_visit_note_asks_for_no_visit(stack):
    retiree_id = await _retiree(stack)
    await _add(
        stack,
        Binding(telegram_user_id=RETIREE_CHAT, chat_id=RETIREE_CHAT, retiree_id=retiree_id, kind="self"),
    )
    retiree = stack.user(RETIREE_CHAT)
    await retiree.say(zh("menu.home_visit"))
    [ask_note] = await retiree.tap("📵 不会或没法拍")
    assert "地址" in ask_note["text"]
    [fraud] = await retiree.say(zh("menu.fraud"))
    assert fraud["text"] == zh("info.fraud")
    assert await _all(stack, HomeVisitRequest) == []
