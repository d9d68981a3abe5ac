"""Suspected false claims before staff (region, evidence, decisions), and the chat notices in
both languages, sent once, a blocked chat recorded."""

from __future__ import annotations

from datetime import date

import pytest
from telegram.error import Forbidden, NetworkError

from bot.notices import send_owed_notices
from content.i18n import Translator
from kernel.permissions import NotStaff
from storage.models import ErrorRecord
from storage.models.certification import AuditEntry, Certification
from storage.models.signals import SuspectedFalseClaim
from tests.care.helpers import add_staff, rows
from tests.cycle.factories import FakeClock, bind
from tests.cycle.test_reminder_job import FakeBot
from tests.signals.factories import RESIDENCE, add_retiree, importer, write_feed
from verification.signals.notices import NoticeService
from verification.signals.suspicions import SuspicionService

TODAY = date(2026, 11, 20)


@pytest.fixture
def clock():
    return FakeClock(TODAY)


async def _suspected(uow_factory, vault, clock, tmp_path) -> int:
    retiree_id, number = await add_retiree(uow_factory, vault, name="周玉兰", due_on=date(2027, 6, 1))
    async with uow_factory() as uow:
        uow.certifications.add(
            Certification(
                retiree_id=retiree_id,
                certified_on=date(2026, 6, 1),
                valid_until=date(2027, 6, 1),
                method="self_video",
            )
        )
        await uow.commit()
    feed = write_feed(tmp_path / "d.csv", [(number, "2026-03-09")], header=("身份证号码", "死亡日期"))
    await importer(uow_factory, vault, clock).import_file(feed, "death_cremation")
    return retiree_id


async def test_staff_of_the_region_see_the_evidence_and_decide_once(uow_factory, vault, clock, tmp_path):
    await _suspected(uow_factory, vault, clock, tmp_path)
    await add_staff(uow_factory, 7900, RESIDENCE, "S-1")
    await add_staff(uow_factory, 7901, "310101", "S-2")  # Shanghai: another region
    service = SuspicionService(uow_factory, vault, clock)

    assert await service.open_for_staff(7901) == []
    [view] = await service.open_for_staff(7900)
    assert (view.died_on, view.death_source) == (date(2026, 3, 9), "death_cremation")
    assert [(e["kind"], e["on"], e["method"]) for e in view.evidence] == [
        ("certification", "2026-06-01", "self_video")
    ]
    assert "*" in view.masked_id_number
    t = Translator("zh_Hans")
    from bot.handlers.suspicions import suspicion_text

    text = suspicion_text(t, view)
    assert (
        "2026年3月9日" in text and "民政火化记录" in text and "手机视频认证" in text and "第八十八条" in text
    )
    assert "2026年6月1日" in suspicion_text(t, view)
    assert "Art. 88" in suspicion_text(Translator("en"), view)

    with pytest.raises(NotStaff):
        await service.decide(7901, view.suspicion_id, True, "confirm")
    with pytest.raises(ValueError):
        await service.decide(7900, view.suspicion_id, False, "looks fine")
    with pytest.raises(NotStaff):
        await service.open_for_staff(4242)
    assert await service.decide(7900, view.suspicion_id, True, "confirm") is True
    assert await service.decide(7900, view.suspicion_id, False, "another_person") is False
    [suspicion] = await rows(uow_factory, SuspectedFalseClaim)
    assert suspicion.state == "confirmed"
    actions = [entry.action for entry in await rows(uow_factory, AuditEntry)]
    assert "suspicion_viewed" in actions and actions.count("false_claim_confirmed") == 1


async def test_notices_are_worded_in_each_chat_language_sent_once_and_a_blocked_chat_recorded(
    uow_factory, vault, clock, tmp_path
):
    retiree_id, number = await add_retiree(uow_factory, vault, name="陈阿婆", due_on=date(2026, 12, 1))
    await bind(uow_factory, retiree_id, 901)  # Chinese
    await bind(uow_factory, retiree_id, 902, kind="helper", language="en")
    await bind(uow_factory, retiree_id, 903, kind="helper")
    await importer(uow_factory, vault, clock).import_file(
        write_feed(tmp_path / "v.csv", [(number, "2026-11-12")]), "vaccination"
    )
    notices = NoticeService(uow_factory, clock)
    bot = FakeBot({903: Forbidden("bot was blocked by the user")})
    report = await send_owed_notices(bot, notices)
    assert (report.sent, report.undeliverable) == (2, 1)
    texts = dict(bot.sent)
    assert "您已通过疫苗接种记录（2026年11月12日）完成本年度养老金领取资格认证" in texts[901]
    assert (
        "陈阿婆's pension certification for this year is done, from the record of a vaccination" in texts[902]
    )
    assert "12 November 2026" in texts[902]
    [error] = await rows(uow_factory, ErrorRecord)
    assert (error.source, error.code, error.chat_id) == ("chat_notice", "Forbidden", 903)
    assert (await send_owed_notices(bot, notices)).sent == 0


async def test_a_passing_error_leaves_the_notice_for_the_next_run(uow_factory, vault, clock, tmp_path):
    retiree_id, number = await add_retiree(uow_factory, vault, due_on=date(2026, 12, 1))
    await bind(uow_factory, retiree_id, 911)
    await importer(uow_factory, vault, clock).import_file(
        write_feed(tmp_path / "v.csv", [(number, "2026-11-12")]), "bank_counter"
    )
    notices = NoticeService(uow_factory, clock)
    bot = FakeBot({911: NetworkError("down")})
    assert (await send_owed_notices(bot, notices)).deferred == 1
    bot.failures = {}
    assert (await send_owed_notices(bot, notices)).sent == 1


async def test_death_notices_are_worded_with_care(uow_factory, vault, clock, tmp_path):
    retiree_id, number = await add_retiree(uow_factory, vault, name="吴大爷", due_on=date(2027, 6, 1))
    await bind(uow_factory, retiree_id, 921, kind="helper")
    await bind(uow_factory, retiree_id, 922)
    await importer(uow_factory, vault, clock).import_file(
        write_feed(tmp_path / "d.csv", [(number, "2026-11-02")], header=("身份证号码", "死亡日期")),
        "death_household",
    )
    bot = FakeBot()
    await send_owed_notices(bot, NoticeService(uow_factory, clock))
    texts = dict(bot.sent)
    assert "吴大爷" in texts[921] and "深表哀悼" in texts[921] and "公安户籍注销" in texts[921]
    assert "记录很可能有误" in texts[922]  # the retiree's own chat: how to put a wrong record right
