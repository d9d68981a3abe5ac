"""Home visit requests and staff closing them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kernel.permissions import NotStaff
from storage.models.care import HomeVisitRequest
from storage.models.certification import Certification
from storage.models.records import VerificationRecord
from tests.care.helpers import (
    HELPER,
    OTHER_STAFF,
    STAFF,
    STRANGER,
    add_retiree,
    add_staff,
    bind,
    clock_at,
    rows,
)
from verification.care.home_visits import HomeVisitService
from verification.certification.service import CertificationResult, Outcome, Selfie


class FakeCertifier:
    """Certifies every assisted photo, writing the Certification row as the real service does."""

    def __init__(self, uow_factory) -> None:
        self._uow_factory = uow_factory
        self.selfies: list[Selfie] = []

    async def submit_selfie(self, selfie: Selfie) -> CertificationResult:
        self.selfies.append(selfie)
        async with self._uow_factory() as uow:
            uow.certifications.add(
                Certification(
                    retiree_id=selfie.retiree_id,
                    certified_on=date(2026, 11, 27),
                    valid_until=date(2027, 11, 27),
                    method="assisted_photo",
                    place=selfie.place,
                )
            )
            await uow.commit()
        return CertificationResult(Outcome.CERTIFIED, "match", valid_until=date(2027, 11, 27))


@pytest.fixture
def clock():
    return clock_at()


@pytest.fixture
def certifier(uow_factory) -> FakeCertifier:
    return FakeCertifier(uow_factory)


@pytest.fixture
def service(uow_factory, vault, certifier, clock) -> HomeVisitService:
    return HomeVisitService(uow_factory, vault, certifier, clock=clock)


async def test_one_open_request_per_retiree(uow_factory, vault, service):
    mother, _ = await add_retiree(uow_factory, vault, 1)
    father, _ = await add_retiree(uow_factory, vault, 2, "张建国")
    await bind(uow_factory, mother, HELPER)
    await bind(uow_factory, father, HELPER)

    assert (await service.can_ask(STRANGER)).state == "not_bound"
    assert (await service.can_ask(HELPER)).choices == [(mother, "王秀英"), (father, "张建国")]
    assert (await service.ask(STRANGER, mother, "cannot_film")).state == "not_bound"
    asked = await service.ask(HELPER, mother, "cannot_film", "  3号楼2单元501，电话13800000000 ")
    assert (asked.state, asked.retiree_name) == ("asked", "王秀英")
    assert (await service.ask(HELPER, mother, "other")).state == "already"
    assert (await service.can_ask(HELPER, mother)).state == "already"
    assert (await service.can_ask(HELPER, father)).state == "can_ask"

    [request] = await rows(uow_factory, HomeVisitRequest)
    assert (request.retiree_id, request.reason, request.region_code, request.requested_by) == (
        mother,
        "cannot_film",
        "110105",
        HELPER,
    )
    assert vault.decrypt_text(request.note_encrypted) == "3号楼2单元501，电话13800000000"


async def test_staff_see_the_requests_their_region_covers_oldest_first(uow_factory, vault, service, clock):
    near, near_number = await add_retiree(uow_factory, vault, 3)
    later, _ = await add_retiree(uow_factory, vault, 4, "张建国")
    far, _ = await add_retiree(uow_factory, vault, 5, "李梅", residence="310104")
    for retiree_id in (near, later, far):
        await bind(uow_factory, retiree_id, HELPER)
    await add_staff(uow_factory, STAFF, "110100", "S-1")  # a prefecture: covers 110105
    await add_staff(uow_factory, OTHER_STAFF, "310000", "S-2")
    await service.ask(HELPER, near, "failed_tries")
    clock.local += timedelta(minutes=5)
    await service.ask(HELPER, far, "other")
    await service.ask(HELPER, later, "hospital", "人民医院")

    mine = await service.open_visits(STAFF)
    assert [(v.retiree_name, v.reason, v.note) for v in mine] == [
        ("王秀英", "failed_tries", None),
        ("张建国", "hospital", "人民医院"),
    ]
    assert mine[0].masked_id_number == near_number[:4] + "*" * 10 + near_number[-4:]
    assert [v.retiree_name for v in await service.open_visits(OTHER_STAFF)] == ["李梅"]
    with pytest.raises(NotStaff):
        await service.open_visits(STRANGER)


async def test_a_visit_without_certification_is_recorded(uow_factory, vault, service):
    retiree_id, number = await add_retiree(uow_factory, vault, 6)
    await bind(uow_factory, retiree_id, HELPER)
    staff_id = await add_staff(uow_factory, STAFF, "110105", "S-1")
    await add_staff(uow_factory, OTHER_STAFF, "310000", "S-2")
    await service.ask(HELPER, retiree_id, "cannot_film")
    [request] = await rows(uow_factory, HomeVisitRequest)

    with pytest.raises(NotStaff):
        await service.visited_not_certified(OTHER_STAFF, request.id, "not_home")
    assert await service.visited_not_certified(STAFF, request.id, "not_home") is True
    assert await service.visited_not_certified(STAFF, request.id, "not_home") is False

    [request] = await rows(uow_factory, HomeVisitRequest)
    assert (request.state, request.staff_id) == ("done", staff_id)
    [record] = await rows(uow_factory, VerificationRecord)
    assert (record.event, record.method, record.staff_id, record.detail) == (
        "assisted_visit",
        "home_visit",
        staff_id,
        {"outcome": "not_home"},
    )
    assert record.retiree_hash == vault.lookup_hash(number)
    assert await service.open_visits(STAFF) == []
    assert (await service.can_ask(HELPER)).state == "can_ask"  # a new request may be made


async def test_staff_find_the_retiree_by_id_number_within_their_region(uow_factory, vault, service):
    retiree_id, number = await add_retiree(uow_factory, vault, 7)
    _, far_number = await add_retiree(uow_factory, vault, 8, residence="310104")
    await add_staff(uow_factory, STAFF, "110105", "S-1")

    found = await service.retiree_by_id_number(STAFF, f" {number[:6]} {number[6:].lower()} ")
    assert (found.state, found.retiree_id, found.retiree_name) == ("found", retiree_id, "王秀英")
    assert number not in found.masked_id_number and found.masked_id_number.endswith(number[-4:])
    assert (await service.retiree_by_id_number(STAFF, far_number)).state == "not_found"
    malformed = await service.retiree_by_id_number(STAFF, number[:-1] + ("0" if number[-1] != "0" else "1"))
    assert (malformed.state, malformed.id_problem.value) == ("malformed", "bad_check_digit")
    assert (await service.retiree_by_id_number(STRANGER, number)).state == "not_staff"


async def test_certifying_in_person_closes_the_open_request_with_the_certification(
    uow_factory, vault, service, certifier
):
    retiree_id, _ = await add_retiree(uow_factory, vault, 9)
    await bind(uow_factory, retiree_id, HELPER)
    await add_staff(uow_factory, STAFF, "110105", "S-1")
    await service.ask(HELPER, retiree_id, "cannot_film")
    [request] = await rows(uow_factory, HomeVisitRequest)
    target = await service.retiree_to_visit(STAFF, request.id)
    assert (target.state, target.retiree_id, target.request_id) == ("found", retiree_id, request.id)

    selfie = Selfie("tg:1:1", retiree_id, STAFF, STAFF, "photo", b"jpeg", assisted=True, place="home_visit")
    result = await service.certify_in_person(selfie)

    assert result.outcome == "certified" and certifier.selfies == [selfie]
    [request] = await rows(uow_factory, HomeVisitRequest)
    [certification] = await rows(uow_factory, Certification)
    assert (request.state, request.certification_id) == ("done", certification.id)
    assert (await service.retiree_to_visit(STAFF, request.id)).state == "closed"
