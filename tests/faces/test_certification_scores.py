"""CertificationService gives the face check every reference of the retiree, weighted by
quality, and a cohort of the region's other retirees; the attempt keeps raw and normalised
scores. The face check itself is a stand-in here (the real one runs in tests/certification)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from storage.db import create_engine, create_session_factory
from storage.models import Retiree
from storage.models.certification import Binding, Consent, ReferenceFace, StaffMember
from storage.schema import upgrade
from storage.uow import unit_of_work_factory
from verification.certification.reference_sets import load_reference_set
from verification.certification.service import CertificationService, Selfie
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService
from verification.faces.pipeline import SelfieVerdict
from verification.faces.reasons import Reason
from verification.faces.scoring import quality_weight
from verification.roster.synthetic import synthetic_id_number

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
USER = 700001
STAFF = 700900  # staff certify by photo in person (a retiree alone films a video note)


@pytest.fixture
async def uow_factory(database_url):
    # tests/faces/conftest.py names its face engine `engine`, hiding the database engine of
    # tests/conftest.py: build the migrated database here.
    database = create_engine(database_url)
    await upgrade(database)
    yield unit_of_work_factory(create_session_factory(database))
    await database.dispose()


class RecordingChecker:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    async def verify(self, references, frames, *, reference_weights=None, cohort=None) -> SelfieVerdict:
        self.calls.append({"references": references, "frames": frames, "weights": reference_weights,
                           "cohort": cohort})  # fmt: skip
        scores = {"raw": 0.41, "snorm": -2.6, "decided_on": "snorm", "references": len(references),
                  "cohort": 0 if cohort is None else len(cohort)}  # fmt: skip
        return SelfieVerdict(
            "pass", Reason.MATCH, 0.41, -2.04, "dlib-resnet-v1", {"faces_found": 1}, (), "ab" * 32,
            {"total_s": 0.2}, scores,
        )  # fmt: skip


def vector(seed: int) -> bytes:
    return np.random.default_rng(seed).normal(size=128).astype("<f4").tobytes()


async def add_retiree(uow, vault, number: int, region: str) -> Retiree:
    id_number = synthetic_id_number("110105", date(1950, 1, 1), number)
    retiree = Retiree(
        id_number_hash=vault.lookup_hash(id_number),
        id_number_encrypted=vault.encrypt(id_number),
        name=f"退休人员{number}",
        birth_date=date(1950, 1, 1),
        pension_region="110000",
        residence_region=region,
        pension_start=date(2010, 1, 1),
        due_on=date(2026, 12, 1),
    )
    uow.session.add(retiree)
    await uow.session.flush()
    return retiree


def face(vault, retiree_id: int, seed: int, *, engine="dlib-resnet-v1", source="roster", quality=None):
    return ReferenceFace(
        retiree_id=retiree_id,
        template_encrypted=vault.encrypt(vector(seed)),
        engine=engine,
        source=source,
        quality={"engine_version": "test", **(quality or {})},
    )


async def test_every_reference_and_the_regional_cohort_go_to_the_check(uow_factory, vault) -> None:
    async with uow_factory() as uow:
        me = await add_retiree(uow, vault, 1, "110105")
        neighbours = [await add_retiree(uow, vault, n, "110105") for n in range(2, 6)]
        elsewhere = await add_retiree(uow, vault, 9, "310101")
        uow.faces.add(face(vault, me.id, 1, quality={"face_width_px": 60, "yaw_ratio": 0.1}))
        uow.faces.add(face(vault, me.id, 2, source="staff", quality={"face_width_px": 400}))
        for n, other in enumerate(neighbours):
            uow.faces.add(face(vault, other.id, 100 + n))
        uow.faces.add(face(vault, neighbours[0].id, 200))  # a second, newer reference: one per person
        uow.faces.add(face(vault, neighbours[1].id, 300, engine="arcface-onnx-0123456789ab"))
        uow.faces.add(face(vault, elsewhere.id, 400))
        uow.bindings.add(Binding(telegram_user_id=USER, chat_id=USER, retiree_id=me.id, kind="self"))
        uow.consents.add(Consent(retiree_id=me.id, telegram_user_id=USER, decision="agree", text_version="t"))
        uow.staff.add(
            StaffMember(
                staff_number="S1",
                name="赵",
                region_code="110105",
                staff_code_hash="x",
                telegram_user_id=STAFF,
            )
        )
        await uow.commit()
        my_id = me.id

    checker = RecordingChecker()
    cycle = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", lambda: NOW)
    service = CertificationService(uow_factory, vault, checker, cycle, clock=lambda: NOW, cohort_size=200)
    photo = Selfie("tg:1:1", my_id, STAFF, STAFF, "photo", b"selfie", assisted=True)
    result = await service.submit_selfie(photo)

    assert result.outcome == "certified"
    [call] = checker.calls
    assert [t.vector for t in call["references"]] == [vector(1), vector(2)]  # roster and staff
    assert call["weights"] == [quality_weight({"face_width_px": 60, "yaw_ratio": 0.1}), 1.0]
    assert call["frames"] == [b"selfie"]
    cohort = call["cohort"]
    # four neighbours, each once (the newest template), same engine, none from elsewhere, not me
    assert cohort.shape == (4, 128)
    rows = {row.tobytes() for row in cohort.astype("<f4")}
    assert rows == {vector(200), vector(101), vector(102), vector(103)}
    async with uow_factory() as uow:
        [attempt] = await uow.attempts.since(my_id, datetime(2026, 1, 1, tzinfo=UTC))
        assert attempt.distance == 0.41
        scores = attempt.quality["scores"]
        assert scores["snorm"] == -2.6 and scores["decided_on"] == "snorm"

    # a smaller bound keeps the newest; 0 sends no cohort at all
    async with uow_factory() as uow:
        assert (await load_reference_set(uow, vault, my_id, 2)).cohort.shape == (2, 128)
        assert (await load_reference_set(uow, vault, my_id, 0)).cohort is None
