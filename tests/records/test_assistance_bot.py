"""协查 end to end through the real bot and the stand-in: a request from the paying region
arrives; a staff member of the residence region sees it under 🔎, starts it and answers it."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from storage.models.records import AssistanceRequest, OutboxEntry
from tests.binding.helpers import add_retiree, audit_entries
from tests.e2e.harness import inline_labels, running_bot
from verification.roster.synthetic import synthetic_id_number

STAFF_CHAT = 840001
ASKER = "440300"  # pays the pension; the bot serves 110000 (REGION_CODE's default)


async def test_staff_see_start_and_answer_an_incoming_request(database_url, tmp_path):
    number = synthetic_id_number(ASKER, date(1950, 3, 7), 5)
    async with running_bot(database_url, tmp_path / "var") as stack:
        runtime, services = stack.runtime, stack.runtime.bot_services
        retiree_id = await add_retiree(
            runtime.uow_factory, runtime.vault, number, "王秀英", residence_region="110105"
        )
        code = await services.staff.create("S-01", "赵敏", "110100")
        body = {
            "request_id": "q-77",
            "retiree_hash": runtime.vault.lookup_hash(number),
            "question": "请核实本人是否健在",
        }
        opened = await services.assistance.open(ASKER, json.dumps(body).encode())

        staff = stack.user(STAFF_CHAT)
        await staff.say("/staff")
        [welcome] = await staff.say(code)
        assert "赵敏" in welcome["text"]
        item, summary = await staff.tap("🔎 协查任务", expect=2)
        assert (
            "王秀英" in item["text"]
            and f"{ASKER} 请求" in item["text"]
            and "请核实本人是否健在" in item["text"]
        )
        assert number not in item["text"] and number[-4:] in item["text"]  # the ID number is masked
        assert inline_labels(item) == ["▶️ 开始处理", "✍️ 回复结果"]
        assert "1 件" in summary["text"] and "➕ 请外地协助核实" in inline_labels(summary)

        [started] = await staff.tap("▶️ 开始处理")
        assert "已记在您名下" in started["text"]
        [finding] = await staff.tap("✍️ 回复结果")
        assert "✅ 见到本人，已认证" in inline_labels(finding)
        [note] = await staff.tap("✅ 见到本人，已认证")
        assert "补充" in note["text"]
        [done] = await staff.say("本人在家，精神很好")
        assert "已回复协查" in done["text"] and ASKER in done["text"]

        async with runtime.uow_factory() as uow:
            request = await uow.session.get(AssistanceRequest, opened.request_id)
            [outbox] = (await uow.session.execute(select(OutboxEntry))).scalars().all()
        assert request.state == "answered" and request.answer == "alive_certified\n本人在家，精神很好"
        assert outbox.dest_region == ASKER  # the answer, on its way back
        actions = [action for action, _, _ in await audit_entries(runtime.uow_factory, retiree_id)]
        assert actions == ["assistance_started", "assistance_answered"]
        [empty] = await staff.tap("🔎 协查任务")
        assert "没有" in empty["text"]


async def test_staff_ask_another_region_through_the_bot(database_url, tmp_path):
    """Without the exchange key and peers the bot says so plainly, and nothing is stored."""
    number = synthetic_id_number("110105", date(1950, 3, 7), 7)
    async with running_bot(database_url, tmp_path / "var") as stack:
        runtime, services = stack.runtime, stack.runtime.bot_services
        retiree_id = await add_retiree(
            runtime.uow_factory, runtime.vault, number, "李建国", residence_region=ASKER
        )
        async with runtime.uow_factory() as uow:  # paid here (the helper takes the ID's county)
            (await uow.retirees.get(retiree_id)).pension_region = "110000"
            await uow.commit()
        code = await services.staff.create("S-02", "钱进", "110000")
        staff = stack.user(STAFF_CHAT)
        await staff.say("/staff")
        await staff.say(code)
        await staff.tap("🔎 协查任务")
        [ask] = await staff.tap("➕ 请外地协助核实")
        assert "身份证号码" in ask["text"]
        [again] = await staff.say("110105")
        assert "不对" in again["text"]
        [refused] = await staff.say(number)
        assert "李建国" in refused["text"] and ASKER in refused["text"] and "联通" in refused["text"]
        await staff.tap("🔎 协查任务")
        [sent] = await staff.tap("📤 本地区发出的协查")
        assert "还没有发出过" in sent["text"]
