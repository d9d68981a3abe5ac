"""A NUL (and any other control character) in a text is stripped before it is written, the
same way on SQLite and PostgreSQL (where a NUL used to fail: "invalid byte sequence 0x00").
Tab, newline and carriage return stay."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from storage.errors import record_error
from storage.models import ErrorRecord
from storage.models.employer import EmployerQuestion
from storage.text_guard import clean_text, clean_value

DIRTY = "养老金\x00怎么\x07交？\x1b[31m\tline\r\nnext\x7f\x85\x9fend"
CLEAN = "养老金怎么交？[31m\tline\r\nnextend"
AT = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def test_what_is_stripped_and_what_stays():
    assert clean_text(DIRTY) == CLEAN
    assert clean_text("plain 文本\t\n") == "plain 文本\t\n"
    assert clean_value({"k\x00": ["a\x01", ("b\x9f", 3)], "n": None}) == {"k": ["a", ("b", 3)], "n": None}


async def test_an_employer_question_and_its_answer_are_stored_cleaned(uow_factory):
    async with uow_factory() as uow:  # an ORM insert, with a JSON value
        question = EmployerQuestion(
            telegram_user_id=501, chat_id=501, language="zh_Hans", question=DIRTY, closest=["a\x00b", DIRTY]
        )
        uow.employer_questions.add(question)
        await uow.commit()
        question_id = question.id
    async with uow_factory() as uow:  # a Core UPDATE ... SET answer = :answer
        assert await uow.employer_questions.answer(question_id, None, "答：" + DIRTY, AT)
        await uow.commit()

    async with uow_factory() as uow:
        stored = (
            await uow.session.execute(
                text("SELECT question, answer FROM employer_questions WHERE id = :id"), {"id": question_id}
            )
        ).one()
        assert tuple(stored) == (CLEAN, "答：" + CLEAN)
        row = await uow.employer_questions.get(question_id)
        assert row.closest == ["ab", CLEAN]
        # A lookup with the same dirty text finds the cleaned row: cleaned the same way.
        assert await uow.employer_questions.open_by_user(501, DIRTY) is None  # answered by now
        assert (
            await uow.session.execute(select(EmployerQuestion.id).where(EmployerQuestion.question == DIRTY))
        ).scalar_one() == question_id


async def test_an_orm_update_and_raw_sql_are_cleaned_too(uow_factory):
    await record_error(uow_factory, "bot", "code\x00", "detail\x00\x08", context={"note\x00": "x\x1fy"})
    async with uow_factory() as uow:
        [record] = (await uow.session.execute(select(ErrorRecord))).scalars().all()
        assert (record.code, record.detail, record.context) == ("code", "detail", {"note": "xy"})
        record.detail = "changed\x00" + DIRTY
        await uow.commit()
    async with uow_factory() as uow:
        await uow.session.execute(
            text(
                "INSERT INTO error_records (occurred_at, source, code, detail, context)"
                " VALUES (:at, :s, :c, :d, :j)"
            ),
            {"at": AT, "s": "raw\x00", "c": "raw", "d": DIRTY, "j": "{}"},
        )
        await uow.commit()
    async with uow_factory() as uow:
        rows = (await uow.session.execute(select(ErrorRecord).order_by(ErrorRecord.id))).scalars().all()
        assert [(r.source, r.detail) for r in rows] == [("bot", "changed" + CLEAN), ("raw", CLEAN)]
