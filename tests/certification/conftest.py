"""A retiree bound, consented and enrolled from a real photo, and a real face worker pool."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from storage.models import Retiree
from storage.models.certification import Binding, Consent, StaffMember
from tests.conftest import faces_dir
from verification.certification.enrolment import ReferenceEnrolment
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService
from verification.faces.pool import FaceWorkerPool
from verification.roster.synthetic import synthetic_id_number

RETIREE_USER = 900001
STAFF_USER = 900900
REFERENCE = "people/cn_119_cai_gang/1.jpg"
SAME_PERSON = "people/cn_119_cai_gang/2.jpg"
SOMEONE_ELSE = "people/cn_122_cheng_su/1.jpg"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def face_pool():
    pool = FaceWorkerPool(workers=1)
    yield pool
    pool._executor and pool._executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def faces() -> Path:
    return faces_dir()


@dataclass
class Enrolled:
    retiree_id: int
    id_number: str


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 27, 3, 0, tzinfo=UTC))


@pytest.fixture
def cycle(uow_factory, clock) -> CycleService:
    return CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock)


async def enrol_retiree(
    uow_factory, vault, face_pool, faces: Path, *, user_id: int = RETIREE_USER
) -> Enrolled:
    id_number = synthetic_id_number("110105", date(1950, 3, 4), user_id % 1000)
    async with uow_factory() as uow:
        retiree = Retiree(
            id_number_hash=vault.lookup_hash(id_number),
            id_number_encrypted=vault.encrypt(id_number),
            name="蔡刚",
            birth_date=date(1950, 3, 4),
            pension_region="440300",
            residence_region="110105",
            pension_start=date(2010, 4, 1),
            last_certified_on=date(2025, 11, 20),
            due_on=date(2026, 11, 20),
            reference_photo_path=str(faces / REFERENCE),
        )
        uow.session.add(retiree)
        await uow.session.flush()
        uow.bindings.add(
            Binding(telegram_user_id=user_id, chat_id=user_id, retiree_id=retiree.id, kind="self")
        )
        uow.consents.add(
            Consent(retiree_id=retiree.id, telegram_user_id=user_id, decision="agree", text_version="t")
        )
        uow.staff.add(
            StaffMember(
                staff_number="S1",
                name="赵",
                region_code="110100",
                staff_code_hash="x",
                telegram_user_id=STAFF_USER,
            )
        )
        await uow.commit()
        retiree_id = retiree.id
    report = await ReferenceEnrolment(uow_factory, vault, face_pool).enrol_missing()
    assert report.enrolled == 1 and not report.problems
    return Enrolled(retiree_id, id_number)
