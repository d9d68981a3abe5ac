"""Certification by photo with the real face models, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import timedelta

from PIL import Image

from storage.models import ErrorRecord
from tests.certification.conftest import RETIREE_USER, SAME_PERSON, SOMEONE_ELSE, STAFF_USER, enrol_retiree
from verification.certification import CertificationService, Selfie
from verification.review import ReviewService


def _selfie(key: str, data: bytes, retiree_id=None) -> Selfie:
    return Selfie(key, retiree_id, RETIREE_USER, RETIREE_USER, "photo", data)


async def test_the_right_person_is_certified_for_twelve_months(
    uow_factory, vault, face_pool, faces, cycle, clock
):
    enrolled = await enrol_retiree(uow_factory, vault, face_pool, faces)
    service = CertificationService(uow_factory, vault, face_pool, cycle, clock=clock)
    assert (await service.readiness(RETIREE_USER)).state == "ready"

    result = await service.submit_selfie(_selfie("tg:1:10", (faces / SAME_PERSON).read_bytes()))

    assert result.outcome == "certified"
    assert result.valid_until.isoformat() == "2027-11-27"
    async with uow_factory() as uow:
        [attempt] = await uow.attempts.since(enrolled.retiree_id, clock.now - timedelta(days=1))
        assert (attempt.outcome, attempt.reason) == ("pass", "match") and attempt.distance < 0.45
        evidence = await uow.evidence.for_attempt(attempt.id)
        assert vault.decrypt(evidence.data_encrypted) == (faces / SAME_PERSON).read_bytes()
        assert (await uow.retirees.get(enrolled.retiree_id)).due_on.isoformat() == "2027-11-27"


async def test_the_same_message_twice_is_counted_once(uow_factory, vault, face_pool, faces, cycle, clock):
    enrolled = await enrol_retiree(uow_factory, vault, face_pool, faces)
    service = CertificationService(uow_factory, vault, face_pool, cycle, clock=clock)
    photo = (faces / SOMEONE_ELSE).read_bytes()
    first, again = await asyncio.gather(
        service.submit_selfie(_selfie("tg:1:11", photo)), service.submit_selfie(_selfie("tg:1:11", photo))
    )
    assert {first.outcome, again.outcome} == {"not_matched"}
    assert first.repeated or again.repeated or first == again
    async with uow_factory() as uow:
        assert len(await uow.attempts.since(enrolled.retiree_id, clock.now - timedelta(days=1))) == 1


async def test_three_failed_matches_open_a_review_that_staff_decide(
    uow_factory, vault, face_pool, faces, cycle, clock
):
    enrolled = await enrol_retiree(uow_factory, vault, face_pool, faces)
    service = CertificationService(uow_factory, vault, face_pool, cycle, clock=clock)
    impostor = (faces / SOMEONE_ELSE).read_bytes()

    results = [await service.submit_selfie(_selfie(f"tg:1:{n}", impostor)) for n in (20, 21, 22)]

    assert [r.outcome for r in results] == ["not_matched", "not_matched", "review_opened"]
    assert [r.tries_left for r in results[:2]] == [2, 1]
    assert (await service.readiness(RETIREE_USER)).state == "in_review"
    review = ReviewService(uow_factory, vault, cycle, clock=clock)
    [case] = await review.pending(STAFF_USER)
    assert case.retiree_id == enrolled.retiree_id and len(case.attempts) == 3
    assert case.masked_id_number.startswith(enrolled.id_number[:4]) and "*" in case.masked_id_number
    photos = await review.case_photos(STAFF_USER, case.case_id)
    assert [photo for _, photo in photos] == [impostor] * 3

    decision = await review.decide(STAFF_USER, case.case_id, approve=False, reason="不是本人")
    assert decision.approved is False and decision.notify_chat_ids == [RETIREE_USER]
    assert await review.decide(STAFF_USER, case.case_id, approve=True, reason="again") is None
    async with uow_factory() as uow:
        actions = [entry.action for entry in await uow.audit.for_retiree(enrolled.retiree_id)]
    assert "review_rejected" in actions and actions.count("evidence_viewed") == 3


async def test_bad_pictures_get_a_reason_and_an_error_record(
    uow_factory, vault, face_pool, faces, cycle, clock
):
    await enrol_retiree(uow_factory, vault, face_pool, faces)
    service = CertificationService(uow_factory, vault, face_pool, cycle, clock=clock)
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10), "white").save(buffer, "PNG")
    cases = {
        b"not an image at all": "not_an_image",
        (faces / SAME_PERSON).read_bytes()[:2000]: "truncated",
        buffer.getvalue(): "too_small",
        (faces / "group" / "bbt2.jpg").read_bytes(): "several_faces",
    }
    for n, (data, reason) in enumerate(cases.items()):
        result = await service.submit_selfie(_selfie(f"tg:1:{30 + n}", data))
        assert (result.outcome, result.reason) == ("retry", reason)
    async with uow_factory() as uow:
        errors = await uow.errors.list(source="selfie")
    assert sorted(e.code for e in errors) == ["not_an_image", "too_small", "truncated"]
    assert all(isinstance(e, ErrorRecord) and "bytes" in e.detail for e in errors)


async def test_nobody_unbound_or_without_consent_can_certify(
    uow_factory, vault, face_pool, faces, cycle, clock
):
    enrolled = await enrol_retiree(uow_factory, vault, face_pool, faces)
    service = CertificationService(uow_factory, vault, face_pool, cycle, clock=clock)
    stranger = replace(_selfie("tg:2:1", b"x"), telegram_user_id=424242)
    assert (await service.submit_selfie(stranger)).reason == "not_bound"
    async with uow_factory() as uow:
        (await uow.consents.current(enrolled.retiree_id)).decision = "not_now"
        await uow.commit()
    assert (await service.readiness(RETIREE_USER)).state == "no_consent"
