"""The staff audit of self-service passes (issue 13): the second line of defence behind
liveness.

`PassAuditor` runs inside the transaction that records a self-service video pass
(verification.certification.attempts.AttemptBook): it gathers the evidence of the pass (from the judge's
figures, and from the database: the retiree's certifications by year, what else the sending
account did, when the challenge was asked), scores it (verification.certification.pass_risk) and, when the
pass is drawn for the random share or scores over the threshold, puts it in the audit queue.
The score and its reasons are kept on every passing attempt (`quality["risk"]`), audited or
not, so the threshold can be re-tuned on real figures.

The certification stands while the audit waits, and the retiree is told nothing different: an
audit is a look after the fact, not a suspicion voiced to an elderly person, and most audited
passes are honest (the random share is there to measure exactly that).

`AuditService` is the staff side: the open audits of the staff member's region, oldest first,
each with the reference photo, the video note and the reasons (every look audited); a staff
member confirms the pass, or opens a review case in the existing review flow
(verification/certification/review.py decides it: upheld, or rejected with payment suspended until the
retiree certifies in person). Each decision is audited and written to the verification
records (`audit_confirmed`, `audit_review_opened`: kept in this region's chain, not
exchanged; see verification.records.LOCAL_EVENTS).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kernel.clock import Clock, as_utc, utc_now
from kernel.idnumber import mask_id_number
from kernel.permissions import NotStaff
from kernel.regions import covers
from storage.models import Retiree
from storage.models.certification import (
    AttemptOutcome,
    AuditEntry,
    Certification,
    CertificationAttempt,
    PassAudit,
    ReviewCase,
    StaffMember,
    Suspension,
)
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.certification.challenges import Challenge
from verification.certification.pass_risk import (
    REMOTE_METHODS,
    AuditCall,
    AuditPolicy,
    PassEvidence,
    RiskScore,
    age_on,
    audit_call,
    parse_audit_policy,
    remote_years_in_a_row,
    score,
)
from verification.records.chain import append_record

DEFAULT_AUDIT_FILE = Path(__file__).resolve().parents[1] / "data" / "pass_audit.toml"
DIGEST_PURPOSE = "pass_audit"
# A review case opened from an audit; and the suspension its rejection causes, which only a
# certification with staff (in person, at a home visit) lifts.
REVIEW_BECAUSE = "pass_audit"
AUDIT_SUSPENSION = "pass_audit_rejected"
QUEUE_PAGE = 5  # audits shown at once: each comes with a photo and a video


@cache
def _policy_file(path: Path) -> AuditPolicy:
    with path.open("rb") as handle:
        return parse_audit_policy(tomllib.load(handle))


def load_audit_policy(
    path: Path | str = DEFAULT_AUDIT_FILE, *, share: float | None = None, threshold: int | None = None
) -> AuditPolicy:
    """The policy of the data file (read once per process), with the share and threshold a
    deployment's settings may override."""
    return _policy_file(Path(path)).overridden(share=share, threshold=threshold)


def judged_evidence(verdict: Any) -> PassEvidence:
    """What the liveness judge measured of a passing note (a `VideoVerdict`, read by its
    attributes: the judge itself loads only in the face worker processes)."""
    figures = verdict.figures or {}
    scores = figures.get("scores") or {}
    scale = "snorm" if scores.get("decided_on") == "snorm" else "raw"
    value, limit = scores.get(scale), scores.get(f"{scale}_threshold")
    margin = abs(float(value) - float(limit)) if value is not None and limit is not None else None
    compared = figures.get("embedded_at_s")
    peaks = [float(p) for p in figures.get("periodic_peaks") or [] if p is not None]
    return PassEvidence(
        match_margin=None if margin is None else round(margin, 4),
        match_scale=scale,
        frames_matched=verdict.match_frames,
        frames_compared=len(compared) if isinstance(compared, list) else None,
        nonrigid_motion=_number(figures.get("nonrigid_motion")),
        surround_shift=_number(figures.get("surround_shift")),
        periodic_peak=max(peaks) if peaks else None,
        video_seconds=_number(figures.get("duration_s")),
    )


def _number(value: Any) -> float | None:
    return None if value is None or isinstance(value, bool) else float(value)


class PassAuditor:
    """Scores a self-service pass and queues it for staff, inside the caller's unit of work."""

    def __init__(
        self, policy: AuditPolicy, digest: Callable[[str, str], bytes], *, timezone: str = "Asia/Shanghai"
    ) -> None:
        self._policy = policy
        self._digest = digest  # PersonalDataVault.keyed_digest: (purpose, text) -> bytes
        self._zone = ZoneInfo(timezone)

    @property
    def policy(self) -> AuditPolicy:
        return self._policy

    async def consider(
        self,
        uow: UnitOfWork,
        retiree: Retiree,
        attempt: CertificationAttempt,
        certification: Certification,
        challenge: Challenge | None,
        judged: PassEvidence | None,
        now: datetime,
    ) -> PassAudit | None:
        """Scores the pass; queues it when drawn or over the threshold. Nothing is committed
        here, and nothing the retiree is told depends on it: the certification stands."""
        evidence = await self.gather(uow, retiree, attempt, challenge, judged or PassEvidence(), now)
        risk = score(evidence, self._policy)
        call = audit_call(risk, self._digest(DIGEST_PURPOSE, attempt.idempotency_key), self._policy)
        attempt.quality = dict(attempt.quality or {}) | {"risk": _risk_record(risk, call)}
        if not call.audit:
            return None
        audit = PassAudit(
            retiree_id=retiree.id,
            attempt_id=attempt.id,
            certification_id=certification.id,
            region=retiree.residence_region,
            created_at=now,
            state="open",
            score=risk.points,
            reasons=risk.as_json(),
            sampled=call.sampled,
        )
        uow.pass_audits.add(audit)
        return audit

    async def gather(
        self,
        uow: UnitOfWork,
        retiree: Retiree,
        attempt: CertificationAttempt,
        challenge: Challenge | None,
        judged: PassEvidence,
        now: datetime,
    ) -> PassEvidence:
        today = now.astimezone(self._zone).date()
        # This pass's certification is in the history: the caller flushed it.
        history = [(day.year, method) for day, method in await uow.certifications.history(retiree.id)]
        account = attempt.telegram_user_id
        certified_by_account: set[int] = {retiree.id}
        linked: set[int] = set()
        if account is not None:
            since = now - timedelta(days=self._policy.many_elders_window_days)
            certified_by_account |= await uow.certifications.retirees_certified_by(
                account, since, REMOTE_METHODS
            )
            linked = await uow.bindings.retirees_of_user(account)
            linked |= await uow.attempts.retirees_tried_by(account)
        return replace(
            judged,
            age=age_on(retiree.birth_date, today) if retiree.birth_date else None,
            remote_years=remote_years_in_a_row(history, today.year),
            elders_certified_by_account=len(certified_by_account),
            other_retirees_of_account=len(linked - {retiree.id}),
            seconds_since_asked=await _seconds_since_asked(uow, challenge, attempt, now),
        )


async def _seconds_since_asked(
    uow: UnitOfWork, challenge: Challenge | None, attempt: CertificationAttempt, now: datetime
) -> float | None:
    """From the challenge's issue (stepwise: from its previous step's note) to this note."""
    if challenge is None:
        return None
    row = await uow.challenges.get(challenge.id)
    if row is None or row.issued_at is None:
        return None
    asked = as_utc(row.issued_at)
    for earlier in await uow.attempts.for_challenge(challenge.id):
        if earlier.id != attempt.id and earlier.outcome == AttemptOutcome.STEP and earlier.at is not None:
            asked = max(asked, as_utc(earlier.at))
    return round((as_utc(now) - asked).total_seconds(), 1)


def _risk_record(risk: RiskScore, call: AuditCall) -> dict[str, Any]:
    return {
        "points": risk.points,
        "reasons": risk.as_json(),
        "sampled": call.sampled,
        "over_threshold": call.over_threshold,
        "audited": call.audit,
    }


# ------------------------------------------------------------------ the staff side


@dataclass(frozen=True)
class AuditView:
    audit_id: int
    retiree_id: int
    retiree_name: str = field(repr=False)
    masked_id_number: str = field(repr=False)
    residence_region: str
    certified_at: datetime  # local time of the region
    score: int
    sampled: bool
    reasons: list[dict[str, Any]]  # {"code", "points", "value"}
    reference_photo: bytes | None = field(repr=False)
    video: bytes | None = field(repr=False)  # None: withdrawn with consent (or never kept)
    video_media_type: str | None
    state: str = "open"  # or an AuditVerdict once decided


@dataclass(frozen=True)
class AuditQueue:
    audits: list[AuditView]
    more: int  # open audits of the region not shown this time


class AuditVerdict(StrEnum):
    """What staff decided about an audited pass (also the audit row's state afterwards)."""

    CONFIRMED = "confirmed"  # the pass is what it claims
    REVIEW_OPENED = "review_opened"  # doubt remains: a review case, the certification stands


@dataclass(frozen=True)
class AuditDecision:
    audit_id: int
    state: AuditVerdict
    retiree_name: str = field(repr=False)
    review_case_id: int | None = None


class AuditService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        *,
        clock: Clock = utc_now,
        timezone: str = "Asia/Shanghai",
        region_code: str | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._vault = vault
        self._clock = clock
        self._zone = ZoneInfo(timezone)
        self._region_code = region_code  # the chain verification records are appended to

    async def queue(self, telegram_user_id: int, limit: int = QUEUE_PAGE) -> AuditQueue:
        """The open audits of the staff member's region, oldest first, with the reference
        photo and the video note; each look is audited (and committed) before it is returned.
        NotStaff for anyone but active staff."""
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            shown: list[tuple[PassAudit, Retiree]] = []
            more = 0
            for audit in await uow.pass_audits.open_oldest():
                if not covers(staff.region_code, audit.region):
                    continue
                if len(shown) >= limit:
                    more += 1
                    continue
                shown.append((audit, await uow.retirees.existing(audit.retiree_id)))
            views = [await self._looked_at(uow, staff, audit, retiree, now) for audit, retiree in shown]
            await uow.commit()  # the looks are on record before anything is shown
            return AuditQueue(views, more)

    async def one(self, telegram_user_id: int, audit_id: int) -> AuditView | None:
        """One audit, open or decided, with its reference photo and video note (the look is
        audited); NotStaff for staff of a region that does not cover it."""
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            audit = await uow.pass_audits.get(audit_id)
            if audit is None:
                return None
            if not covers(staff.region_code, audit.region):
                raise NotStaff(telegram_user_id)
            view = await self._looked_at(
                uow, staff, audit, await uow.retirees.existing(audit.retiree_id), now
            )
            await uow.commit()
            return view

    async def _looked_at(
        self, uow: UnitOfWork, staff: StaffMember, audit: PassAudit, retiree: Retiree, now: datetime
    ) -> AuditView:
        """The audit as staff see it, and the audit entry of their look at its evidence."""
        evidence = await uow.evidence.for_attempt(audit.attempt_id) if audit.attempt_id else None
        uow.audit.add(
            AuditEntry(
                at=now,
                actor=f"staff:{staff.id}",
                action="evidence_viewed",
                retiree_id=retiree.id,
                detail={
                    "pass_audit_id": audit.id,
                    "attempt_id": audit.attempt_id,
                    "reference_photo": bool(retiree.reference_photo_path),
                    "video": evidence is not None,
                },
            )
        )
        return AuditView(
            audit.id,
            retiree.id,
            retiree.name,
            mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted)),
            retiree.residence_region,
            as_utc(audit.created_at).astimezone(self._zone),
            audit.score,
            audit.sampled,
            list(audit.reasons or []),
            _read(retiree.reference_photo_path),
            self._vault.decrypt(evidence.data_encrypted) if evidence else None,
            evidence.media_type if evidence else None,
            audit.state,
        )

    async def confirm(self, telegram_user_id: int, audit_id: int) -> AuditDecision | None:
        """The pass is what it claims: the audit is closed. None when it was decided meanwhile."""
        return await self._decide(telegram_user_id, audit_id, AuditVerdict.CONFIRMED)

    async def open_review(self, telegram_user_id: int, audit_id: int) -> AuditDecision | None:
        """Doubt remains: a review case in the existing review flow, with the pass's video as
        its evidence. The certification stands until the case is decided. None when the audit
        was decided meanwhile."""
        return await self._decide(telegram_user_id, audit_id, AuditVerdict.REVIEW_OPENED)

    async def _decide(
        self, telegram_user_id: int, audit_id: int, state: AuditVerdict
    ) -> AuditDecision | None:
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            audit = await uow.pass_audits.get(audit_id)
            if audit is None:
                return None
            retiree = await uow.retirees.existing(audit.retiree_id)
            if not covers(staff.region_code, retiree.residence_region):
                raise NotStaff(telegram_user_id)
            if audit.state != "open":
                return None
            attempt = await uow.attempts.get(audit.attempt_id) if audit.attempt_id else None
            case = None
            if state is AuditVerdict.REVIEW_OPENED:
                case = ReviewCase(retiree_id=retiree.id, opened_at=now, opened_because=REVIEW_BECAUSE)
                uow.reviews.add(case)
                await uow.flush()
                if attempt is not None:
                    attempt.review_case_id = case.id  # its video is the case's evidence
            if not await uow.pass_audits.decide(
                audit.id, state.value, staff.id, now, review_case_id=case.id if case else None
            ):
                return None  # a colleague decided it first; nothing of ours is committed
            detail = {"pass_audit_id": audit.id, "score": audit.score, "sampled": audit.sampled}
            if case is not None:
                detail["case_id"] = case.id
            event = f"audit_{state.value}"  # audit_confirmed | audit_review_opened
            uow.audit.add(
                AuditEntry(
                    at=now, actor=f"staff:{staff.id}", action=event, retiree_id=retiree.id, detail=detail
                )
            )
            await append_record(
                uow,
                region=self._region_code,
                event=event,
                retiree=retiree,
                method="audit",
                at=now,
                evidence_hash=attempt.evidence_sha256 if attempt else None,
                staff_id=staff.id,
                detail=detail,
            )
            await uow.commit()
            return AuditDecision(audit.id, state, retiree.name, case.id if case else None)


def _read(path: str | None) -> bytes | None:
    photo = Path(path) if path else None
    return photo.read_bytes() if photo and photo.is_file() else None


def audit_suspension_open(suspension: Suspension | None) -> bool:
    """Whether an open suspension is one a rejected audit caused (self-service waits for a
    certification with staff)."""
    return suspension is not None and suspension.reason == AUDIT_SUSPENSION
