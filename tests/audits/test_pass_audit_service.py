"""The audit of self-service passes on SQLite and PostgreSQL: which passes are queued (drawn,
or over the threshold) with what evidence, what staff see and decide, what that writes (audit
trail, verification records kept local, a review case in the existing flow), and what a
rejected audited pass does (payment suspended until the retiree certifies with staff)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kernel.permissions import NotStaff
from storage.models.certification import PassAudit
from storage.models.records import OutboxEntry, VerificationRecord
from tests.audits.helpers import CALM, FAR_STAFF_USER, STAFF_USER, add_retiree, add_staff, note, stack
from verification.records.chain import verify_chain

USER = 920001


@pytest.fixture
async def photo(tmp_path):
    path = tmp_path / "reference.jpg"
    path.write_bytes(b"\xff\xd8 a reference photo")
    return str(path)


async def _audits(uow_factory) -> list[PassAudit]:
    async with uow_factory() as uow:
        return list((await uow.session.execute(select(PassAudit).order_by(PassAudit.id))).scalars())


async def _records(uow_factory, event: str) -> list[VerificationRecord]:
    async with uow_factory() as uow:
        query = select(VerificationRecord).where(VerificationRecord.event == event)
        return list((await uow.session.execute(query)).scalars())


async def test_a_drawn_pass_is_queued_and_the_retiree_hears_the_usual_answer(uow_factory, vault, photo):
    retiree_id = await add_retiree(uow_factory, vault, user=USER, serial=1, photo=photo)
    await add_staff(uow_factory)
    s = stack(uow_factory, vault, share=1.0)  # every pass drawn
    await s.certification.start(USER)
    s.clock.now += timedelta(seconds=70)

    result = await s.certification.submit_video(note(USER, 1))

    assert result.outcome == "certified" and result.valid_until is not None  # told nothing different
    [audit] = await _audits(uow_factory)
    assert (audit.state, audit.sampled, audit.retiree_id, audit.region) == (
        "open",
        True,
        retiree_id,
        "110105",
    )
    assert audit.score == 0 and audit.reasons == []
    async with uow_factory() as uow:
        attempt = await uow.attempts.get(audit.attempt_id)
        certification = await uow.certifications.latest(retiree_id)
    assert certification.id == audit.certification_id and certification.method == "self_video"
    assert attempt.quality["risk"] == {
        "points": 0,
        "reasons": [],
        "sampled": True,
        "over_threshold": False,
        "audited": True,
    }
    again = await s.certification.submit_video(note(USER, 1))  # the same update, delivered again
    assert again.repeated and len(await _audits(uow_factory)) == 1


async def test_passes_are_scored_and_only_risky_ones_queued_when_none_is_drawn(uow_factory, vault):
    calm_id = await add_retiree(uow_factory, vault, user=USER, serial=2)
    s = stack(uow_factory, vault, share=0.0)
    await s.certification.start(USER)
    s.clock.now += timedelta(seconds=60)
    assert (await s.certification.submit_video(note(USER, 2))).outcome == "certified"

    old_id = await add_retiree(uow_factory, vault, user=USER + 1, serial=3, born=date(1931, 5, 6))
    await s.certification.start(USER + 1)
    s.clock.now += timedelta(seconds=60)
    near_the_limits = CALM | {
        "surround_shift": 0.01,
        "scores": {"raw": 0.43, "raw_threshold": 0.45, "snorm": None, "decided_on": "raw"},
    }
    s.judge.figures.append(near_the_limits)
    assert (await s.certification.submit_video(note(USER + 1, 1))).outcome == "certified"

    [audit] = await _audits(uow_factory)
    assert audit.retiree_id == old_id and not audit.sampled
    assert [r["code"] for r in audit.reasons] == ["thin_match", "thin_liveness", "age"]
    assert audit.score == 2 + 2 + 2 and {"code": "age", "points": 2, "value": 95} in audit.reasons
    async with uow_factory() as uow:
        [calm] = [a for a in await uow.attempts.since(calm_id, s.clock.now - timedelta(days=1))]
    assert calm.quality["risk"]["points"] == 0 and calm.quality["risk"]["audited"] is False


async def test_the_evidence_comes_from_the_history_and_the_sending_account(uow_factory, vault):
    helper = USER + 10
    ids = [await add_retiree(uow_factory, vault, user=helper, serial=10 + n, kind="helper") for n in range(3)]
    s = stack(uow_factory, vault, share=0.0, threshold=3)
    for n, retiree_id in enumerate(ids):
        await s.certification.start(helper, retiree_id)
        s.clock.now += timedelta(seconds=200 if n == 2 else 60)
        result = await s.certification.submit_video(note(helper, n, retiree_id))
        assert result.outcome == "certified"
    [audit] = await _audits(uow_factory)  # the third elder certified from one account
    assert audit.retiree_id == ids[2]
    assert {r["code"]: r["value"] for r in audit.reasons} == {
        "account_certifies_many": 3,
        "account_shared": 2,
        "slow_answer": 200,
    }


async def test_a_note_longer_than_the_time_since_it_was_asked_is_audited(uow_factory, vault):
    await add_retiree(uow_factory, vault, user=USER, serial=4)
    s = stack(uow_factory, vault, share=0.0)
    await s.certification.start(USER)
    s.clock.now += timedelta(seconds=3)  # a 6-s note, 3 s after the actions were shown

    assert (await s.certification.submit_video(note(USER, 3))).outcome == "certified"

    [audit] = await _audits(uow_factory)
    assert audit.reasons == [{"code": "answer_before_asked", "points": 4, "value": 3}]


async def test_staff_see_the_queue_of_their_region_and_confirm(uow_factory, vault, photo):
    retiree_id = await add_retiree(uow_factory, vault, user=USER, serial=5, photo=photo)
    await add_staff(uow_factory)
    s = stack(uow_factory, vault, share=1.0)
    await s.certification.start(USER)
    s.clock.now += timedelta(seconds=60)
    await s.certification.submit_video(note(USER, 4))

    with pytest.raises(NotStaff):
        await s.audits.queue(USER)  # the retiree is no member of staff
    assert (await s.audits.queue(FAR_STAFF_USER)).audits == []  # Shanghai staff: not theirs
    queue = await s.audits.queue(STAFF_USER)
    [view] = queue.audits
    assert queue.more == 0 and view.retiree_name == "老人5" and "*" in view.masked_id_number
    assert view.reference_photo == b"\xff\xd8 a reference photo" and view.video == b"video 920001 4"
    assert view.sampled and view.certified_at.utcoffset() == timedelta(hours=8)
    with pytest.raises(NotStaff):
        await s.audits.confirm(FAR_STAFF_USER, view.audit_id)

    decision = await s.audits.confirm(STAFF_USER, view.audit_id)

    assert decision.state == "confirmed" and decision.review_case_id is None
    assert await s.audits.confirm(STAFF_USER, view.audit_id) is None  # decided already
    assert await s.audits.open_review(STAFF_USER, view.audit_id) is None
    [audit] = await _audits(uow_factory)
    assert audit.state == "confirmed" and audit.decided_by is not None and audit.decided_at is not None
    async with uow_factory() as uow:
        trail = [(e.action, e.actor) for e in await uow.audit.for_retiree(retiree_id)]
        assert (await verify_chain(uow, "110000")).intact
        outbox = list((await uow.session.execute(select(OutboxEntry))).scalars())
    assert ("evidence_viewed", "staff:1") in trail and ("audit_confirmed", "staff:1") in trail
    [record] = await _records(uow_factory, "audit_confirmed")
    assert record.staff_id == 1 and record.detail["pass_audit_id"] == view.audit_id
    assert record.method == "audit" and record.evidence_hash is not None
    # The certification travels to the paying region; the audit's record stays here.
    assert {entry.record_id for entry in outbox} == {r.id for r in await _records(uow_factory, "certified")}
    assert (await s.audits.queue(STAFF_USER)).audits == []


async def test_a_doubtful_pass_becomes_a_review_case_and_a_rejection_stops_payment(uow_factory, vault):
    retiree_id = await add_retiree(uow_factory, vault, user=USER, serial=6)
    await add_staff(uow_factory)
    s = stack(uow_factory, vault, share=1.0)
    await s.certification.start(USER)
    s.clock.now += timedelta(seconds=60)
    await s.certification.submit_video(note(USER, 5))
    [view] = (await s.audits.queue(STAFF_USER)).audits
    assert view.reference_photo is None and view.video is not None

    decision = await s.audits.open_review(STAFF_USER, view.audit_id)

    assert decision.state == "review_opened" and decision.review_case_id is not None
    [case] = await s.review.pending(STAFF_USER)
    assert (case.case_id, case.opened_because) == (decision.review_case_id, "pass_audit")
    assert [(a.outcome, a.has_evidence) for a in case.attempts] == [("pass", True)]  # the video to see
    assert [e.is_video for e in await s.review.case_evidence(STAFF_USER, case.case_id)] == [True]
    assert (await s.certification.readiness(USER)).state == "ready"  # the certification stands
    [opened] = await _records(uow_factory, "audit_review_opened")
    assert opened.detail["case_id"] == case.case_id

    rejected = await s.review.decide(STAFF_USER, case.case_id, False, "视频里的人不是本人")

    assert (rejected.outcome, rejected.notify_chat_ids) == ("audit_rejected", [USER])
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(retiree_id)
        suspension = await uow.suspensions.open_for_retiree(retiree_id)
    assert retiree.payment_state == "suspended" and suspension.reason == "pass_audit_rejected"
    assert [r.detail for r in await _records(uow_factory, "suspended")] == [{"reason": "pass_audit_rejected"}]
    assert len(await _records(uow_factory, "review_rejected")) == 1
    readiness, challenge = await s.certification.start(USER)
    assert readiness.state == "in_person_needed" and challenge is None  # next time with staff


async def test_an_upheld_audited_pass_stands_and_nobody_is_told(uow_factory, vault):
    retiree_id = await add_retiree(uow_factory, vault, user=USER, serial=7)
    await add_staff(uow_factory)
    s = stack(uow_factory, vault, share=1.0)
    await s.certification.start(USER)
    s.clock.now += timedelta(seconds=60)
    await s.certification.submit_video(note(USER, 6))
    [view] = (await s.audits.queue(STAFF_USER)).audits
    case_id = (await s.audits.open_review(STAFF_USER, view.audit_id)).review_case_id

    upheld = await s.review.decide(STAFF_USER, case_id, True, "电话视频核实为本人")

    assert (upheld.outcome, upheld.notify_chat_ids) == ("audit_upheld", [])
    async with uow_factory() as uow:
        assert await uow.certifications.count_for_retiree(retiree_id) == 1  # no second one
        assert (await uow.retirees.get(retiree_id)).payment_state == "active"
    [approved] = await _records(uow_factory, "review_approved")
    assert approved.detail["because"] == "pass_audit"
    assert (await s.certification.readiness(USER)).state == "ready"
