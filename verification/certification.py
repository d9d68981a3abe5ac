"""Remote certification by photo: one selfie in, one decision out, everything recorded.

The flow of one selfie (ARCHITECTURE.md, "One certification"): who is certifying and whether
they may (bound, consented, a reference on file, no case awaiting staff) → the face check in a
worker process, outside any transaction → in ONE transaction: the attempt, the encrypted
evidence, and either the certification (with the cycle moved on) or, after the third failed
match, a review case for staff.

Each attempt carries the key of the Telegram message that brought it. When the process dies
mid-check, Telegram delivers the same update again: if the attempt was written, the same
answer is given again; if not, the check runs again. Nothing is counted twice.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kernel.clock import Clock, utc_now
from storage.certification_models import (
    Certification,
    CertificationAttempt,
    Evidence,
    ReferenceFace,
    ReviewCase,
)
from storage.errors import record_error
from storage.models import Retiree
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.faces.pipeline import ReferenceTemplate, SelfieVerdict
from verification.faces.pool import FaceWorkError
from verification.faces.reasons import Reason
from verification.faces.scoring import MAX_COHORT, quality_weight
from verification.records import append_record

# Three failed matches, then a person looks: an honest retiree whose face the engine rejects
# (age, light, an old reference photo) must not be locked out by the machine alone.
MAX_FAILED_MATCHES = 3
# Failed matches older than this no longer count towards a review case.
FAILURE_WINDOW = timedelta(days=30)
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


@dataclass(frozen=True)
class ReferenceSet:
    """Everything one check compares with: the retiree's references and the region's cohort."""

    templates: list[ReferenceTemplate]
    weights: list[float]  # quality weight of each reference (verification.faces.scoring)
    cohort: np.ndarray | None  # other retirees' templates of the same region and engine


class CycleKeeper(Protocol):
    async def apply_certification(self, uow: UnitOfWork, retiree, certified_on: date): ...


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


@dataclass(frozen=True)
class Readiness:
    """Whether someone may send a selfie now, and for whom."""

    state: str  # "ready" | "not_bound" | "choose" | "no_consent" | "no_reference" | "in_review"
    retiree_id: int | None = None
    retiree_name: str | None = None
    choices: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CertificationResult:
    outcome: str  # "certified" | "retry" | "not_matched" | "review_opened" | "refused"
    reason: str  # a reason code (verification.faces.reasons) or a refusal code
    tries_left: int = 0
    valid_until: date | None = None
    resumed: bool = False
    back_pay_months: list[str] = field(default_factory=list)
    review_case_id: int | None = None
    repeated: bool = False  # the same message was handled before: this is its earlier answer


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
    ) -> None:
        self._region_code = region_code  # the chain verification records are appended to
        # cohort_size: other retirees' templates (same residence region) loaded with each
        # check for score normalisation; 0 = none (every decision on the raw score).
        self._cohort_size = max(0, cohort_size)
        self._uow_factory = uow_factory
        self._vault = vault
        self._faces = faces
        self._cycle = cycle
        self._zone = ZoneInfo(timezone)
        self._clock = clock

    async def readiness(self, telegram_user_id: int, retiree_id: int | None = None) -> Readiness:
        async with self._uow_factory() as uow:
            bindings = await uow.bindings.active_for_user(telegram_user_id)
            if not bindings:
                return Readiness("not_bound")
            bound = {binding.retiree_id for binding in bindings}
            if retiree_id is None:
                if len(bound) > 1:
                    choices = [(b.retiree_id, (await uow.retirees.get(b.retiree_id)).name) for b in bindings]
                    return Readiness("choose", choices=choices)
                retiree_id = bindings[0].retiree_id
            if retiree_id not in bound:
                return Readiness("not_bound")
            retiree = await uow.retirees.get(retiree_id)
            consent = await uow.consents.current(retiree_id)
            if consent is None or consent.decision != "agree":
                return Readiness("no_consent", retiree_id, retiree.name)
            if not await uow.faces.references(retiree_id):
                return Readiness("no_reference", retiree_id, retiree.name)
            if await uow.reviews.open_for_retiree(retiree_id):
                return Readiness("in_review", retiree_id, retiree.name)
            return Readiness("ready", retiree_id, retiree.name)

    async def submit_selfie(self, selfie: Selfie) -> CertificationResult:
        async with self._uow_factory() as uow:
            earlier = await uow.attempts.by_key(selfie.idempotency_key)
            if earlier is not None:
                return await self._result_of(uow, earlier)
        readiness = await self.readiness(selfie.telegram_user_id, selfie.retiree_id)
        if readiness.state != "ready":
            return CertificationResult("refused", readiness.state)
        selfie = replace(selfie, retiree_id=readiness.retiree_id)
        references = await self._references(selfie.retiree_id)
        try:
            verdict = await self._faces.verify(
                references.templates,
                [selfie.data],
                reference_weights=references.weights,
                cohort=references.cohort,
            )
        except FaceWorkError as error:
            # Nothing is recorded as an attempt: the person did nothing wrong and may resend.
            await record_error(self._uow_factory, "selfie", "face_work_failed", type(error).__name__)
            return CertificationResult("refused", "busy")
        if verdict.reason in MEDIA_REASONS:
            await record_error(
                self._uow_factory,
                "selfie",
                str(verdict.reason),
                f"{selfie.channel}, {len(selfie.data)} bytes",
                chat_id=selfie.chat_id,
                context={"evidence_sha256": verdict.evidence_sha256},
            )
        try:
            return await self._record(selfie, verdict)
        except IntegrityError:
            # Another delivery of the same message got there first: give its answer.
            async with self._uow_factory() as uow:
                return await self._result_of(uow, await uow.attempts.by_key(selfie.idempotency_key))

    async def refuse_file(self, chat_id: int, channel: str, code: str, size: int) -> None:
        """A file refused before it was even fetched (too large): an error record only."""
        await record_error(self._uow_factory, "selfie", code, f"{channel}, {size} bytes", chat_id=chat_id)

    async def _references(self, retiree_id: int) -> ReferenceSet:
        """Every reference of the retiree (the roster photo, and any enrolled by staff), each
        weighted by its quality, and the cohort for score normalisation: the newest template
        of up to `cohort_size` other retirees of the same residence region, same engine."""
        async with self._uow_factory() as uow:
            rows = list(await uow.faces.references(retiree_id))
            templates = [
                ReferenceTemplate(
                    self._vault.decrypt(row.template_encrypted),
                    row.engine,
                    row.quality.get("engine_version", ""),
                )
                for row in rows
            ]
            weights = [quality_weight(row.quality or {}) for row in rows]
            cohort = await self._cohort(uow, retiree_id, rows[-1].engine) if self._cohort_size else None
        return ReferenceSet(templates, weights, cohort)

    async def _cohort(self, uow: UnitOfWork, retiree_id: int, engine: str) -> np.ndarray | None:
        region = (await uow.retirees.get(retiree_id)).residence_region
        query = (
            select(ReferenceFace.retiree_id, ReferenceFace.template_encrypted)
            .join(Retiree, Retiree.id == ReferenceFace.retiree_id)
            .where(
                Retiree.residence_region == region,
                ReferenceFace.retiree_id != retiree_id,
                ReferenceFace.engine == engine,
            )
            .order_by(ReferenceFace.id.desc())
            .limit(self._cohort_size * 3)  # a few retirees have several references
        )
        seen: set[int] = set()
        vectors = []
        for other, encrypted in (await uow.session.execute(query)).all():
            if other in seen:
                continue
            seen.add(other)
            vectors.append(np.frombuffer(self._vault.decrypt(encrypted), dtype="<f4"))
            if len(vectors) == self._cohort_size:
                break
        if not vectors or len({v.size for v in vectors}) != 1:
            return None
        # A region with fewer retirees than the pipeline's minimum cohort is still sent: the
        # pipeline then decides on the raw score (see VerifyPolicy.min_cohort) and says so.
        return np.vstack(vectors)

    async def _record(self, selfie: Selfie, verdict: SelfieVerdict) -> CertificationResult:
        now = self._clock()
        async with self._uow_factory() as uow:
            retiree = await uow.retirees.get(selfie.retiree_id)
            helper = next(
                (
                    b.id
                    for b in await uow.bindings.active_for_retiree(retiree.id)
                    if b.telegram_user_id == selfie.telegram_user_id and b.kind == "helper"
                ),
                None,
            )
            attempt = CertificationAttempt(
                idempotency_key=selfie.idempotency_key,
                retiree_id=retiree.id,
                at=now,
                channel=selfie.channel,
                outcome=verdict.verdict,
                reason=str(verdict.reason),
                distance=verdict.distance,
                quality=plain_figures(verdict.quality)
                | {"timings": verdict.timings, "engine": verdict.engine, "scores": verdict.scores},
                evidence_sha256=verdict.evidence_sha256,
                telegram_user_id=selfie.telegram_user_id,
                helper_binding_id=helper,
            )
            uow.attempts.add(attempt)
            await uow.session.flush()
            if verdict.verdict != "retry":  # a readable face: keep it for staff, encrypted
                uow.evidence.add(
                    Evidence(
                        attempt_id=attempt.id,
                        retiree_id=retiree.id,
                        media_type=selfie.media_type,
                        data_encrypted=self._vault.encrypt(selfie.data),
                    )
                )
            result = await self._decide(uow, retiree, attempt, now)
            await uow.commit()
            return result

    async def _decide(self, uow: UnitOfWork, retiree, attempt: CertificationAttempt, now: datetime):
        if attempt.outcome == "retry":
            return CertificationResult(
                "retry", attempt.reason, tries_left=await self._tries_left(uow, retiree, now)
            )
        if attempt.outcome == "pass":
            certified_on = now.astimezone(self._zone).date()
            change = await self._cycle.apply_certification(uow, retiree, certified_on)
            retiree.last_certified_on = certified_on
            uow.certifications.add(
                Certification(
                    retiree_id=retiree.id,
                    certified_at=now,
                    certified_on=certified_on,
                    valid_until=change.due_on,
                    method="self_photo",
                    attempt_id=attempt.id,
                )
            )
            await append_record(
                uow,
                region=self._region_code,
                event="certified",
                retiree=retiree,
                method="self_photo",
                at=now,
                evidence_hash=attempt.evidence_sha256,
            )
            return CertificationResult(
                "certified",
                attempt.reason,
                valid_until=change.due_on,
                resumed=change.resumed,
                back_pay_months=list(change.back_pay_months),
            )
        tries_left = await self._tries_left(uow, retiree, now)
        if tries_left > 0:
            return CertificationResult("not_matched", attempt.reason, tries_left=tries_left)
        case = ReviewCase(retiree_id=retiree.id, opened_at=now, opened_because="failed_matches")
        uow.reviews.add(case)
        await uow.session.flush()
        for failed in await self._counted_failures(uow, retiree, now):
            failed.review_case_id = case.id
        attempt.outcome = "review"
        return CertificationResult("review_opened", attempt.reason, review_case_id=case.id)

    async def _counted_failures(self, uow: UnitOfWork, retiree, now: datetime) -> list[CertificationAttempt]:
        """Failed matches since the last certification, not yet put before staff."""
        since = now - FAILURE_WINDOW
        latest = await uow.certifications.latest(retiree.id)
        if latest is not None:
            since = max(since, _aware(latest.certified_at))
        attempts = await uow.attempts.since(retiree.id, since)
        return [a for a in attempts if a.outcome == "fail" and a.review_case_id is None]

    async def _tries_left(self, uow: UnitOfWork, retiree, now: datetime) -> int:
        return max(0, MAX_FAILED_MATCHES - len(await self._counted_failures(uow, retiree, now)))

    async def _result_of(self, uow: UnitOfWork, attempt: CertificationAttempt) -> CertificationResult:
        if attempt.outcome == "pass":
            certification = await uow.certifications.latest(attempt.retiree_id)
            valid_until = certification.valid_until if certification else None
            return CertificationResult("certified", attempt.reason, valid_until=valid_until, repeated=True)
        if attempt.outcome == "review":
            return CertificationResult(
                "review_opened", attempt.reason, review_case_id=attempt.review_case_id, repeated=True
            )
        outcome = "retry" if attempt.outcome == "retry" else "not_matched"
        return CertificationResult(outcome, attempt.reason, repeated=True)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored here is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plain_figures(figures: dict) -> dict:
    """Quality figures as JSON can store them (numpy numbers become floats)."""

    def plain(value):
        if isinstance(value, bool | str) or value is None:
            return value
        return float(value) if isinstance(value, numbers.Real) else str(value)

    return {key: plain(value) for key, value in figures.items()}
