"""The employer assistant through the real PTB Application and the stand-in Bot API."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from accounts.staff import StaffService
from storage.models import ErrorRecord
from tests.e2e.harness import inline_labels, running_bot
from tests.employer.payrolls import all_ids, csv_bytes, known_rows, xlsx_bytes

EMPLOYER = 850001


@pytest.fixture
async def stack(database_url, tmp_path):
    async with running_bot(database_url, tmp_path / "var") as stack:
        yield stack


async def _employer(stack, chat_id: int = EMPLOYER, language: str = "简体中文"):
    user = stack.user(chat_id)
    await user.say("/start")
    await user.tap(language)
    await user.tap("🏢 我是用人单位经办人" if language == "简体中文" else "🏢 Employer (HR / payroll)")
    return user


async def test_an_employer_asks_and_gets_an_answer_with_its_citation(stack):
    user = await _employer(stack)
    labels = await user.keyboard_labels()
    assert labels[:3] == ["💬 问政策", "🧮 计算器", "📑 工资表自查"]
    [prompt] = await user.tap("💬 问政策")
    assert "打字提问" in prompt["text"] and len(inline_labels(prompt)) == 3

    [answer] = await user.say("试用期员工要不要交社保？")
    assert "试用期包含在劳动合同期限内" in answer["text"]
    assert "依据：劳动合同法 第十九条；社会保险法 第五十八条" in answer["text"]
    related = inline_labels(answer)
    assert "新员工入职后多长时间内要给他办参保登记？" in related

    [follow_up] = await user.tap("新员工入职后多长时间内要给他办参保登记？")
    assert "社会保险法 第五十八条" in follow_up["text"] and "30日" in follow_up["text"]

    [long] = await user.say("社保" * 2500)
    assert "问题有点长" in long["text"]


async def test_english_questions_get_english_answers(stack):
    user = await _employer(stack, 850002, "English")
    [answer] = await user.say("how much is the late fee if we pay contributions late?")
    assert "0.05 % a day" in answer["text"] and "Social Insurance Law, Art. 86" in answer["text"]


async def test_the_contribution_calculator_is_a_short_conversation(stack):
    user = await _employer(stack, 850003)
    [choice] = await user.tap("🧮 计算器")
    assert inline_labels(choice) == ["💰 每月社保费", "⏰ 滞纳金", "📅 参保登记最晚日期"]
    [ask_wage] = await user.tap("💰 每月社保费")
    assert "月工资" in ask_wage["text"]
    [typo] = await user.say("八千块")
    assert "不是一个金额" in typo["text"]
    [regions] = await user.say("8,000")
    assert "示例市A（示例数据）" in inline_labels(regions)
    [table] = await user.tap("示例市A（示例数据）")
    text = table["text"]
    assert "缴费基数 8,000.00 元" in text
    assert "养老保险：单位 16% = 1,280.00 元；个人 8% = 640.00 元" in text
    assert "工伤保险：单位 0.2% = 16.00 元；个人 0% = 0.00 元" in text
    assert "合计：单位 1,816.00 元，个人 840.00 元" in text and "示例地区" in text

    await user.tap("🧮 计算器")
    await user.tap("📅 参保登记最晚日期")
    [deadline] = await user.say("2026-03-01")
    assert "2026-03-31" in deadline["text"] and "第五十八条" in deadline["text"]

    await user.tap("🧮 计算器")
    await user.tap("⏰ 滞纳金")
    await user.say("10000")
    [fee] = await user.say("2026-01-15")
    assert "社会保险法 第八十六条" in fee["text"] and "× 0.05% ×" in fee["text"]

    await user.tap("🧮 计算器")
    await user.tap("💰 每月社保费")
    [helped] = await user.tap("❓ 帮助")  # a menu button leaves the calculator
    assert "帮助" in helped["text"]


async def test_an_uploaded_payroll_returns_every_finding_masked(stack):
    user = await _employer(stack, 850004)
    [intro] = await user.tap("📑 工资表自查")
    assert "身份证号码" in intro["text"] and "示例市B（示例数据）" in inline_labels(intro)
    [chosen] = await user.tap("示例市A（示例数据）")
    assert "不会被保存" in chosen["text"]

    today = stack.runtime.bot_services.employer.today()
    rows, expected = known_rows(today)
    sent = await stack.client.send_document(EMPLOYER + 3, csv_bytes(rows), "3月工资表.csv")
    summary, document = await stack.client.wait_for_bot_messages(
        EMPLOYER + 3, sent["message"]["message_id"], count=2, timeout=30
    )
    assert "共检查 9 行" in summary["text"]
    for line in (
        "超过30日未参保：1 人",
        "申报基数低于工资：1 行",
        "申报基数低于下限：1 行",
        "身份证号码有误：1 行",
    ):
        assert line in summary["text"]
    assert document["document"]["file_name"].endswith(".csv")
    content = (await stack.client.download(document["files"][0]["url"])).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(content)))
    found = {(int(row[0]), row[2]) for row in table[1:] if row[0]}
    assert {(item.row, item.masked_id) for item in expected} <= found
    assert not any(number in content for number in all_ids(rows))


async def test_bad_payroll_files_get_clear_messages_and_error_records(stack):
    await _employer(stack, 850005)
    chat = 850005
    client = stack.client

    async def upload(data: bytes, name: str, count: int = 1):
        sent = await client.send_document(chat, data, name)
        return await client.wait_for_bot_messages(
            chat, sent["message"]["message_id"], count=count, timeout=60
        )

    [wrong] = await upload("姓名,工号,部门\n张三,001,财务\n".encode(), "名单.csv")
    assert "表头缺少这些列" in wrong["text"] and "入职日期/start_date" in wrong["text"]
    [empty] = await upload(b"", "空.csv")
    assert "是空的" in empty["text"]

    calls_before = len(await client.calls("getFile"))
    [big] = await upload(b"0" * (50 * 1000 * 1000), "大工资表.csv")
    assert "文件太大了" in big["text"]
    assert len(await client.calls("getFile")) == calls_before  # refused before downloading

    rows, _ = known_rows(stack.runtime.bot_services.employer.today())
    gbk, _file = await upload(csv_bytes(rows, encoding="gbk"), "gbk.csv", count=2)
    assert "超过30日未参保：1 人" in gbk["text"]

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "身份证号码", "入职日期", "应发工资", "申报基数", "是否参保"])
    sheet.append([rows[0][0], rows[0][1], rows[0][2], 8000, "=D2", "是"])
    sheet.append([None, rows[3][1], rows[3][2], 9000, 9000, "是"])
    sheet.merge_cells("A2:A3")
    buffer = io.BytesIO()
    workbook.save(buffer)
    formulas, sheet_file = await upload(buffer.getvalue(), "公式.xlsx", count=2)
    assert "公式没有保存计算结果" in formulas["text"] and "合并单元格" in formulas["text"]
    assert sheet_file["document"]["file_name"].endswith(".xlsx")

    [negative, _] = await upload(
        xlsx_bytes([[rows[0][0], rows[0][1], rows[0][2], -8000, "abc", "是"]]), "负数.xlsx", count=2
    )
    assert "无法识别的数据：2 处" in negative["text"]

    async with stack.runtime.uow_factory() as uow:
        query = select(ErrorRecord.code).where(ErrorRecord.source == "payroll", ErrorRecord.chat_id == chat)
        codes = sorted((await uow.session.execute(query)).scalars().all())
    assert codes == ["empty", "missing_columns", "too_big"]


async def test_a_low_confidence_question_reaches_staff_and_the_answer_reaches_the_employer(stack):
    employer = await _employer(stack, 850006)
    [unsure] = await employer.say("我们单位年会抽奖的奖品应该怎么选？")
    assert "没有把握" in unsure["text"] and "转给社保工作人员" in unsure["text"]
    assert 1 <= len(inline_labels(unsure)) <= 3

    code = await StaffService(stack.runtime.uow_factory, stack.runtime.vault).create(
        "S777", "周建国", "110105"
    )
    staff = stack.user(850007)
    await staff.say("/start")
    await staff.tap("简体中文")
    [refused] = await staff.say("/questions")
    assert "只有已验证的工作人员" in refused["text"]
    await staff.say("/staff")
    await staff.say(code)
    [item] = await staff.say("/questions")
    assert "年会抽奖的奖品" in item["text"] and inline_labels(item) == ["✍️ 回复"]
    [prompt] = await staff.tap("✍️ 回复")
    assert "会原样发给提问的单位" in prompt["text"]
    before = (await stack.client.messages(850006))[-1]["message_id"]
    [sent] = await staff.say("补充医疗保险不在基本社会保险范围内，可以咨询当地医保部门。")
    assert "已把回复发给提问的单位" in sent["text"]
    [delivered] = await stack.client.wait_for_bot_messages(850006, before, count=1, timeout=15)
    assert "社保工作人员回复了您的问题" in delivered["text"] and "咨询当地医保部门" in delivered["text"]
    [none] = await staff.say("/questions")
    assert "暂时没有待回复" in none["text"]
