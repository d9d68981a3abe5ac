"""Retirees, a scripted liveness judge and the services of the audit of passes, on a real
database (the judge's own tests run the real one; tests/audits/test_audit_e2e.py too)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from storage.models import Retiree
from storage.models.certification import Binding, Consent, ReferenceFace, StaffMember
from verification.certification.challenges import ChallengeService
from verification.certification.pass_audit import AuditService, PassAuditor, load_audit_policy
from verification.certification.review import ReviewService
from verification.certification.service import CertificationService, VideoNote
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService
from verification.liveness.fingerprints import Recording
from verification.liveness.judge import ActionFinding, VideoVerdict
from verification.roster.synthetic import synthetic_id_number

REGION = "110000"  # the deployment's chain
STAFF_USER, FAR_STAFF_USER = 920900, 920901
CALM = {  # the figures of a clear, lively pass
    "duration_s": 6.0,
    "nonrigid_motion": 0.12,
    "surround_shift": 0.08,
    "periodic_peaks": [1.3, 1.4],
    "embedded_at_s": [0.5, 2.0, 3.5, 5.0],
    "scores": {"raw": 0.31, "raw_threshold": 0.45, "snorm": None, "decided_on": "raw"},
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ScriptedJudge:
    """Each video note passes with the figures given (or as `figures["verdict"]` says); frame
    hashes come from the bytes, so different notes look different to the replay guard."""

    figures: list[dict] = field(default_factory=list)
    asked: list = field(default_factory=list)

    async def judge_video(self, data, actions, references, *, reference_weights=None, cohort=None):
        self.asked.append(tuple(actions))
        figures = self.figures.pop(0) if self.figures else dict(CALM)
        rng = random.Random(int.from_bytes(hashlib.sha256(data).digest()[:8], "big"))
        recording = Recording(
            tuple(rng.getrandbits(64) for _ in range(40)), tuple(rng.randbytes(36) for _ in range(40))
        )
        verdict, reason = figures.pop("verdict", ("pass", "live_match"))
        findings = tuple(ActionFinding(a, True, 1.0, 0.5, "in_order") for a in actions)
        matched = figures.pop("match_frames", 4)
        return VideoVerdict(
            verdict, reason, findings, 0.31, matched, figures, recording,
            hashlib.sha256(data).hexdigest(), {"total_s": 1.0},
        )  # fmt: skip


@dataclass
class Stack:
    clock: Clock
    judge: ScriptedJudge
    certification: CertificationService
    audits: AuditService
    review: ReviewService


def stack(uow_factory, vault, *, share: float = 0.0, threshold: int | None = None) -> Stack:
    clock = Clock()
    judge = ScriptedJudge()
    cycle = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock, region_code=REGION)
    auditor = PassAuditor(load_audit_policy(share=share, threshold=threshold), vault.keyed_digest)
    certification = CertificationService(
        uow_factory,
        vault,
        judge,
        cycle,
        clock=clock,
        region_code=REGION,
        challenges=ChallengeService(uow_factory, clock=clock, rng=random.Random(5)),
        auditor=auditor,
    )
    audits = AuditService(uow_factory, vault, clock=clock, region_code=REGION)
    review = ReviewService(uow_factory, vault, cycle, clock=clock, region_code=REGION)
    return Stack(clock, judge, certification, audits, review)


async def add_retiree(
    uow_factory,
    vault,
    *,
    user: int,
    serial: int,
    born: date = date(1950, 3, 4),
    kind: str = "self",
    photo: str | None = None,
    name: str | None = None,
) -> int:
    """A retiree bound to `user`'s chat, consenting, with a reference template on file."""
    number = synthetic_id_number("110105", born, serial)
    async with uow_factory() as uow:
        retiree = Retiree(
            id_number_hash=vault.lookup_hash(number),
            id_number_encrypted=vault.encrypt(number),
            name=name or f"老人{serial}",
            birth_date=born,
            pension_region="440300",
            residence_region="110105",
            pension_start=date(2010, 4, 1),
            last_certified_on=date(2025, 12, 1),
            due_on=date(2026, 12, 1),
            reference_photo_path=photo,
        )
        uow.session.add(retiree)
        await uow.session.flush()
        uow.bindings.add(Binding(telegram_user_id=user, chat_id=user, retiree_id=retiree.id, kind=kind))
        uow.consents.add(
            Consent(retiree_id=retiree.id, telegram_user_id=user, decision="agree", text_version="t")
        )
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
        await uow.commit()
        return retiree.id


async def add_staff(uow_factory) -> None:
    async with uow_factory() as uow:
        for number, user, region in (("S1", STAFF_USER, "110100"), ("S2", FAR_STAFF_USER, "310000")):
            uow.staff.add(
                StaffMember(
                    staff_number=number,
                    name=f"员工{number}",
                    region_code=region,
                    staff_code_hash=f"hash-{number}",
                    telegram_user_id=user,
                )
            )
        await uow.commit()


def note(user: int, n: int, retiree_id: int | None = None) -> VideoNote:
    return VideoNote(f"tg:{user}:{n}", retiree_id, user, user, f"video {user} {n}".encode())
