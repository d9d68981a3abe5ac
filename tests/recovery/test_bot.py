"""💰 追回多发 through the real PTB Application and the stand-in Bot API: a staff member lists
the open case, records a payment (a typing mistake is asked again), gets the letter as a PDF
document and has the family told; a second staff member approves the write-off the first
asked for (the first is refused)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.profiles import Role
from content.i18n import Translator
from storage.models.signals import ChatNotice
from tests.e2e.harness import inline_labels, running_bot
from tests.recovery.helpers import CLERK, SECOND, add_retiree, add_staff, open_case

zh = Translator("zh_Hans")


@pytest.fixture
async def stack(sqlite_url, tmp_path):
    async with running_bot(sqlite_url, tmp_path / "var") as stack:
        runtime = stack.runtime
        await add_staff(runtime.uow_factory)
        retiree_id = await add_retiree(runtime.uow_factory, runtime.vault, name="陈淑珍")
        stack.case_id = await open_case(runtime.uow_factory, retiree_id)
        for user in (CLERK, SECOND):
            await runtime.bot_services.profiles.set_role(user, user, Role.STAFF)
        yield stack


async def test_staff_work_a_recovery_case_in_the_bot(stack):
    clerk = stack.user(CLERK)
    [case] = await clerk.say("/recoveries")
    assert f"💰 追回案件 {stack.case_id}" in case["text"] and "陈淑珍" in case["text"]
    assert "尚需退回 13002.00 元" in case["text"]
    assert inline_labels(case) == [
        zh("recovery.button.notice"),
        zh("recovery.button.letter"),
        zh("recovery.button.payment"),
    ]

    [asked] = await clerk.tap(zh("recovery.button.payment"))
    assert "请输入收到的还款金额" in asked["text"]
    [again] = await clerk.say("一千")
    assert again["text"] == zh("recovery.bad_amount")
    [too_much] = await clerk.say("20000")
    assert too_much["text"] == zh("recovery.refused.amount_over_owed")
    [asked] = await clerk.tap(zh("recovery.button.payment"))
    [paid] = await clerk.say("1,002")
    assert paid["text"] == zh(
        "recovery.payment_recorded", amount="1002.00", case_id=stack.case_id, outstanding="12000.00"
    )
    assert zh("menu.recoveries") in await clerk.keyboard_labels()

    [letter] = await clerk.tap(zh("recovery.button.letter"))
    assert letter["document"]["file_name"] == f"recovery-{stack.case_id}.pdf"
    pdf = await stack.client.download(letter["document"]["file_id"])
    assert pdf.startswith(b"%PDF") and b"12000.00 yuan owed" in pdf

    [told] = await clerk.tap(zh("recovery.button.notice"))
    assert "1 位家属" in told["text"]
    async with stack.runtime.uow_factory() as uow:
        (notice,) = (await uow.session.execute(select(ChatNotice))).scalars().all()
    assert notice.kind == "recovery_notice" and notice.params["amount_fen"] == 1200000

    await stack.runtime.bot_services.recovery.request_write_off(CLERK, stack.case_id, "no heir")
    [case] = await clerk.tap(zh("menu.recoveries"))
    assert zh("recovery.write_off_waiting") in case["text"]
    [own] = await clerk.tap(zh("recovery.button.approve"))
    assert own["text"] == zh("recovery.refused.same_staff")

    second = stack.user(SECOND)
    [case] = await second.say("/recoveries")
    [approved] = await second.tap(zh("recovery.button.approve"))
    assert approved["text"] == zh("recovery.write_off_approved", case_id=stack.case_id, amount="12000.00")
    [none] = await second.say("/recoveries")
    assert none["text"] == zh("recovery.none")
