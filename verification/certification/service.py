"""Certification: one capture in (a video note, or a photo taken by staff), one decision
out, everything recorded.

The policy (issue 5): self-service certification needs the face match AND liveness, so a
retiree certifies with a video note answering a challenge (`submit_video`); a photo alone
certifies only when a staff member took it in person (`submit_selfie` with `assisted`).

The flow of one selfie (ARCHITECTURE.md, "One certification"): who is certifying and whether
they may (bound, consented, a reference on file, no case awaiting staff) → the face check in a
worker process, outside any transaction → in ONE transaction: the attempt, the encrypted
evidence, and either the certification (with the cycle moved on) or, after the third failed
match, a review case for staff.

The flow of one video note: who is certifying and whether they may → the open challenge (not
expired, answered once) → the same file seen before? → liveness and face check in a worker
process → the same recording seen before (perceptual)? → in ONE transaction: the challenge
step taken, the attempt, the encrypted evidence, the fingerprint, and the outcome.

Writing an attempt and what follows from it is `verification.certification.attempts.AttemptBook`'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from kernel.clock import Clock, utc_now
from kernel.regions import covers
from storage.errors import record_error
from storage.models.certification import AttemptOutcome, CertificationAttempt
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWorkFactory
from verification.certification.attempts import (
    AttemptBook,
    Capture,
    CertificationResult,
    CertifiedBy,
    CycleKeeper,
    Outcome,
    finding_figures,
    plain_figures,
)
from verification.certification.challenges import Challenge, ChallengeService
from verification.certification.pass_audit import PassAuditor, audit_suspension_open, judged_evidence
from verification.certification.reference_sets import load_reference_set
from verification.certification.replay_guard import SeenBefore, seen_exactly, seen_similar
from verification.faces.pipeline import ReferenceTemplate, SelfieVerdict
from verification.faces.pool import FaceWorkError
from verification.faces.reasons import Reason
from verification.faces.scoring import MAX_COHORT
from verification.liveness.actions import Action
from verification.liveness.fingerprints import Recording

# Pending review cases that pause self-service: failed tries (staff look first) and a death
# reported by a relative. A hospital stay or a request for assistance does not: whoever can
# film a video note may still certify.
SELF_SERVICE_PAUSED_BY = frozenset({"failed_matches", "death_reported"})
NO_RECORDING = Recording((), ())  # refused before its frames were read: the SHA-256 only
# Refusals after which the person simply films again, to a new challenge.
NEW_CHALLENGE_REASONS = frozenset({"challenge_expired", "no_challenge", "challenge_used"})

if TYPE_CHECKING:  # the judge loads only in the face worker processes
    from verification.liveness.judge import VideoVerdict

# Reasons that mean the file itself was bad input (an error record, besides the attempt).
MEDIA_REASONS = frozenset(
    {
        Reason.NOT_AN_IMAGE,
        Reason.UNSUPPORTED_FORMAT,
        Reason.TOO_LARGE_BYTES,
        Reason.TOO_MANY_PIXELS,
        Reason.TOO_SMALL,
        Reason.ANIMATED,
        Reason.TRUNCATED,
        Reason.CORRUPT,
    }
)


class FaceChecker(Protocol):
    async def verify(
        self,
        references: Sequence[ReferenceTemplate],
        frames: Sequence[bytes],
        *,
        reference_weights: Sequence[float] | None = None,
        cohort: np.ndarray | None = None,
    ) -> SelfieVerdict: ...

    async def judge_video(
        self,
        data: bytes,
        actions: Sequence[Action],
        references: Sequence[ReferenceTemplate],
        *,
        reference_weights: Sequence[float] | None = None,
        cohort: np.ndarray | None = None,
    ) -> VideoVerdict: ...


@dataclass(frozen=True)
class Selfie:
    """A picture sent to certify, as the bot received it."""

    idempotency_key: str  # e.g. "tg:<chat id>:<message id>"
    retiree_id: int | None  # None: the only retiree the sender is bound to
    telegram_user_id: int
    chat_id: int
    channel: str  # "photo" | "document"
    data: bytes
    media_type: str = "image/jpeg"
    # Taken by staff in person (the sender, `telegram_user_id`, must be staff covering the
    # retiree's region): the only way a photo alone certifies. `place`: where it happened.
    assisted: bool = False
    place: str | None = None


@dataclass(frozen=True)
class VideoNote:
    """A round video sent to answer a liveness challenge."""

    idempotency_key: str
    retiree_id: int | None
    telegram_user_id: int
    chat_id: int
    data: bytes
    forwarded: bool = False  # Telegram marks forwarded messages: not filmed by the sender now
    media_type: str = "video/mp4"


class ReadinessState(StrEnum):
    """Whether someone may certify now; every state but READY says why not."""

    READY = "ready"
    NOT_BOUND = "not_bound"  # no retiree is bound to this Telegram account
    CHOOSE = "choose"  # bound to several retirees: which one certifies?
    NO_CONSENT = "no_consent"  # consent to face checks not (or no longer) given
    NO_REFERENCE = "no_reference"  # no reference face on file to compare with
    IN_REVIEW = "in_review"  # a case is open with staff
    IN_PERSON_NEEDED = "in_person_needed"  # staff found an audited pass doubtful: with staff next
    NOT_STAFF = "not_staff"  # assisted: the sender is not staff of the retiree's region
    UNKNOWN_RETIREE = "unknown_retiree"  # assisted: no such retiree
    DEATH_REPORTED = "death_reported"  # assisted: a death was reported for this retiree


@dataclass(frozen=True)
class Readiness:
    """Whether someone may certify now, and for whom."""

    state: ReadinessState
    retiree_id: int | None = None
    retiree_name: str | None = field(default=None, repr=False)
    choices: list[tuple[int, str]] = field(default_factory=list)


class CertificationService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        faces: FaceChecker,
        cycle: CycleKeeper,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Clock = utc_now,
        cohort_size: int = MAX_COHORT,
        region_code: str | None = None,
        challenges: ChallengeService | None = None,
        auditor: PassAuditor | None = None,
    ) -> None:
        # cohort_size: other retirees' templates (same residence region) loaded with each
        # check for score normalisation; 0 = none (every decision on the raw score).
        self._cohort_size = max(0, cohort_size)
        self._uow_factory = uow_factory
        self._vault = vault
        self._faces = faces
        self._clock = clock
        # auditor: scores each self-service pass and queues some for staff (None: no queue).
        self._attempts = AttemptBook(
            uow_factory,
            vault,
            cycle,
            timezone=timezone,
            clock=clock,
            region_code=region_code,
            auditor=auditor,
        )
        self.challenges = challenges or ChallengeService(uow_factory, clock=clock)

    async def readiness(self, telegram_user_id: int, retiree_id: int | None = None) -> Readiness:
        async with self._uow_factory() as uow:
            bindings = await uow.bindings.active_for_user(telegram_user_id)
            if not bindings:
                return Readiness(ReadinessState.NOT_BOUND)
            bound = {binding.retiree_id for binding in bindings}
            if retiree_id is None:
                if len(bound) > 1:
                    choices = [
                        (b.retiree_id, (await uow.retirees.existing(b.retiree_id)).name) for b in bindings
                    ]
                    return Readiness(ReadinessState.CHOOSE, choices=choices)
                retiree_id = bindings[0].retiree_id
            if retiree_id not in bound:
                return Readiness(ReadinessState.NOT_BOUND)
            retiree = await uow.retirees.existing(retiree_id)  # one of the bindings' retirees
            consent = await uow.consents.current(retiree_id)
            if consent is None or consent.decision != "agree":
                return Readiness(ReadinessState.NO_CONSENT, retiree_id, retiree.name)
            if not await uow.faces.references(retiree_id):
                return Readiness(ReadinessState.NO_REFERENCE, retiree_id, retiree.name)
            if await uow.reviews.open_for_retiree(retiree_id, because=SELF_SERVICE_PAUSED_BY):
                return Readiness(ReadinessState.IN_REVIEW, retiree_id, retiree.name)
            if audit_suspension_open(await uow.suspensions.open_for_retiree(retiree_id)):
                # An audited pass was found doubtful: the next certification is with staff.
                return Readiness(ReadinessState.IN_PERSON_NEEDED, retiree_id, retiree.name)
            return Readiness(ReadinessState.READY, retiree_id, retiree.name)

    async def readiness_assisted(self, staff_user_id: int, retiree_id: int) -> Readiness:
        """Whether staff may certify this retiree in person now: active staff whose region
        covers the retiree's residence, and a reference face on file. Consent is given in
        person (the staff member confirms it before the photo is taken)."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.by_telegram_user(staff_user_id)
            retiree = await uow.retirees.get(retiree_id)
            if retiree is None:
                return Readiness(ReadinessState.UNKNOWN_RETIREE)
            if staff is None or not staff.active or not covers(staff.region_code, retiree.residence_region):
                return Readiness(ReadinessState.NOT_STAFF, retiree_id, retiree.name)
            if not await uow.faces.references(retiree_id):
                return Readiness(ReadinessState.NO_REFERENCE, retiree_id, retiree.name)
            if await uow.life_events.pending_for_retiree(retiree_id, "death"):
                # A relative reported this retiree dead: staff settle that report first.
                return Readiness(ReadinessState.DEATH_REPORTED, retiree_id, retiree.name)
            return Readiness(ReadinessState.READY, retiree_id, retiree.name)

    async def start(
        self, telegram_user_id: int, retiree_id: int | None = None
    ) -> tuple[Readiness, Challenge | None]:
        """The ✅ button: whether the sender may certify, and if so a new challenge to film."""
        readiness = await self.readiness(telegram_user_id, retiree_id)
        if readiness.state is not ReadinessState.READY:
            return readiness, None
        assert readiness.retiree_id is not None  # a READY readiness names its retiree
        return readiness, await self.challenges.issue(readiness.retiree_id, telegram_user_id)

    # --- a photo, taken by staff in person

    async def submit_selfie(self, selfie: Selfie) -> CertificationResult:
        earlier = await self._attempts.earlier_answer(selfie.idempotency_key)
        if earlier is not None:
            return earlier
        if not selfie.assisted:
            # A photo can be an old picture of someone who has died: on their own, retirees
            # certify by video note (liveness). Nothing is counted against them.
            return CertificationResult(Outcome.REFUSED, "video_needed")
        if selfie.retiree_id is None:
            raise ValueError("an assisted certification names the retiree")
        readiness = await self.readiness_assisted(selfie.telegram_user_id, selfie.retiree_id)
        if readiness.state is not ReadinessState.READY:
            return CertificationResult(Outcome.REFUSED, readiness.state)
        async with self._uow_factory() as uow:
            references = await load_reference_set(uow, self._vault, selfie.retiree_id, self._cohort_size)
            staff = await uow.staff.by_telegram_user(selfie.telegram_user_id)
        # readiness_assisted found this account's staff member (READY), and staff rows are
        # never deleted (only deactivated).
        assert staff is not None
        try:
            verdict = await self._faces.verify(
                references.templates,
                [selfie.data],
                reference_weights=references.weights,
                cohort=references.cohort,
            )
        except FaceWorkError as error:
            return await self._busy(error)
        if verdict.reason in MEDIA_REASONS:
            await self._bad_file(
                selfie.chat_id, selfie.channel, selfie.data, str(verdict.reason), verdict.evidence_sha256
            )
        capture = Capture(
            selfie.idempotency_key,
            selfie.retiree_id,
            selfie.telegram_user_id,
            selfie.chat_id,
            selfie.channel,
            selfie.data,
            selfie.media_type,
        )
        attempt = CertificationAttempt(
            outcome=AttemptOutcome(verdict.verdict),
            reason=str(verdict.reason),
            distance=verdict.distance,
            quality=plain_figures(verdict.quality)
            | {"timings": verdict.timings, "engine": verdict.engine, "scores": verdict.scores},
            evidence_sha256=verdict.evidence_sha256,
            staff_id=staff.id,
        )
        how = CertifiedBy("assisted_photo", staff.id, selfie.place)
        return await self._attempts.settle(capture, attempt, how, keep_evidence=verdict.verdict != "retry")

    async def refuse_file(self, chat_id: int, channel: str, code: str, size: int) -> None:
        """A file refused before it was even fetched (too large): an error record only."""
        await record_error(self._uow_factory, "selfie", code, f"{channel}, {size} bytes", chat_id=chat_id)

    # --- a video note answering a liveness challenge

    async def submit_video(self, note: VideoNote) -> CertificationResult:
        """Judges a video note against the sender's open challenge. Where the person should
        film again (a failed try with tries left, a challenge expired, used or never asked
        for), the result carries a new challenge: stepwise after a failed try."""
        result, retiree_id = await self._judge_video(note)
        if result.outcome is Outcome.NOT_PASSED or result.reason in NEW_CHALLENGE_REASONS:
            # Known once readiness was checked; a repeated answer names nobody: look again.
            retiree_id = retiree_id or (await self.readiness(note.telegram_user_id)).retiree_id
            if retiree_id is not None:
                challenge = await self.challenges.issue(retiree_id, note.telegram_user_id)
                result = replace(result, challenge=challenge)
        return result

    async def _judge_video(self, note: VideoNote) -> tuple[CertificationResult, int | None]:
        """The result, and for whom (None when nobody was found ready)."""
        earlier = await self._attempts.earlier_answer(note.idempotency_key)
        if earlier is not None:
            return earlier, note.retiree_id
        readiness = await self.readiness(note.telegram_user_id, note.retiree_id)
        if readiness.state is not ReadinessState.READY:
            return CertificationResult(Outcome.REFUSED, readiness.state), None
        retiree_id = readiness.retiree_id
        assert retiree_id is not None  # a READY readiness names its retiree
        return await self._judge_for(note, retiree_id), retiree_id

    async def _judge_for(self, note: VideoNote, retiree_id: int) -> CertificationResult:
        capture = Capture(
            note.idempotency_key,
            retiree_id,
            note.telegram_user_id,
            note.chat_id,
            "video_note",
            note.data,
            note.media_type,
        )
        sha256 = hashlib.sha256(note.data).hexdigest()
        async with self._uow_factory() as uow:
            seen = await seen_exactly(uow, sha256)
        challenge = await self.challenges.current(retiree_id, note.telegram_user_id)
        if seen is not None:
            return await self._refuse_replay(capture, challenge, seen, sha256)
        if challenge is None:
            return CertificationResult(Outcome.REFUSED, "no_challenge")
        if challenge.expired(self._clock()):
            await self._bad_file(note.chat_id, "video_note", note.data, "challenge_expired")
            return CertificationResult(Outcome.REFUSED, "challenge_expired")
        if note.forwarded:
            return await self._refuse_fraud(capture, challenge, "forwarded", sha256)
        # Loaded only for a note that will be judged: the cohort is up to 200 decryptions.
        async with self._uow_factory() as uow:
            references = await load_reference_set(uow, self._vault, retiree_id, self._cohort_size)
        try:
            verdict = await self._faces.judge_video(
                note.data,
                challenge.asked_now,
                references.templates,
                reference_weights=references.weights,
                cohort=references.cohort,
            )
        except FaceWorkError as error:
            return await self._busy(error)
        if verdict.verdict == "retry":
            # Unusable, not suspicious (too short, no face, two people): the challenge stands.
            await self._bad_file(note.chat_id, "video_note", note.data, verdict.reason, sha256)
            attempt = self._video_attempt(verdict, outcome=AttemptOutcome.RETRY)
            return await self._attempts.settle(capture, attempt, None, keep_evidence=False)
        async with self._uow_factory() as uow:
            seen = await seen_similar(uow, "video", verdict.recording)
        if seen is not None:
            return await self._refuse_replay(capture, challenge, seen, sha256, verdict.recording)
        if verdict.verdict == "pass" and not challenge.last_step:
            outcome = AttemptOutcome.STEP  # stepwise: this action done, the next one still to film
        else:
            outcome = AttemptOutcome(verdict.verdict)
        attempt = self._video_attempt(verdict, outcome=outcome)
        return await self._attempts.settle(
            capture,
            attempt,
            CertifiedBy("self_video"),
            keep_evidence=True,
            challenge=challenge,
            fingerprint=verdict.recording,
            missing=tuple(Action(f.action) for f in verdict.actions if not f.seen),
            judged=judged_evidence(verdict) if outcome is AttemptOutcome.PASS else None,
        )

    def _video_attempt(self, verdict: VideoVerdict, *, outcome: AttemptOutcome) -> CertificationAttempt:
        return CertificationAttempt(
            outcome=outcome,
            reason=verdict.reason,
            distance=verdict.distance,
            quality=plain_figures(verdict.figures)
            | {
                "timings": verdict.timings,
                "actions": [finding_figures(f) for f in verdict.actions],
                "match_frames": verdict.match_frames,
            },
            evidence_sha256=verdict.evidence_sha256,
        )

    async def _refuse_replay(
        self,
        capture: Capture,
        challenge: Challenge | None,
        seen: SeenBefore,
        sha256: str,
        recording: Recording = NO_RECORDING,
    ) -> CertificationResult:
        # The retiree's own earlier video sent again (a double tap, a confused resend) is
        # refused without counting against them; anyone else's counts as a failed try.
        own = seen.retiree_id == capture.retiree_id
        return await self._refuse_fraud(
            capture, challenge, "replay", sha256, recording, counted=not own, detail={"how": seen.how}
        )

    async def _refuse_fraud(
        self,
        capture: Capture,
        challenge: Challenge | None,
        reason: str,
        sha256: str,
        recording: Recording = NO_RECORDING,
        *,
        counted: bool = True,
        detail: dict[str, Any] | None = None,
    ) -> CertificationResult:
        """A refusal on a fraud cue: recorded as an attempt with its reason, and as an error
        record for staff; the challenge is used up."""
        await self._bad_file(capture.chat_id, capture.channel, capture.data, reason, sha256)
        attempt = CertificationAttempt(
            outcome=AttemptOutcome.FAIL if counted else AttemptOutcome.REFUSED,
            reason=reason,
            quality=detail or {},
            evidence_sha256=sha256,
        )
        return await self._attempts.settle(
            capture,
            attempt,
            None,
            keep_evidence=counted,
            challenge=challenge if counted else None,  # a resend of one's own: the challenge stands
            fingerprint=recording,
        )

    # --- shared by both media

    async def _busy(self, error: FaceWorkError) -> CertificationResult:
        # Nothing is recorded as an attempt: the person did nothing wrong and may resend.
        await record_error(self._uow_factory, "selfie", "face_work_failed", type(error).__name__)
        return CertificationResult(Outcome.REFUSED, "busy")

    async def _bad_file(
        self, chat_id: int, channel: str, data: bytes, code: str, sha256: str | None = None
    ) -> None:
        await record_error(
            self._uow_factory,
            "selfie",
            code,
            f"{channel}, {len(data)} bytes",
            chat_id=chat_id,
            context={"evidence_sha256": sha256 or hashlib.sha256(data).hexdigest()},
        )
