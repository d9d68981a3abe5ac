"""The console over real HTTP on a real database: signing in by the bot's link (once, within
minutes), the session's end, CSRF on every form, the staff member's regions only, deciding a
case and answering an employer's question as in the bot, lists, exports and the quarterly
report as downloads."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.notices import send_owed_notices
from content.i18n import Translator
from storage.models import ErrorRecord, Retiree
from storage.models.certification import AuditEntry, PassAudit, ReviewCase
from storage.models.employer import EmployerQuestion
from storage.models.records import AssistanceRequest
from storage.models.signals import ChatNotice
from tests.checkplan.helpers import COLLEAGUE_USER, STAFF_USER, add_retiree
from tests.console.helpers import CSRF, serve_console
from tests.cycle.test_reminder_job import FakeBot
from verification.care.home_visits import open_request
from verification.records.assistance import QUESTIONS, answer_text
from verification.signals.notices import NoticeService


async def _errors(uow_factory) -> list[str]:
    async with uow_factory() as uow:
        rows = (
            await uow.session.execute(select(ErrorRecord).where(ErrorRecord.source == "console"))
        ).scalars()
        return [row.code for row in rows]


async def _actions(uow_factory) -> list[str]:
    async with uow_factory() as uow:
        return [row.action for row in (await uow.session.execute(select(AuditEntry))).scalars()]


async def test_a_link_signs_in_once_within_minutes_and_the_session_ends(uow_factory, vault):
    async with serve_console(uow_factory, vault) as console, console.browser() as http:
        # Not signed in: every page sends you to the page that says how to get a link.
        async with http.get(console.url + "/console/") as response:
            assert response.url.path == "/console/signed-out"
            assert "机器人" in await response.text()

        link = await console.link(STAFF_USER)
        # Opening the link (a link preview would do the same) only shows a button.
        async with http.get(link) as response:
            assert response.status == 200 and "进入工作台" in await response.text()
        async with http.post(link) as response:
            assert response.url.path == "/console/"
            assert "110100" in await response.text()
        async with http.post(link) as response:  # the same link again
            assert response.status == 403 and "已经用过" in await response.text()

        stale = await console.link(STAFF_USER)
        console.later(11)
        async with console.browser() as other, other.post(stale) as response:
            assert response.status == 403 and "过期" in await response.text()
        async with (
            console.browser() as other,
            other.post(console.url + "/console/sign-in/forged") as response,
        ):
            assert response.status == 403

        # The session outlives ten idle minutes, not thirty.
        async with http.get(console.url + "/console/cases") as response:
            assert response.url.path == "/console/cases"
        console.later(31)
        async with http.get(console.url + "/console/cases") as response:
            assert response.url.path == "/console/signed-out"

    assert {"sign_in_link_used", "sign_in_link_expired", "sign_in_link_unknown"} <= set(
        await _errors(uow_factory)
    )
    actions = await _actions(uow_factory)
    assert (actions.count("console_link_issued"), actions.count("console_signed_in")) == (2, 1)


async def test_only_the_staff_members_regions_are_shown(uow_factory, vault):
    async with serve_console(uow_factory, vault) as console, console.browser() as http:
        await console.signed_in(http, COLLEAGUE_USER)  # district 110105
        for path in (
            "/console/?region=310104",
            "/console/retirees?region=110106",  # a neighbour district
            f"/console/retirees/{console.far_id}",
            "/console/report.pdf?region=310000",
            "/console/retirees/export.csv?region=310104",
        ):
            async with http.get(console.url + path) as response:
                assert response.status == 403, path
                assert "负责范围以外" in await response.text()
        async with http.get(console.url + f"/console/retirees/{console.home_ids[0]}") as response:
            assert response.status == 200
            assert "老人1" in await response.text()
        for path in (
            "/console/?quarter=2026Q5",
            "/console/?region=12345x",
            "/console/retirees?page=-1",
            "/console/retirees/export.csv?q=110105195001011230",  # an ID number with a wrong check digit
        ):
            async with http.get(console.url + path) as response:
                assert response.status == 400, path

        async with console.browser() as supervisor:
            await console.signed_in(supervisor, STAFF_USER)  # the prefecture sees its districts
            async with supervisor.get(console.url + "/console/retirees?region=110106") as response:
                assert response.status == 200
    assert "console_not_allowed" in await _errors(uow_factory)


async def test_a_case_is_decided_in_the_console_with_csrf_and_the_family_is_told(uow_factory, vault):
    async with serve_console(uow_factory, vault) as console, console.browser() as http:
        bound = await add_retiree(uow_factory, vault, 21, user=777001)
        async with uow_factory() as uow:
            case = ReviewCase(
                retiree_id=bound, opened_because="assisted_requested", opened_at=console.stack.clock()
            )
            uow.reviews.add(case)
            await uow.commit()
        far = await _case_for(uow_factory, console.far_id, console)
        page = await console.signed_in(http, COLLEAGUE_USER)
        token = CSRF.search(page).group(1)
        decision = console.url + f"/console/cases/{case.id}/decision"

        async with http.get(console.url + "/console/cases") as response:
            assert f"#{case.id}" in await response.text()
        async with http.post(decision, data={"verdict": "approve", "reason": "见过本人"}) as response:
            assert response.status == 403  # no CSRF token
        async with http.post(
            decision, data={"verdict": "approve", "reason": "见过本人", "csrf": "x" * 43}
        ) as response:
            assert response.status == 403  # a wrong one
        async with http.post(
            console.url + f"/console/cases/{far}/decision",
            data={"verdict": "approve", "reason": "x", "csrf": token},
        ) as response:
            assert response.status == 403  # another region's case
        async with http.post(
            decision, data={"verdict": "approve", "reason": "见过本人", "csrf": token}
        ) as response:
            assert response.status == 200 and "已经保存您的决定" in await response.text()
        async with http.post(
            decision, data={"verdict": "reject", "reason": "再看", "csrf": token}
        ) as response:
            assert "同事处理过" in await response.text()

    async with uow_factory() as uow:
        decided = await uow.reviews.get(case.id)
        notices = (await uow.session.execute(select(ChatNotice))).scalars().all()
        retiree = await uow.retirees.existing(bound)
    assert decided.status == "approved"
    assert [(n.chat_id, n.kind) for n in notices] == [(777001, "decided:approved")]
    assert retiree.last_certified_on == console.stack.clock().astimezone(console_zone()).date()
    assert (await _errors(uow_factory)).count("console_csrf_refused") == 2


async def test_lists_exports_and_the_quarterly_report_download(uow_factory, vault):
    async with serve_console(uow_factory, vault) as console, console.browser() as http:
        await console.signed_in(http, STAFF_USER)
        async with http.get(console.url + "/console/retirees?status=all&q=老人2") as response:
            text = await response.text()
            assert "老人2" in text and "老人1" not in text
        async with http.get(console.url + "/console/retirees/export.csv?status=all") as response:
            assert response.status == 200 and response.content_type == "text/csv"
            body = (await response.read()).decode("utf-8-sig")
            assert "老人1" in body and "老人9" not in body
        for fmt, kind in (("xlsx", "application/vnd.openxmlformats"), ("pdf", "application/pdf")):
            async with http.get(console.url + f"/console/report.{fmt}?quarter=2026Q1") as response:
                assert response.status == 200 and response.content_type.startswith(kind)
                assert "attachment" in response.headers["Content-Disposition"]
                assert len(await response.read()) > 1000
    actions = await _actions(uow_factory)
    assert {"console_viewed_list", "console_exported_list", "console_downloaded_report"} <= set(actions)


def console_zone():
    from tests.console.helpers import SHANGHAI

    return SHANGHAI


async def _case_for(uow_factory, retiree_id: int, console) -> int:
    async with uow_factory() as uow:
        case = ReviewCase(
            retiree_id=retiree_id, opened_because="assisted_requested", opened_at=console.stack.clock()
        )
        uow.reviews.add(case)
        await uow.commit()
        return case.id


async def test_an_audited_pass_is_confirmed_in_the_console(uow_factory, vault):
    async with serve_console(uow_factory, vault) as console, console.browser() as http:
        async with uow_factory() as uow:
            audit = PassAudit(
                retiree_id=console.home_ids[1], region="110105", score=5, sampled=False,
                reasons=[{"code": "age", "points": 2, "value": 96}], created_at=console.stack.clock(),
            )  # fmt: skip
            far = PassAudit(retiree_id=console.far_id, region="310104", score=1, sampled=True, reasons=[])
            uow.session.add_all([audit, far])
            await uow.commit()
        page = await console.signed_in(http, COLLEAGUE_USER)
        token = CSRF.search(page).group(1)
        async with http.get(console.url + "/console/audits") as response:
            text = await response.text()
            assert f"#{audit.id}" in text and f"#{far.id}" not in text
        async with http.get(console.url + f"/console/audits/{audit.id}") as response:
            assert "96 岁" in await response.text()
        async with http.get(console.url + f"/console/audits/{far.id}") as response:
            assert response.status == 403
        decision = console.url + f"/console/audits/{audit.id}/decision"
        async with http.post(decision, data={"verdict": "confirm"}) as response:
            assert response.status == 403
        async with http.post(decision, data={"verdict": "confirm", "csrf": token}) as response:
            assert "已经保存您的决定" in await response.text()
    async with uow_factory() as uow:
        assert (await uow.pass_audits.get(audit.id)).state == "confirmed"


async def test_assistance_requests_between_regions_are_listed_for_the_regions_staff_cover(uow_factory, vault):
    async with serve_console(uow_factory, vault) as console, console.browser() as http:
        now = console.stack.clock()
        async with uow_factory() as uow:
            home = await uow.session.get(Retiree, console.home_ids[0])
            far = await uow.session.get(Retiree, console.far_id)
            asked_of_us = AssistanceRequest(
                origin_region="440300", request_uid="q-home", retiree_hash=home.id_number_hash,
                question="请上门核实本人是否健在", state="open", opened_at=now - timedelta(days=16),
                due_at=now - timedelta(days=1),
            )  # fmt: skip
            elsewhere = AssistanceRequest(
                origin_region="440300", request_uid="q-far", retiree_hash=far.id_number_hash,
                question="请核实上海的这位", state="open", opened_at=now, due_at=now + timedelta(days=15),
            )  # fmt: skip
            we_asked = AssistanceRequest(
                origin_region="110000", request_uid="o-far", retiree_hash=far.id_number_hash,
                question=QUESTIONS["suspected_death"], state="answered", opened_at=now - timedelta(days=5),
                due_at=now + timedelta(days=10), answered_at=now,
                answer=answer_text("alive_certified", "见到本人"),
            )  # fmt: skip
            uow.session.add_all([asked_of_us, elsewhere, we_asked])
            await uow.commit()
        await console.signed_in(http, COLLEAGUE_USER)  # staff of 110105, where `home` lives
        async with http.get(console.url + "/console/assistance") as response:
            assert response.status == 200
            page = await response.text()
        t = Translator("zh_Hans")
        incoming, outgoing = page.split(t("console.assistance.outgoing"))
        assert f"#{asked_of_us.id}" in incoming and "请上门核实本人是否健在" in incoming
        assert t("console.assistance.overdue") in incoming and home.name in incoming
        assert f"#{elsewhere.id}" not in page  # lives in Shanghai: not this staff member's to visit
        assert f"#{we_asked.id}" in outgoing and t("xreq.question.suspected_death") in outgoing
        assert t("xreq.finding.alive_certified") in outgoing and "见到本人" in outgoing
        assert far.id_number_hash not in page


async def test_the_home_visits_asked_for_are_listed_for_the_regions_staff_cover(uow_factory, vault):
    async with serve_console(uow_factory, vault) as console, console.browser() as http:
        async with uow_factory() as uow:
            for retiree_id, note in (
                (console.home_ids[1], "3号楼2单元，女儿电话在卡上"),
                (console.far_id, "上海浦东，邻居有钥匙"),
            ):
                retiree = await uow.retirees.existing(retiree_id)
                await open_request(
                    uow, vault, retiree, reason="hospital", requested_by=None, note=note,
                    at=console.stack.clock(),
                )  # fmt: skip
            home = await uow.retirees.existing(console.home_ids[1])
            await uow.commit()
        await console.signed_in(http, COLLEAGUE_USER)  # staff of 110105
        async with http.get(console.url + "/console/visits") as response:
            assert response.status == 200
            page = await response.text()
        t = Translator("zh_Hans")
        assert home.name in page and "3号楼2单元，女儿电话在卡上" in page
        assert t("care.visit.reason.hospital") in page
        assert f"/console/retirees/{home.id}" in page  # the file, with the address on record
        assert "上海浦东，邻居有钥匙" not in page  # the far retiree's visit is Shanghai's staff's


def test_every_word_the_console_shows_for_a_stored_value_is_in_both_catalogs():
    from content.i18n import available_languages, message_ids
    from storage.models.certification import AttemptOutcome
    from storage.repositories.console import STATUSES
    from verification.records.chain import EVENTS

    for language in available_languages():
        ids = message_ids(language)
        assert {f"console.case.outcome.{o}" for o in AttemptOutcome} <= ids, language
        assert {f"console.retirees.status.{s}" for s in STATUSES} <= ids, language
        assert {f"console.list.payment_state.{s}" for s in ("active", "suspended")} <= ids, language
        assert {f"console.event.{event}" for event in EVENTS} <= ids, language


async def test_an_employer_question_is_answered_in_the_console_and_the_chat_told(
    uow_factory, vault, answerer
):
    question = "我们给员工买了商业保险，还要交社保吗"
    async with serve_console(uow_factory, vault, answerer) as console, console.browser() as http:
        async with uow_factory() as uow:
            asked = EmployerQuestion(
                telegram_user_id=555001, chat_id=555001, language="zh_Hans", question=question,
                asked_at=console.stack.clock(), closest=["reg-employee"],
            )  # fmt: skip
            uow.employer_questions.add(asked)
            await uow.commit()
        token = CSRF.search(await console.signed_in(http, COLLEAGUE_USER)).group(1)
        async with http.get(console.url + "/console/questions") as response:
            listed = await response.text()
        assert question in listed and f"第 {asked.id} 号提问" in listed
        # the closest articles of law, to help whoever answers
        assert re.search(r"(法|条例) 第[一二三四五六七八九十百零]+条", listed)

        answer = console.url + f"/console/questions/{asked.id}/answer"
        async with http.post(answer, data={"answer": "要交。"}) as response:
            assert response.status == 403  # no CSRF token
        async with http.post(answer, data={"answer": "  ", "csrf": token}) as response:
            assert response.status == 400
        text = "要交。商业保险不能代替社保，单位依法必须为员工参保（社会保险法 第五十八条）。"
        async with http.post(answer, data={"answer": text, "csrf": token}) as response:
            page = await response.text()
        assert response.status == 200 and f"第 {asked.id} 号提问已回答" in page
        assert question not in page  # no longer waiting
        async with http.post(answer, data={"answer": "再答一次", "csrf": token}) as response:
            assert "已经由同事回答" in await response.text()

    bot = FakeBot()
    assert (await send_owed_notices(bot, NoticeService(uow_factory))).sent == 1
    [(chat, sent)] = bot.sent
    assert chat == 555001 and question in sent and text in sent
    async with uow_factory() as uow:
        stored = await uow.employer_questions.get(asked.id)
    assert (stored.status, stored.answer) == ("answered", text)
    assert {"console_csrf_refused", "console_bad_request"} <= set(await _errors(uow_factory))
