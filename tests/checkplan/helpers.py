"""A small population certified by every means through the real services, on a real database:
the check plan's coverage is then counted from the records these services wrote."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from storage.models import Retiree
from storage.models.certification import Binding, Consent, ReferenceFace, ReviewCase, StaffMember
from tests.audits.helpers import ScriptedJudge, note
from verification.care.home_visits import HomeVisitService, open_request
from verification.certification.challenges import ChallengeService
from verification.certification.pass_audit import PassAuditor, load_audit_policy
from verification.certification.review import ReviewService
from verification.certification.service import CertificationService, Selfie
from verification.checkplan.service import CheckPlanService
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService
from verification.faces.pipeline import SelfieVerdict
from verification.faces.reasons import Reason
from verification.records.chain import append_record
from verification.roster.synthetic import synthetic_id_number

CHAIN = "110000"  # the deployment's chain
HOME, NEIGHBOUR, FAR = "110105", "110106", "310104"  # residence regions
PAID_BY = "440300"  # every retiree's paying region: each record also goes to the outbox
SHANGHAI = ZoneInfo("Asia/Shanghai")
STAFF_USER, COLLEAGUE_USER, FAR_STAFF_USER = 930001, 930002, 930003


class Clock:
    """An aware UTC "now", set in Shanghai time."""

    def __init__(self, day: date = date(2026, 2, 10), hour: int = 10) -> None:
        self.at(day, hour)

    def at(self, day: date, hour: int = 10, minute: int = 0) -> None:
        self.now = datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now


class Faces(ScriptedJudge):
    """The scripted judge of video notes, and a face check that matches every photo."""

    async def verify(self, references, frames, *, reference_weights=None, cohort=None):
        digest = hashlib.sha256(b"".join(frames)).hexdigest()
        return SelfieVerdict("pass", Reason.MATCH, 0.3, 0.45, "scripted", {}, (), digest, {"total_s": 0.1})


@dataclass
class Stack:
    clock: Clock
    faces: Faces
    cycle: CycleService
    certification: CertificationService
    review: ReviewService
    home_visits: HomeVisitService
    plan: CheckPlanService


def stack(uow_factory, vault) -> Stack:
    clock = Clock()
    faces = Faces()
    cycle = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock, region_code=CHAIN)
    certification = CertificationService(
        uow_factory,
        vault,
        faces,
        cycle,
        clock=clock,
        region_code=CHAIN,
        challenges=ChallengeService(uow_factory, clock=clock, rng=random.Random(7)),
        auditor=PassAuditor(load_audit_policy(share=0.0), vault.keyed_digest),
    )
    review = ReviewService(uow_factory, vault, cycle, clock=clock, region_code=CHAIN)
    visits = HomeVisitService(uow_factory, vault, certification, clock=clock, region_code=CHAIN)
    plan = CheckPlanService(uow_factory, vault, cycle, clock=clock, region_code=CHAIN)
    return Stack(clock, faces, cycle, certification, review, visits, plan)


async def add_retiree(
    uow_factory,
    vault,
    serial: int,
    *,
    residence: str = HOME,
    born: date = date(1950, 3, 4),
    user: int | None = None,
    kind: str = "self",
) -> int:
    """A retiree on the roster; with `user`, bound to that chat, consenting, a face on file."""
    number = synthetic_id_number("110105", born, serial)
    async with uow_factory() as uow:
        retiree = Retiree(
            id_number_hash=vault.lookup_hash(number),
            id_number_encrypted=vault.encrypt(number),
            name=f"老人{serial}",
            birth_date=born,
            pension_region=PAID_BY,
            residence_region=residence,
            pension_start=date(2010, 4, 1),
            last_certified_on=date(2025, 12, 1),
            due_on=date(2026, 12, 1),
        )
        uow.session.add(retiree)
        await uow.session.flush()
        vector = np.random.default_rng(serial).normal(size=128).astype("<f4").tobytes()
        uow.faces.add(
            ReferenceFace(
                retiree_id=retiree.id,
                template_encrypted=vault.encrypt(vector),
                engine="dlib-resnet-v1",
                source="roster",
                quality={},
            )
        )
        if user is not None:
            uow.bindings.add(Binding(telegram_user_id=user, chat_id=user, retiree_id=retiree.id, kind=kind))
            uow.consents.add(
                Consent(retiree_id=retiree.id, telegram_user_id=user, decision="agree", text_version="t")
            )
        await uow.commit()
        return retiree.id


async def add_staff(uow_factory) -> dict[str, int]:
    """Three staff members: two of the prefecture covering HOME and NEIGHBOUR, one of Shanghai."""
    ids = {}
    async with uow_factory() as uow:
        for number, user, region in (
            ("S1", STAFF_USER, "110100"),
            ("S2", COLLEAGUE_USER, "110105"),
            ("S3", FAR_STAFF_USER, "310000"),
        ):
            member = StaffMember(
                staff_number=number,
                name=f"员工{number}",
                region_code=region,
                staff_code_hash=f"hash-{number}",
                telegram_user_id=user,
            )
            uow.staff.add(member)
            await uow.flush()
            ids[number] = member.id
        await uow.commit()
    return ids


async def certify_by_video(s: Stack, user: int, n: int) -> None:
    await s.certification.start(user)
    s.clock.now = s.clock.now.replace(second=30)
    result = await s.certification.submit_video(note(user, n))
    assert result.outcome == "certified", result


async def certify_in_person(s: Stack, retiree_id: int, place: str, n: int) -> None:
    selfie = Selfie(
        f"tg:{STAFF_USER}:{n}", retiree_id, STAFF_USER, STAFF_USER, "photo", b"photo %d" % n,
        assisted=True, place=place,
    )  # fmt: skip
    result = await s.certification.submit_selfie(selfie)
    assert result.outcome == "certified", result


async def approve_by_review(s: Stack, uow_factory, retiree_id: int) -> None:
    async with uow_factory() as uow:
        case = ReviewCase(retiree_id=retiree_id, opened_because="assisted_requested")
        uow.reviews.add(case)
        await uow.commit()
    decision = await s.review.decide(STAFF_USER, case.id, True, "见过本人")
    assert decision is not None and decision.approved


async def home_visit_found_nobody(s: Stack, uow_factory, vault, retiree_id: int) -> None:
    async with uow_factory() as uow:
        retiree = await uow.retirees.existing(retiree_id)
        request, _ = await open_request(
            uow, vault, retiree, reason="cannot_film", requested_by=None, note=None, at=s.clock()
        )
        await uow.commit()
    assert await s.home_visits.visited_not_certified(STAFF_USER, request.id, "not_home")


async def chain_record(s: Stack, uow_factory, retiree_id: int, event: str, method: str, detail=None) -> None:
    """A record another feature writes (a silent certification from data, an assistance answer),
    appended through the chain as that feature does."""
    async with uow_factory() as uow:
        retiree = await uow.retirees.existing(retiree_id)
        await append_record(
            uow, region=CHAIN, event=event, retiree=retiree, method=method, at=s.clock(), detail=detail
        )
        await uow.commit()
