"""📚 培训考试 through the real PTB Application and the stand-in Bot API: a staff member reads
lessons on three days, sits the exam one question at a time with the buttons, passes, and
receives the certificate as a PDF that checks; a wrong hand-in and a forged button are
refused politely."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from accounts.profiles import Role
from content.i18n import Translator
from tests.conftest import E2E_MORNING
from tests.e2e.harness import inline_labels, running_bot
from tests.training.helpers import CLERK, COLLEAGUE, COURSE, add_staff, right_answer
from training.bank import QuestionKind
from training.exam import load_rules
from training.service import CheckResult

zh = Translator("zh_Hans")
RULES = load_rules()


async def _read_first_unread_lesson(clerk) -> str:
    """From the training home: 接着学 the next lesson, step by step, to its end."""
    [home] = await clerk.say("/training")
    label = next(b for b in inline_labels(home) if b.startswith("📖"))
    shown = await clerk.tap_in_place(label)
    while zh("training.button.next") in inline_labels(shown):
        shown = await clerk.tap_in_place(zh("training.button.next"))
    assert "📖 依据：" in shown["text"]  # the last step names the articles
    [done] = await clerk.tap(zh("training.button.lesson_done"))
    return done["text"]


async def test_a_staff_member_trains_on_three_days_passes_in_the_bot_and_gets_the_certificate(
    e2e_morning, sqlite_url, tmp_path
):
    async with running_bot(sqlite_url, tmp_path / "var") as stack:
        runtime = stack.runtime
        training = runtime.bot_services.training
        await add_staff(runtime.uow_factory)
        for user in (CLERK, COLLEAGUE):
            await runtime.bot_services.profiles.set_role(user, user, Role.STAFF)
        clerk = stack.user(CLERK)
        [home] = await clerk.say(zh("menu.training"))  # the staff menu's button
        assert (
            "已学 0/" in home["text"] and zh("training.refused.course_unfinished", min_days=3) in home["text"]
        )
        assert inline_labels(home)[1:] == [
            zh("training.button.contents"),
            zh("training.button.exam"),
            zh("training.button.certificate"),
        ]
        [refused] = await clerk.tap(zh("training.button.exam"))
        assert refused["text"] == zh("training.refused.course_unfinished", min_days=3)

        # Three days: one lesson each day through the buttons, the rest of the day's plan read too.
        for day in range(3):
            with time_machine.travel(E2E_MORNING + timedelta(days=day, hours=1), tick=True):
                done = await _read_first_unread_lesson(clerk)
                assert done == zh("training.lesson.done", days=day + 1, min_days=3)
                for module in COURSE.modules:
                    if module.day == day + 1:
                        for lesson in module.lessons:
                            await training.finish_lesson(CLERK, lesson.id)

        with time_machine.travel(E2E_MORNING + timedelta(days=2, hours=3), tick=True):
            [home] = await clerk.say("/training")
            assert zh("training.exam_ready") in home["text"] and "学习了 3 天" in home["text"]
            [started, first] = await clerk.tap(zh("training.button.exam"), expect=2)
            assert f"共 {RULES.size} 题" in started["text"]
            shown = first
            for number in range(1, RULES.size + 1):
                assert f"第 {number}/{RULES.size} 题" in shown["text"]
                question = _question_of(training, shown["text"])
                for choice in sorted(right_answer(question.id)):
                    label = _label(question, choice)
                    shown = await clerk.tap_in_place(label)
                if question.kind is QuestionKind.MULTIPLE:
                    shown = await clerk.tap_in_place(zh("training.button.confirm"))
            assert shown["text"] == zh("training.exam.all_answered", deadline=_deadline(started["text"]))
            [result, document] = await clerk.tap(zh("training.button.submit"), expect=2)
            assert "🎉" in result["text"] and f"答对 {RULES.size}/{RULES.size} 题" in result["text"]
            pdf = await stack.client.download(document["document"]["file_id"])
            assert pdf.startswith(b"%PDF") and b"training certificate PXC-2026-" in pdf

        certificate = await training.my_certificate(CLERK)
        assert certificate is not None and document["document"]["file_name"] == f"{certificate.number}.pdf"
        assert certificate.number in result["text"] and certificate.code in result["text"]
        check = await training.check(certificate.number, certificate.code)
        assert check.result is CheckResult.VALID

        # The hand-in tapped twice (the second before its button went): handed in already, said
        # kindly, the mark unchanged; the certificate again from the home screen.
        sitting_id = int(certificate.number.rsplit("-", 1)[1])
        await stack.client.press_button(CLERK, shown["message_id"], f"exs:{sitting_id}")
        [again] = await clerk.replies(document["message_id"])
        assert again["text"] == zh("training.refused.already_submitted", min_days=3)
        [home] = await clerk.say("/training")
        [copy] = await clerk.tap(zh("training.button.certificate"))
        assert copy["document"]["file_name"] == f"{certificate.number}.pdf"

        # A colleague forging the clerk's hand-in button gets the polite refusal, nothing changes.
        colleague = stack.user(COLLEAGUE)
        await colleague.say("/training")
        chat = await stack.client.chat(COLLEAGUE)
        await stack.client.press_button(COLLEAGUE, chat["messages"][-1]["message_id"], f"exs:{sitting_id}")
        [forged] = await colleague.replies(chat["messages"][-1]["message_id"])
        assert forged["text"] == zh("training.refused.not_yours", min_days=3)
        # Someone who is not staff at all (a retiree's account) forging it: told kindly.
        outsider = stack.user(778001)
        [hello] = await outsider.say("/start")
        await stack.client.press_button(778001, hello["message_id"], f"exs:{sitting_id}")
        [refused] = await outsider.replies(hello["message_id"])
        assert refused["text"] == zh("review.not_staff")
        assert (await training.check(certificate.number, certificate.code)).result is CheckResult.VALID


def _question_of(training, text: str):
    """The bank's question whose stem the message shows."""
    stem = text.split("\n")[2]
    return next(q for q in training.bank.questions if q.wordings["zh_Hans"].stem == stem)


def _label(question, choice: str) -> str:
    if question.kind is QuestionKind.TRUE_FALSE:
        return zh(f"training.answer.{choice}")
    if question.kind is QuestionKind.MULTIPLE:
        return f"☐ {choice}"
    return choice


def _deadline(started: str) -> str:
    return started.split("请在 ", 1)[1].split(" 前", 1)[0]
