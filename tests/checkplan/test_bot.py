"""The check plan through the real bot (the stand-in Bot API, the real PTB Application, the real
services): a staff member assigns a proposed check to a colleague from the list of buttons, the
colleague sees it under 📋 核查计划 and records that the retiree was seen, which certifies them."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from storage.models.certification import Certification
from storage.models.checkplan import OnSiteCheck
from tests.care.helpers import rows
from tests.e2e.harness import ROSTER_HEADER, inline_labels, running_bot
from verification.checkplan.quarters import Quarter
from verification.roster.service import RosterSource, import_roster
from verification.roster.synthetic import synthetic_id_number

LEAD_CHAT, COMMUNITY_CHAT = 850001, 850002
NAME, NUMBER = "蔡刚", synthetic_id_number("110105", date(1936, 3, 4), 41)


@pytest.fixture
async def stack(e2e_morning, database_url, tmp_path):
    async with running_bot(database_url, tmp_path / "var") as stack:
        roster = tmp_path / "roster" / "roster.csv"
        roster.parent.mkdir()
        with roster.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(ROSTER_HEADER)
            writer.writerow([NAME, NUMBER, "440300", "110105", "2000-04-01", "2025-12-01", ""])
        runtime = stack.runtime
        await import_roster(
            RosterSource(roster), runtime.uow_factory, runtime.vault, today=date(2026, 11, 27)
        )
        staff = runtime.bot_services.staff
        stack.codes = {
            LEAD_CHAT: await staff.create("S-01", "赵敏", "110100"),
            COMMUNITY_CHAT: await staff.create("S-02", "钱多", "110105"),
        }
        yield stack


async def _signed_in(stack, chat_id: int):
    person = stack.user(chat_id)
    await person.say("/staff")
    await person.say(stack.codes[chat_id])
    return person


async def test_a_check_is_assigned_in_the_bot_and_its_result_recorded(stack):
    uow_factory = stack.runtime.uow_factory
    [proposal] = await stack.runtime.bot_services.check_plan.propose(Quarter(2026, 4), count=1)
    [check_id] = proposal.created

    lead = await _signed_in(stack, LEAD_CHAT)
    assert "📋 核查计划" in await lead.keyboard_labels()
    [none] = await lead.tap("📋 核查计划")
    assert "没有待做的上门核查" in none["text"] and inline_labels(none) == ["📋 给同事分配核查"]
    [item] = await lead.tap("📋 给同事分配核查")
    assert NAME in item["text"] and NUMBER not in item["text"] and NUMBER[:4] in item["text"]
    assert "年龄90岁" in item["text"] and f"上门核查 {check_id}（2026Q4）" in item["text"]
    [whom] = await lead.tap("👥 分配给…")
    assert inline_labels(whom) == ["S-01 赵敏", "S-02 钱多"]
    [assigned] = await lead.tap("S-02 钱多")
    assert f"核查 {check_id} 已分配给 S-02 钱多" in assigned["text"]

    community = await _signed_in(stack, COMMUNITY_CHAT)
    [mine, footer] = await community.tap("📋 核查计划", expect=2)
    assert NAME in mine["text"] and inline_labels(mine) == ["✅ 见到本人", "🔍 没找到本人", "🕯 家属说已去世"]
    assert "劳社部函〔2003〕32号" in footer["text"]
    [confirm] = await community.tap("✅ 见到本人")
    assert "核对了身份证件" in confirm["text"]
    [kept] = await community.tap("↩️ 先不记录")
    assert "还在您的清单里" in kept["text"]
    [mine, _] = await community.tap("📋 核查计划", expect=2)
    await community.tap("✅ 见到本人")
    [done] = await community.tap("✅ 确认")
    assert f"{NAME}本人健在" in done["text"] and "有效期到" in done["text"]

    [check] = await rows(uow_factory, OnSiteCheck)
    [certification] = await rows(uow_factory, Certification)
    assert (check.state, check.result, check.certification_id) == ("done", "seen", certification.id)
    assert certification.method == "onsite_check"
