"""Reports of a death or a hospital stay, and staff decisions on them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import verification.care.life_events as life_events_module
from storage.models import Retiree
from storage.models.care import HomeVisitRequest, LifeEventReport
from storage.models.certification import AuditEntry, Binding, ReviewCase, Suspension
from storage.models.records import VerificationRecord
from tests.care.helpers import HELPER, STAFF, STRANGER, TODAY, add_retiree, add_staff, bind, clock_at, rows
from verification.care.life_events import DeathReport, HospitalReport, LifeEventService, RetireeClaim
from verification.certification.review import ReviewService
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService

DIED_ON = TODAY - timedelta(days=3)


@pytest.fixture
def clock():
    return clock_at()


@pytest.fixture
def service(uow_factory, vault, clock) -> LifeEventService:
    return LifeEventService(uow_factory, vault, clock=clock)


@pytest.fixture
def review(uow_factory, vault, clock) -> ReviewService:
    cycle = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock)
    return ReviewService(uow_factory, vault, cycle, clock=clock)


def _death(claim: RetireeClaim, reporter: int = STRANGER, **fields) -> DeathReport:
    return DeathReport(reporter, claim, fields.pop("died_on", DIED_ON), "D110105202611240001", **fields)


async def _retiree(uow_factory, retiree_id: int) -> Retiree:
    [retiree] = await rows(uow_factory, Retiree, Retiree.id == retiree_id)
    return retiree


async def test_a_death_report_stops_payment_at_once_with_records_and_a_case(uow_factory, vault, service):
    retiree_id, number = await add_retiree(uow_factory, vault, 1)

    reported = await service.report_death(
        _death(
            RetireeClaim(id_number=number, name="王秀英"),
            document=b"\xff\xd8photo",
            document_media_type="image/jpeg",
        )
    )

    assert (reported.state, reported.retiree_name) == ("reported", "王秀英")
    assert (await _retiree(uow_factory, retiree_id)).payment_state == "suspended"
    [suspension] = await rows(uow_factory, Suspension)
    assert (suspension.retiree_id, suspension.reason, suspension.suspended_on) == (
        retiree_id,
        "death_reported",
        TODAY,
    )
    assert suspension.resumed_on is None
    [report] = await rows(uow_factory, LifeEventReport)
    assert (report.kind, report.event_date, report.state, report.reporter_user_id) == (
        "death",
        DIED_ON,
        "pending",
        STRANGER,
    )
    assert vault.decrypt_text(report.certificate_number_encrypted) == "D110105202611240001"
    assert vault.decrypt(report.document_encrypted) == b"\xff\xd8photo"
    assert b"D110105" not in report.certificate_number_encrypted  # stored encrypted
    [case] = await rows(uow_factory, ReviewCase)
    assert (case.id, case.opened_because, case.status) == (report.review_case_id, "death_reported", "pending")
    records = await rows(uow_factory, VerificationRecord)
    assert [(r.event, r.detail.get("reason")) for r in records] == [
        ("death_reported", None),
        ("suspended", "death_reported"),
    ]
    assert {r.retiree_hash for r in records} == {vault.lookup_hash(number)}
    actions = [a.action for a in await rows(uow_factory, AuditEntry)]
    assert actions == ["payment_suspended", "death_reported"]

    again = await service.report_death(_death(RetireeClaim(id_number=number, name="王秀英")))
    assert again.state == "already"
    assert len(await rows(uow_factory, Suspension)) == 1


async def test_a_death_report_is_one_transaction(uow_factory, vault, service, monkeypatch):
    retiree_id, number = await add_retiree(uow_factory, vault, 2)
    append = life_events_module.append_record

    async def failing(uow, **record):
        if record["event"] == "suspended":
            raise RuntimeError("the database went away")
        return await append(uow, **record)

    monkeypatch.setattr(life_events_module, "append_record", failing)
    with pytest.raises(RuntimeError):
        await service.report_death(_death(RetireeClaim(id_number=number, name="王秀英")))

    assert (await _retiree(uow_factory, retiree_id)).payment_state == "active"
    for model in (LifeEventReport, Suspension, ReviewCase, VerificationRecord, AuditEntry):
        assert await rows(uow_factory, model) == [], model.__name__


async def test_a_wrong_id_or_name_gets_one_neutral_answer_and_tries_are_limited(uow_factory, vault, service):
    retiree_id, number = await add_retiree(uow_factory, vault, 3)
    _, not_on_file = await add_retiree(uow_factory, vault, 4)
    async with uow_factory() as uow:  # on file no more: a number nobody holds
        await uow.session.delete(await uow.retirees.by_id_hash(vault.lookup_hash(not_on_file)))
        await uow.commit()

    wrong_name = await service.identify(STRANGER, number, "王秀兰")
    unknown = await service.identify(STRANGER, not_on_file, "王秀英")
    assert (wrong_name.state, wrong_name.retiree_id, wrong_name.retiree_name) == ("no_match", None, None)
    assert (unknown.state, unknown.retiree_id, unknown.retiree_name) == ("no_match", None, None)
    assert (wrong_name.tries_left, unknown.tries_left) == (4, 3)
    assert (await service.identify(STRANGER, "12345", "王秀英")).state == "malformed"  # not counted
    assert (await service.identify(STRANGER, number, " 王秀英 ")).retiree_id == retiree_id

    refused = await service.report_death(_death(RetireeClaim(id_number=number, name="李四")))
    assert refused.state == "no_match" and refused.retiree_name is None
    assert (await _retiree(uow_factory, retiree_id)).payment_state == "active"
    assert await rows(uow_factory, LifeEventReport) == []

    assert (await service.identify(STRANGER, number, "李四")).tries_left == 1
    last = await service.identify(STRANGER, number, "李四")
    assert last.state == "no_match" and last.locked_until is not None
    assert (await service.identify(STRANGER, number, "王秀英")).state == "locked"
    assert (
        await service.report_death(_death(RetireeClaim(id_number=number, name="王秀英")))
    ).state == "locked"


async def test_a_helper_reports_for_the_retiree_they_help_only(uow_factory, vault, service):
    helped, _ = await add_retiree(uow_factory, vault, 5)
    other, _ = await add_retiree(uow_factory, vault, 6, "张建国")
    await bind(uow_factory, helped, HELPER)

    assert await service.helped(HELPER) == [(helped, "王秀英")]
    assert (await service.report_death(_death(RetireeClaim(retiree_id=other), HELPER))).state == "no_match"
    assert (await service.report_death(_death(RetireeClaim(retiree_id=helped), HELPER))).state == "reported"
    assert (await _retiree(uow_factory, other)).payment_state == "active"
    assert (await _retiree(uow_factory, helped)).payment_state == "suspended"


async def test_a_rejected_death_report_resumes_payment_with_back_pay(
    uow_factory, vault, service, review, clock
):
    retiree_id, number = await add_retiree(uow_factory, vault, 7)
    await bind(uow_factory, retiree_id, HELPER, "self")
    await add_staff(uow_factory, STAFF, "110100", "S-1")
    reported = await service.report_death(_death(RetireeClaim(id_number=number, name="王秀英")))
    [case] = await review.pending(STAFF)
    assert case.life_event.kind == "death" and case.life_event.has_document is False
    assert (await review.life_event_document(STAFF, case.case_id)).certificate_number == "D110105202611240001"

    clock.set(TODAY + timedelta(days=40))
    decision = await review.decide(
        STAFF, reported.review_case_id, approve=False, reason="本人到社区当面确认健在"
    )

    assert (decision.outcome, decision.notify_chat_ids) == ("death_rejected", [HELPER])
    assert (await _retiree(uow_factory, retiree_id)).payment_state == "active"
    [suspension] = await rows(uow_factory, Suspension)
    assert suspension.resumed_on == TODAY + timedelta(days=40)
    assert suspension.back_pay_months == ["2026-11", "2026-12", "2027-01"]
    [report] = await rows(uow_factory, LifeEventReport)
    assert (report.state, report.decision_note) == ("rejected", "本人到社区当面确认健在")
    records = await rows(uow_factory, VerificationRecord)
    assert [r.event for r in records] == ["death_reported", "suspended", "resumed"]
    assert records[-1].detail["reason"] == "death_report_rejected"
    audits = [(a.action, a.actor) for a in await rows(uow_factory, AuditEntry)]
    assert ("life_event_document_viewed", "staff:1") in audits and ("death_rejected", "staff:1") in audits
    assert (await rows(uow_factory, ReviewCase))[0].status == "rejected"


async def test_a_confirmed_death_keeps_payment_stopped_and_ends_the_bindings(
    uow_factory, vault, service, review
):
    retiree_id, _ = await add_retiree(uow_factory, vault, 8)
    await bind(uow_factory, retiree_id, HELPER)
    await add_staff(uow_factory, STAFF, "110105", "S-1")
    reported = await service.report_death(_death(RetireeClaim(retiree_id=retiree_id), HELPER))

    decision = await review.decide(STAFF, reported.review_case_id, approve=True, reason="公安户籍已注销")

    assert (decision.outcome, decision.notify_chat_ids) == ("death_confirmed", [HELPER])
    assert (await _retiree(uow_factory, retiree_id)).payment_state == "suspended"
    assert (await rows(uow_factory, Suspension))[0].resumed_on is None
    assert all(b.revoked_at is not None for b in await rows(uow_factory, Binding))
    assert [r.event for r in await rows(uow_factory, VerificationRecord)][-1] == "death_confirmed"
    assert "binding_revoked" in [a.action for a in await rows(uow_factory, AuditEntry)]
    assert await review.decide(STAFF, reported.review_case_id, approve=False, reason="again") is None


async def test_a_hospital_stay_stops_nothing_opens_a_visit_and_holds_off_the_sweep(
    uow_factory, vault, service, review, clock
):
    due = TODAY - timedelta(days=40)  # past the due date and the grace
    retiree_id, number = await add_retiree(uow_factory, vault, 9, due_on=due)
    late, _ = await add_retiree(uow_factory, vault, 10, "张建国", due_on=due)
    await add_staff(uow_factory, STAFF, "110000", "S-1")
    sweep = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock)

    reported = await service.report_hospital(
        HospitalReport(
            STRANGER,
            RetireeClaim(id_number=number, name="王秀英"),
            TODAY - timedelta(days=2),
            "协和医院 5病区",
        )
    )

    assert reported.state == "reported"
    assert (await _retiree(uow_factory, retiree_id)).payment_state == "active"
    assert await rows(uow_factory, Suspension) == []
    [visit] = await rows(uow_factory, HomeVisitRequest)
    assert (visit.retiree_id, visit.reason, visit.state) == (retiree_id, "hospital", "open")
    assert vault.decrypt_text(visit.note_encrypted) == "协和医院 5病区"
    [case] = await rows(uow_factory, ReviewCase)
    assert case.opened_because == "hospital_reported"
    assert [r.event for r in await rows(uow_factory, VerificationRecord)] == ["hospital_reported"]
    again = HospitalReport(STRANGER, RetireeClaim(id_number=number, name="王秀英"), TODAY)
    assert (await service.report_hospital(again)).state == "already"

    assert await sweep.sweep_suspensions() == [late]  # the one in hospital is held off

    decision = await review.decide(STAFF, case.id, approve=True, reason="已联系家属，安排上门")
    assert decision.outcome == "hospital_acknowledged"
    assert (await rows(uow_factory, LifeEventReport))[0].state == "confirmed"
    assert await sweep.sweep_suspensions() == [retiree_id]  # no longer pending: the cycle applies


async def test_dates_in_the_future_or_before_birth_are_refused(uow_factory, vault, service):
    retiree_id, number = await add_retiree(uow_factory, vault, 11)
    claim = RetireeClaim(id_number=number, name="王秀英")
    assert (await service.report_death(_death(claim, died_on=TODAY + timedelta(days=1)))).state == "bad_date"
    assert (await service.report_death(_death(claim, died_on=date(1940, 1, 1)))).state == "bad_date"
    assert (await _retiree(uow_factory, retiree_id)).payment_state == "active"
    assert service.event_day("2026年11月20日").day == date(2026, 11, 20)
    assert service.event_day("１１月２０日").day == date(2026, 11, 20)
    assert service.event_day("yesterday").day == TODAY - timedelta(days=1)
    assert service.event_day("2026-12-01").problem == "future"
    assert service.event_day("上周").problem == "unreadable"


async def test_confirming_a_death_stops_payment_again_if_it_resumed_meanwhile(
    uow_factory, vault, service, review
):
    retiree_id, number = await add_retiree(uow_factory, vault, 12)
    await add_staff(uow_factory, STAFF, "110105", "S-1")
    reported = await service.report_death(_death(RetireeClaim(id_number=number, name="王秀英")))
    async with uow_factory() as uow:  # as a certification in person would have done
        (await uow.retirees.get(retiree_id)).payment_state = "active"
        (await uow.suspensions.open_for_retiree(retiree_id)).resumed_on = TODAY
        await uow.commit()

    await review.decide(STAFF, reported.review_case_id, approve=True, reason="医院证明核实")

    assert (await _retiree(uow_factory, retiree_id)).payment_state == "suspended"
    assert [(s.reason, s.resumed_on) for s in await rows(uow_factory, Suspension)] == [
        ("death_reported", TODAY),
        ("death_confirmed", None),
    ]
    events = [(r.event, r.detail.get("reason")) for r in await rows(uow_factory, VerificationRecord)]
    assert events[-2:] == [("suspended", "death_confirmed"), ("death_confirmed", None)]
