"""The certification and review services append their records in the same transaction."""

from __future__ import annotations

from sqlalchemy import select

from storage.models.records import VerificationRecord
from tests.certification.conftest import SAME_PERSON, SOMEONE_ELSE, STAFF_USER, enrol_retiree
from verification.certification.review import ReviewService
from verification.certification.service import CertificationService, Selfie
from verification.records.chain import verify_chain


def _selfie(key: str, data: bytes, retiree_id: int) -> Selfie:
    return Selfie(key, retiree_id, STAFF_USER, STAFF_USER, "photo", data, assisted=True, place="社区服务站")


async def _records(uow_factory):
    async with uow_factory() as uow:
        statement = select(VerificationRecord).order_by(VerificationRecord.region, VerificationRecord.seq)
        return list((await uow.session.execute(statement)).scalars())


async def test_certified_and_review_decisions_are_recorded(
    uow_factory, vault, face_pool, faces, cycle, clock
):
    enrolled = await enrol_retiree(uow_factory, vault, face_pool, faces)
    service = CertificationService(uow_factory, vault, face_pool, cycle, clock=clock, region_code="440300")
    impostor = (faces / SOMEONE_ELSE).read_bytes()
    for n in (20, 21, 22):
        await service.submit_selfie(_selfie(f"tg:1:{n}", impostor, enrolled.retiree_id))
    assert await _records(uow_factory) == []  # failed matches are attempts, not outcomes
    review = ReviewService(uow_factory, vault, cycle, clock=clock, region_code="440300")
    [case] = await review.pending(STAFF_USER)
    await review.decide(STAFF_USER, case.case_id, approve=False, reason="不是本人")
    result = await service.submit_selfie(
        _selfie("tg:1:30", (faces / SAME_PERSON).read_bytes(), enrolled.retiree_id)
    )
    assert result.outcome == "certified"

    records = await _records(uow_factory)
    assert [(r.event, r.method, r.region) for r in records] == [
        ("review_rejected", "review", "440300"),
        ("certified", "assisted_photo", "440300"),
    ]
    assert (
        records[0].staff_id is not None and records[1].evidence_hash and len(records[1].evidence_hash) == 64
    )
    async with uow_factory() as uow:
        retiree = await uow.retirees.get(enrolled.retiree_id)
        assert {r.retiree_hash for r in records} == {retiree.id_number_hash}
        assert (await verify_chain(uow, "440300")).intact
