"""Certification by photo with the real face models, on SQLite and PostgreSQL.

A photo certifies only when staff took it in person (a retiree on their own films a video
note: tests/liveness); these tests go through the assisted path, staff in the retiree's
region sending the photo."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import timedelta

import pytest
from PIL import Image

from tests.certification.conftest import RETIREE_USER, SAME_PERSON, SOMEONE_ELSE, STAFF_USER, enrol_retiree
from tests.faces.samples import (
    animated_gif,
    encoded,
    exif_rotated_jpeg,
    png_of_one_colour,
    sixteen_bit_grey_png,
)
from verification.certification.review import ReviewService
from verification.certification.service import MEDIA_REASONS, CertificationService, Selfie


def _selfie(key: str, data: bytes, retiree_id: int) -> Selfie:
    return Selfie(key, retiree_id, STAFF_USER, STAFF_USER, "photo", data, assisted=True, place="社区服务站")


async def test_the_right_person_is_certified_for_twelve_months(
    uow_factory, vault, face_pool, faces, cycle, clock
):
    enrolled = await enrol_retiree(uow_factory, vault, face_pool, faces)
    service = CertificationService(uow_factory, vault, face_pool, cycle, clock=clock)
    assert (await service.readiness(RETIREE_USER)).state == "ready"

    result = await service.submit_selfie(
        _selfie("tg:1:10", (faces / SAME_PERSON).read_bytes(), enrolled.retiree_id)
    )

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
        service.submit_selfie(_selfie("tg:1:11", photo, enrolled.retiree_id)),
        service.submit_selfie(_selfie("tg:1:11", photo, enrolled.retiree_id)),
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

    results = [
        await service.submit_selfie(_selfie(f"tg:1:{n}", impostor, enrolled.retiree_id)) for n in (20, 21, 22)
    ]

    assert [r.outcome for r in results] == ["not_matched", "not_matched", "review_opened"]
    assert [r.tries_left for r in results[:2]] == [2, 1]
    assert (await service.readiness(RETIREE_USER)).state == "in_review"
    review = ReviewService(uow_factory, vault, cycle, clock=clock)
    [case] = await review.pending(STAFF_USER)
    assert case.retiree_id == enrolled.retiree_id and len(case.attempts) == 3
    assert case.masked_id_number.startswith(enrolled.id_number[:4]) and "*" in case.masked_id_number
    photos = await review.case_evidence(STAFF_USER, case.case_id)
    assert [photo.data for photo in photos] == [impostor] * 3 and not photos[0].is_video

    decision = await review.decide(STAFF_USER, case.case_id, approve=False, reason="不是本人")
    assert decision.approved is False and decision.notify_chat_ids == [RETIREE_USER]
    assert await review.decide(STAFF_USER, case.case_id, approve=True, reason="again") is None
    async with uow_factory() as uow:
        actions = [entry.action for entry in await uow.audit.for_retiree(enrolled.retiree_id)]
    assert "review_rejected" in actions and actions.count("evidence_viewed") == 3


def _bad_inputs(faces) -> dict[str, tuple[bytes, str, str]]:
    """The issue's bad inputs: name -> (bytes, expected outcome, expected reason)."""
    photo = Image.open(faces / SAME_PERSON).convert("RGB")
    cmyk, tiny = io.BytesIO(), io.BytesIO()
    photo.convert("CMYK").save(cmyk, "JPEG")
    Image.new("RGB", (10, 10), "white").save(tiny, "PNG")
    landscape = Image.open(faces / "people/obama/1.jpg")  # no face of the retiree, but a face
    blank = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 140, 160)).save(blank, "JPEG")
    return {
        "not an image": (b"%PDF-1.4 a letter, not a picture", "retry", "not_an_image"),
        "truncated JPEG": ((faces / SAME_PERSON).read_bytes()[:3000], "retry", "truncated"),
        "20,000 x 20,000 PNG": (png_of_one_colour(20_000, 20_000), "retry", "too_many_pixels"),
        "animated GIF": (animated_gif(), "retry", "animated"),
        "CMYK JPEG": (cmyk.getvalue(), "certified", "match"),
        "16-bit PNG": (sixteen_bit_grey_png(photo), "certified", "match"),
        "10 x 10": (tiny.getvalue(), "retry", "too_small"),
        "no face": (blank.getvalue(), "retry", "no_face"),
        "two faces": ((faces / "group" / "bbt2.jpg").read_bytes(), "retry", "several_faces"),
        "EXIF rotated": (exif_rotated_jpeg(photo), "certified", "match"),
        "someone else": (encoded(landscape, "JPEG"), "not_matched", "no_match"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "not an image",
        "truncated JPEG",
        "20,000 x 20,000 PNG",
        "animated GIF",
        "CMYK JPEG",
        "16-bit PNG",
        "10 x 10",
        "no face",
        "two faces",
        "EXIF rotated",
        "someone else",
    ],
)
async def test_each_bad_input_gets_its_reason_and_the_bad_files_an_error_record(
    name, uow_factory, vault, face_pool, faces, cycle, clock
):
    enrolled = await enrol_retiree(uow_factory, vault, face_pool, faces)
    service = CertificationService(uow_factory, vault, face_pool, cycle, clock=clock)
    data, outcome, reason = _bad_inputs(faces)[name]

    result = await service.submit_selfie(_selfie("tg:1:40", data, enrolled.retiree_id))

    assert (result.outcome, result.reason) == (outcome, reason)
    async with uow_factory() as uow:
        errors = [e.code for e in await uow.errors.list(source="selfie")]
        [attempt] = await uow.attempts.since(enrolled.retiree_id, clock.now - timedelta(days=1))
    assert attempt.reason == reason  # every try is on record, whatever came of it
    assert errors == ([reason] if reason in MEDIA_REASONS else [])


async def test_nobody_but_staff_certifies_by_photo_and_nobody_without_consent_by_video(
    uow_factory, vault, face_pool, faces, cycle, clock
):
    enrolled = await enrol_retiree(uow_factory, vault, face_pool, faces)
    service = CertificationService(uow_factory, vault, face_pool, cycle, clock=clock)
    stranger = replace(_selfie("tg:2:1", b"x", enrolled.retiree_id), telegram_user_id=424242)
    assert (await service.submit_selfie(stranger)).reason == "not_staff"
    own_photo = Selfie("tg:2:2", None, RETIREE_USER, RETIREE_USER, "photo", b"x")
    assert (await service.submit_selfie(own_photo)).reason == "video_needed"  # a photo alone is not enough
    async with uow_factory() as uow:
        (await uow.consents.current(enrolled.retiree_id)).decision = "not_now"
        await uow.commit()
    assert (await service.readiness(RETIREE_USER)).state == "no_consent"
