"""The staff queue: unsure questions go in (personal numbers masked), staff answer them, the
answers become draft entries for an editor."""

from __future__ import annotations

import tomllib

import pytest
from sqlalchemy import select

from accounts.staff import StaffService
from app.cli import main
from bot.notices import send_owed_notices
from content.employer_service import redact
from content.knowledge.answering import AnswerStatus
from kernel.permissions import NotStaff
from storage.models import ErrorRecord
from storage.models.signals import ChatNotice
from tests.cycle.test_reminder_job import FakeBot
from verification.signals.notices import NoticeService

UNSURE = "我们单位年会抽奖的奖品应该怎么选？员工身份证11010519491231002X，电话13812345678"


def test_redaction_masks_id_and_mobile_numbers():
    text = redact(UNSURE)
    assert "11010519491231002X" not in text and "1101**********002X" in text
    assert "13812345678" not in text and "138****5678" in text
    assert redact("工资8000元，2026年3月") == "工资8000元，2026年3月"


async def _staff(uow_factory, vault, telegram_user_id: int = 930001) -> None:
    staff = StaffService(uow_factory, vault)
    code = await staff.create("S900", "周建国", "110105")
    assert await staff.sign_in(telegram_user_id, code) is not None


async def test_an_unsure_question_is_queued_once_and_answered_by_staff(service, uow_factory, vault):
    asked = await service.ask(UNSURE, telegram_user_id=77, chat_id=77, language="zh_Hans")
    assert asked.answer.status is AnswerStatus.UNSURE and asked.queued_id is not None
    again = await service.ask(UNSURE, telegram_user_id=77, chat_id=77, language="zh_Hans")
    assert again.queued_id == asked.queued_id  # asked twice, queued once
    confident = await service.ask("滞纳金怎么算", telegram_user_id=77, chat_id=77, language="zh_Hans")
    assert confident.answer.status is AnswerStatus.ANSWERED and confident.queued_id is None

    with pytest.raises(NotStaff):
        await service.open_questions(77)
    await _staff(uow_factory, vault)
    [queued] = await service.open_questions(930001)
    assert queued.question_id == asked.queued_id and "11010519491231002X" not in queued.question
    assert queued.closest

    with pytest.raises(NotStaff):
        await service.answer_question(77, queued.question_id, "…")
    reply = await service.answer_question(
        930001, queued.question_id, "公积金不属于社会保险，请咨询当地住房公积金管理中心。"
    )
    assert (reply.chat_id, reply.language) == (77, "zh_Hans") and "公积金管理中心" in reply.answer
    assert await service.answer_question(930001, queued.question_id, "again") is None  # answered already
    assert await service.open_questions(930001) == []


async def test_answered_questions_export_as_drafts_once(service, uow_factory, vault, tmp_path):
    await _staff(uow_factory, vault)
    first = await service.ask(UNSURE, telegram_user_id=78, chat_id=78, language="zh_Hans")
    english = await service.ask(
        "How should we choose prizes for the company party raffle?",
        telegram_user_id=79,
        chat_id=79,
        language="en",
    )
    await service.answer_question(930001, first.queued_id, "住房公积金另有规定。")
    await service.answer_question(930001, english.queued_id, "The housing fund is not social insurance.")
    out = tmp_path / "drafts.toml"
    assert await service.export_drafts(out) == 2
    entries = tomllib.loads(out.read_text(encoding="utf-8"))["entry"]
    assert [entry["id"] for entry in entries] == [f"draft-q{first.queued_id}", f"draft-q{english.queued_id}"]
    assert entries[0]["citations"] == [] and entries[0]["zh"]["answer"] == "住房公积金另有规定。"
    assert (
        entries[1]["en"]["answer"] == "The housing fund is not social insurance."
        and entries[1]["zh"]["answer"] == "TODO"
    )
    assert await service.export_drafts(tmp_path / "again.toml") == 0


def test_export_drafts_command_with_nothing_to_export(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    assert main(["employer", "export-drafts", "--out", str(tmp_path / "d.toml")]) == 0
    assert "No answered questions" in capsys.readouterr().out


async def test_an_answer_given_in_the_console_waits_as_a_notice_in_the_employers_language(
    service, uow_factory, vault
):
    """The console cannot message the chat: the answer is left as a notice in its own
    transaction, worded when the notice job sends it; a question gone by then is not sent."""
    await _staff(uow_factory, vault)
    kept = await service.ask("Which prize should our annual party raffle give?", telegram_user_id=81,
                             chat_id=81, language="en")  # fmt: skip
    gone = await service.ask(UNSURE, telegram_user_id=82, chat_id=82, language="zh_Hans")
    for asked, text in ((kept, "That is not a social insurance matter."), (gone, "这不属于社保。")):
        await service.answer_question(930001, asked.queued_id, text, leave_notice=True)
    async with uow_factory() as uow:
        notices = (await uow.session.execute(select(ChatNotice))).scalars().all()
        assert all("answer" not in str(n.params) and "raffle" not in str(n.params) for n in notices)
        await uow.session.delete(await uow.employer_questions.get(gone.queued_id))
        await uow.commit()

    bot = FakeBot()
    report = await send_owed_notices(bot, NoticeService(uow_factory))
    assert (report.sent, report.undeliverable) == (1, 1)
    [(chat, text)] = bot.sent
    assert chat == 81 and "A social insurance staff member answered" in text
    assert "annual party raffle" in text and "not a social insurance matter" in text
    async with uow_factory() as uow:
        [error] = (await uow.session.execute(select(ErrorRecord))).scalars().all()
    assert (error.source, error.code, error.chat_id) == ("chat_notice", "subject_gone", 82)
    assert (await send_owed_notices(bot, NoticeService(uow_factory))).sent == 0
