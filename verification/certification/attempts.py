"""Attempts and what follows from them: one transaction writes the attempt (with its
challenge step, encrypted evidence and fingerprint) and its consequence: a certification
(the cycle moved on, a verification record written; a self-service pass scored, and queued
for a staff audit when drawn or risky: verification/certification/pass_audit.py), a failed try counted,
or, after the third, a review case for staff.

Each attempt carries the key of the Telegram message that brought it. When the process dies
mid-check, Telegram delivers the same update again: if the attempt was written, the same
answer is given again (`earlier_answer`); if not, the check runs again. Nothing is counted
twice.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from kernel.clock import Clock, as_utc
from storage.models import Retiree
from storage.models.certification import (
    AttemptOutcome,
    Certification,
    CertificationAttempt,
    Evidence,
    PassAudit,
    ReviewCase,
)
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.certification.challenges import CHALLENGE_LIFETIME, Challenge
from verification.certification.pass_risk import PassEvidence
from verification.certification.replay_guard import remember
from verification.liveness.actions import Action
from verification.liveness.fingerprints import Recording
from verification.records.chain import append_record

if TYPE_CHECKING:  # for annotations only: cycle.service imports from verification.certification
    from verification.cycle.service import CycleChange
    from verification.liveness.judge import ActionFinding

# Three failed matches, then a person looks: an honest retiree whose face the engine rejects
# (age, light, an old reference photo) must not be locked out by the machine alone.
MAX_FAILED_MATCHES = 3
# Failed tries of any kind (no match, actions not seen, a replayed or forwarded video) count:
# after MAX_FAILED_MATCHES of them the self-service path pauses and staff review takes over.
# Failed tries older than this no longer count towards a review case.
FAILURE_WINDOW = timedelta(days=30)


class CycleKeeper(Protocol):
    async def apply_certification(
        self, uow: UnitOfWork, retiree: Retiree, certified_on: date
    ) -> CycleChange: ...


class Auditor(Protocol):  # verification.certification.pass_audit.PassAuditor
    async def consider(
        self,
        uow: UnitOfWork,
        retiree: Retiree,
        attempt: CertificationAttempt,
        certification: Certification,
        challenge: Challenge | None,
        judged: PassEvidence | None,
        now: datetime,
    ) -> PassAudit | None: ...


class Outcome(StrEnum):
    """What one picture or video note led to, for the person who sent it."""

    CERTIFIED = "certified"
    NEXT_STEP = "next_step"  # a stepwise challenge: film the next action
    RETRY = "retry"  # put the capture right and send again; not counted as a try
    NOT_MATCHED = "not_matched"  # a photo: not the person on file
    NOT_PASSED = "not_passed"  # a video: liveness or the match failed
    REVIEW_OPENED = "review_opened"  # too many failed tries: staff look at it
    REFUSED = "refused"  # nothing judged; `reason` says why


@dataclass(frozen=True)
class CertificationResult:
    outcome: Outcome
    reason: str  # a reason code (verification.faces.reasons, liveness reasons) or a refusal code
    tries_left: int = 0
    valid_until: date | None = None
    resumed: bool = False
    back_pay_months: list[str] = field(default_factory=list)
    review_case_id: int | None = None
    repeated: bool = False  # the same message was handled before: this is its earlier answer
    next_actions: tuple[Action, ...] = ()  # next_step: what the next video note must show
    missing_actions: tuple[Action, ...] = ()  # not_passed: the asked actions that were not seen
    challenge: Challenge | None = None  # a new challenge to film, where the result calls for one


@dataclass(frozen=True)
class CertifiedBy:
    """How a passing attempt certifies: the method, and who was there and where."""

    method: str  # "self_video" | "assisted_photo"
    staff_id: int | None = None
    place: str | None = None


@dataclass(frozen=True)
class Capture:
    """What an attempt row needs, whatever the medium."""

    idempotency_key: str
    retiree_id: int
    telegram_user_id: int
    chat_id: int
    channel: str
    data: bytes
    media_type: str


class AttemptBook:
    """Writes attempts and decides what each one leads to."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        cycle: CycleKeeper,
        *,
        timezone: str,
        clock: Clock,
        region_code: str | None,
        auditor: Auditor | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._auditor = auditor  # scores self-service passes; None: no audit queue
        self._vault = vault
        self._cycle = cycle
        self._zone = ZoneInfo(timezone)
        self._clock = clock
        self._region_code = region_code  # the chain verification records are appended to

    async def earlier_answer(self, idempotency_key: str) -> CertificationResult | None:
        async with self._uow_factory() as uow:
            earlier = await uow.attempts.by_key(idempotency_key)
            return None if earlier is None else await self._result_of(uow, earlier)

    async def settle(
        self,
        capture: Capture,
        attempt: CertificationAttempt,
        how: CertifiedBy | None,
        *,
        keep_evidence: bool,
        challenge: Challenge | None = None,
        fingerprint: Recording | None = None,
        missing: tuple[Action, ...] = (),
        judged: PassEvidence | None = None,
    ) -> CertificationResult:
        """Writes the attempt and what follows from it in one transaction. A re-delivery of
        the same message that got there first wins; its answer is given again. `judged`: what
        the liveness judge measured of a passing video note (for the pass's risk score)."""
        try:
            return await self._record(
                capture, attempt, how, keep_evidence, challenge, fingerprint, missing, judged
            )
        except IntegrityError:
            async with self._uow_factory() as uow:
                first = await uow.attempts.by_key(capture.idempotency_key)
                if first is None:  # not a re-delivery: some other constraint failed
                    raise
                return await self._result_of(uow, first)

    async def _record(
        self,
        capture: Capture,
        attempt: CertificationAttempt,
        how: CertifiedBy | None,
        keep_evidence: bool,
        challenge: Challenge | None,
        fingerprint: Recording | None,
        missing: tuple[Action, ...],
        judged: PassEvidence | None = None,
    ) -> CertificationResult:
        now = self._clock()
        async with self._uow_factory() as uow:
            retiree = await uow.retirees.existing(capture.retiree_id)  # found ready a moment ago
            if challenge is not None and attempt.outcome != AttemptOutcome.RETRY:
                last = challenge.last_step or attempt.outcome != AttemptOutcome.STEP
                # A step taken gives the next one the whole lifetime again: one action per note
                # must not make an elderly person hurry through the second.
                if not await uow.challenges.claim(
                    challenge.id, challenge.step, now, last_step=last, expires_at=now + CHALLENGE_LIFETIME
                ):
                    return CertificationResult(Outcome.REFUSED, "challenge_used")
            attempt.idempotency_key = capture.idempotency_key
            attempt.retiree_id = retiree.id
            attempt.at = now
            attempt.channel = capture.channel
            attempt.telegram_user_id = capture.telegram_user_id
            attempt.helper_binding_id = await self._helper_binding(uow, retiree.id, capture.telegram_user_id)
            attempt.challenge_id = challenge.id if challenge is not None else None
            uow.attempts.add(attempt)
            await uow.flush()
            if keep_evidence:  # a readable face: keep it for staff, encrypted
                uow.evidence.add(
                    Evidence(
                        attempt_id=attempt.id,
                        retiree_id=retiree.id,
                        media_type=capture.media_type,
                        data_encrypted=self._vault.encrypt(capture.data),
                    )
                )
            if fingerprint is not None:
                # Whoever hands a fingerprint hashed the note's bytes into the attempt.
                assert attempt.evidence_sha256 is not None
                await remember(
                    uow,
                    kind="video",
                    sha256=attempt.evidence_sha256,  # of the bytes, as the caller hashed them
                    recording=fingerprint,
                    retiree_id=retiree.id,
                    attempt_id=attempt.id,
                )
            result = await self._decide(uow, retiree, attempt, now, how, challenge, missing, judged)
            await uow.commit()
            return result

    @staticmethod
    async def _helper_binding(uow: UnitOfWork, retiree_id: int, telegram_user_id: int) -> int | None:
        bindings = await uow.bindings.active_for_retiree(retiree_id)
        return next(
            (b.id for b in bindings if b.telegram_user_id == telegram_user_id and b.kind == "helper"), None
        )

    async def _decide(
        self,
        uow: UnitOfWork,
        retiree: Retiree,
        attempt: CertificationAttempt,
        now: datetime,
        how: CertifiedBy | None,
        challenge: Challenge | None,
        missing: tuple[Action, ...],
        judged: PassEvidence | None = None,
    ) -> CertificationResult:
        if attempt.outcome == AttemptOutcome.RETRY:
            return CertificationResult(
                Outcome.RETRY, attempt.reason, tries_left=await self._tries_left(uow, retiree, now)
            )
        if attempt.outcome == AttemptOutcome.REFUSED:
            return CertificationResult(Outcome.REFUSED, attempt.reason)
        if attempt.outcome == AttemptOutcome.STEP:
            assert challenge is not None  # a step is one action of a stepwise challenge
            return CertificationResult(
                Outcome.NEXT_STEP, attempt.reason, next_actions=(challenge.actions[challenge.step + 1],)
            )
        if attempt.outcome == AttemptOutcome.PASS:
            assert how is not None  # every caller that can pass says how the retiree certified
            return await self._certify(uow, retiree, attempt, now, how, challenge, judged)
        tries_left = await self._tries_left(uow, retiree, now)
        if tries_left > 0:
            failed = _failed(attempt)
            return CertificationResult(failed, attempt.reason, tries_left=tries_left, missing_actions=missing)
        case = ReviewCase(retiree_id=retiree.id, opened_at=now, opened_because="failed_matches")
        uow.reviews.add(case)
        await uow.flush()
        for counted in await self._counted_failures(uow, retiree, now):
            counted.review_case_id = case.id
        attempt.outcome = AttemptOutcome.REVIEW
        return CertificationResult(Outcome.REVIEW_OPENED, attempt.reason, review_case_id=case.id)

    async def _certify(
        self,
        uow: UnitOfWork,
        retiree: Retiree,
        attempt: CertificationAttempt,
        now: datetime,
        how: CertifiedBy,
        challenge: Challenge | None = None,
        judged: PassEvidence | None = None,
    ) -> CertificationResult:
        certified_on = now.astimezone(self._zone).date()
        change = await self._cycle.apply_certification(uow, retiree, certified_on)
        retiree.last_certified_on = certified_on
        certification = Certification(
            retiree_id=retiree.id,
            certified_at=now,
            certified_on=certified_on,
            valid_until=change.due_on,
            method=how.method,
            attempt_id=attempt.id,
            staff_id=how.staff_id,
            place=how.place,
        )
        uow.certifications.add(certification)
        if how.method == "self_video" and self._auditor is not None:
            await uow.flush()
            # Scored, and queued for a staff audit when drawn or risky. The certification
            # stands meanwhile and the retiree hears the same answer: the audit is a look after
            # the fact (verification/certification/pass_audit.py).
            await self._auditor.consider(uow, retiree, attempt, certification, challenge, judged, now)
        await append_record(
            uow,
            region=self._region_code,
            event="certified",
            retiree=retiree,
            method=how.method,
            at=now,
            evidence_hash=attempt.evidence_sha256,
            staff_id=how.staff_id,
            detail={"place": how.place} if how.place else None,
        )
        return CertificationResult(
            Outcome.CERTIFIED,
            attempt.reason,
            valid_until=change.due_on,
            resumed=change.resumed,
            back_pay_months=list(change.back_pay_months),
        )

    async def _counted_failures(
        self, uow: UnitOfWork, retiree: Retiree, now: datetime
    ) -> list[CertificationAttempt]:
        """Failed tries since the last certification, not yet put before staff."""
        since = now - FAILURE_WINDOW
        latest = await uow.certifications.latest(retiree.id)
        if latest is not None:
            since = max(since, as_utc(latest.certified_at))
        attempts = await uow.attempts.since(retiree.id, since)
        return [a for a in attempts if a.outcome == AttemptOutcome.FAIL and a.review_case_id is None]

    async def _tries_left(self, uow: UnitOfWork, retiree: Retiree, now: datetime) -> int:
        return max(0, MAX_FAILED_MATCHES - len(await self._counted_failures(uow, retiree, now)))

    async def _result_of(self, uow: UnitOfWork, attempt: CertificationAttempt) -> CertificationResult:
        if attempt.outcome == AttemptOutcome.PASS:
            certification = await uow.certifications.latest(attempt.retiree_id)
            valid_until = certification.valid_until if certification else None
            return CertificationResult(
                Outcome.CERTIFIED, attempt.reason, valid_until=valid_until, repeated=True
            )
        if attempt.outcome == AttemptOutcome.REVIEW:
            return CertificationResult(
                Outcome.REVIEW_OPENED, attempt.reason, review_case_id=attempt.review_case_id, repeated=True
            )
        if attempt.outcome == AttemptOutcome.STEP:
            challenge = (
                await uow.challenges.get(attempt.challenge_id) if attempt.challenge_id is not None else None
            )
            following = (
                challenge.actions[challenge.step]
                if challenge and challenge.step < len(challenge.actions)
                else None
            )
            return CertificationResult(
                Outcome.NEXT_STEP,
                attempt.reason,
                next_actions=(Action(following),) if following else (),
                repeated=True,
            )
        if attempt.outcome in (AttemptOutcome.RETRY, AttemptOutcome.REFUSED):
            return CertificationResult(Outcome(attempt.outcome), attempt.reason, repeated=True)
        return CertificationResult(_failed(attempt), attempt.reason, repeated=True)


def _failed(attempt: CertificationAttempt) -> Outcome:
    """A counted failure, as the sender hears of it: a video not passed, or a photo not matched."""
    return Outcome.NOT_PASSED if attempt.channel == "video_note" else Outcome.NOT_MATCHED


def finding_figures(finding: ActionFinding) -> dict[str, Any]:
    """One action finding as the attempt row stores it."""
    return {
        "action": str(finding.action),
        "seen": bool(finding.seen),
        "at_s": finding.at_s,
        "figure": finding.figure,
    }


def plain_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """Quality figures as JSON can store them (numpy numbers become floats)."""

    def plain(value: Any) -> bool | str | float | None:
        if isinstance(value, bool | str) or value is None:
            return value
        return float(value) if isinstance(value, numbers.Real) else str(value)

    return {key: plain(value) for key, value in figures.items()}
