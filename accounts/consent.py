"""The separate consent to face recognition, its withdrawal, and what is held about a person.

Face templates and ID numbers are sensitive personal information (Personal Information
Protection Law): face recognition needs its own consent, and there must be a way to certify
without the face. The three answers to the consent screen:

- "agree": selfies may be compared with the reference face;
- "not_now": nothing happens; the person can decide later;
- "no_face": the person asks for assisted certification by community staff (at the office,
  by phone, or a home visit); a review case "assisted_requested" puts the request before
  staff. (Real home-visit scheduling comes later.) Agreeing later withdraws that request
  when a reference face is on file (the photo route is then open).

Withdrawing consent deletes, in one transaction, every face template and every stored photo
of the retiree; the certification attempts keep only the hash of the photo and the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from kernel.clock import Clock, as_utc, utc_now
from kernel.idnumber import mask_id_number
from storage.models.certification import AuditEntry, Consent, ReviewCase
from storage.uow import UnitOfWork, UnitOfWorkFactory

# The version of the consent text in the catalogs (consent.text). A consent records the
# version it was given to; change this together with the text.
CONSENT_TEXT_VERSION = "2026-12"  # video notes and liveness (issue 5)

DECISIONS = ("agree", "not_now", "no_face")
ASSISTED_REQUESTED = "assisted_requested"

# How long personal data is kept (PIPL: no longer than the purpose needs):
# - evidence (the photos sent to certify) is kept until the review it may belong to has been
#   decided, and at most EVIDENCE_RETENTION_DAYS days after it was taken;
# - face templates (the reference faces) are kept until consent is withdrawn or the pension
#   ends, whichever comes first;
# - attempts keep only the SHA-256 of the photo and the outcome, as the record of what was done.
EVIDENCE_RETENTION_DAYS = 180
RETENTION_RULE = (
    f"evidence: until its review is decided, at most {EVIDENCE_RETENTION_DAYS} days; "
    "face templates: until consent is withdrawn or the pension ends"
)


class NotBound(PermissionError):
    """The Telegram account is not (or no longer) bound to that retiree."""


@dataclass(frozen=True)
class ConsentRecorded:
    retiree_id: int
    decision: str
    text_version: str
    review_case_id: int | None = None  # the assisted request opened (no_face) or withdrawn (agree)


@dataclass(frozen=True)
class WithdrawalReport:
    retiree_id: int
    templates_deleted: int
    photos_deleted: int
    consents_withdrawn: int
    withdrawn_at: datetime


@dataclass(frozen=True)
class PrivacySummary:
    """What is held about one retiree bound to the asking account, and on what terms."""

    retiree_id: int
    name: str = field(repr=False)
    binding_kind: str  # how the asking account is bound: "self" | "helper"
    masked_id_number: str = field(repr=False)
    phone_on_file: bool = field(repr=False)
    face_templates: int
    stored_photos: int
    attempts: int
    certifications: int
    consent_state: str  # "none" | "agree" | "not_now" | "no_face" | "withdrawn"
    consent_on: date | None  # local date of that decision (or of the withdrawal)
    consent_version: str | None
    pension_region: str  # the paying agency's region: its agency sees the data
    residence_region: str  # community staff of this region see it
    linked_accounts: int = field(repr=False)  # Telegram accounts bound to the retiree (self and helpers)
    evidence_retention_days: int = EVIDENCE_RETENTION_DAYS


class ConsentService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock = utc_now,
        *,
        vault=None,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._vault = vault  # to show the masked ID number in the summary
        self._zone = ZoneInfo(timezone)

    async def has_consent(self, retiree_id: int) -> bool:
        """True while the newest decision is "agree" and it has not been withdrawn."""
        async with self._uow_factory() as uow:
            consent = await uow.consents.current(retiree_id)
            return consent is not None and consent.decision == "agree"

    async def record(self, telegram_user_id: int, retiree_id: int, decision: str) -> ConsentRecorded:
        """The answer to the consent screen, by an account bound to the retiree."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}")
        now = self._clock()
        async with self._uow_factory() as uow:
            await _require_binding(uow, telegram_user_id, retiree_id)
            uow.consents.add(
                Consent(
                    retiree_id=retiree_id,
                    telegram_user_id=telegram_user_id,
                    decision=decision,
                    text_version=CONSENT_TEXT_VERSION,
                    given_at=now,
                )
            )
            case_id = None
            case = await uow.reviews.open_for_retiree_because(retiree_id, ASSISTED_REQUESTED)
            if decision == "no_face":
                if case is None:
                    case = ReviewCase(retiree_id=retiree_id, opened_at=now, opened_because=ASSISTED_REQUESTED)
                    uow.reviews.add(case)
                    await uow.flush()
                case_id = case.id
            elif decision == "agree" and case is not None and await uow.faces.count_for_retiree(retiree_id):
                # They asked for staff help before, and can now certify by photo instead: the
                # request leaves the staff queue (it would otherwise hold the selfie back).
                case.status, case.decided_at = "withdrawn", now
                case.decision_reason = "the retiree chose to certify by photo"
                case_id = case.id
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor=f"user:{telegram_user_id}",
                    action=f"consent_{decision}",
                    retiree_id=retiree_id,
                    detail={"text_version": CONSENT_TEXT_VERSION, "review_case_id": case_id},
                )
            )
            await uow.commit()
            return ConsentRecorded(retiree_id, decision, CONSENT_TEXT_VERSION, case_id)

    async def withdraw(self, retiree_id: int, telegram_user_id: int) -> WithdrawalReport:
        """Withdraw consent and delete every face template and stored photo of the retiree,
        all in one transaction, with an audit entry of what was deleted."""
        now = self._clock()
        async with self._uow_factory() as uow:
            await _require_binding(uow, telegram_user_id, retiree_id)
            templates = await uow.faces.delete_for_retiree(retiree_id)
            photos = await uow.evidence.delete_for_retiree(retiree_id)
            consents = await uow.consents.withdraw_all(retiree_id, now)
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor=f"user:{telegram_user_id}",
                    action="consent_withdrawn",
                    retiree_id=retiree_id,
                    detail={
                        "templates_deleted": templates,
                        "photos_deleted": photos,
                        "consents_withdrawn": consents,
                    },
                )
            )
            await uow.commit()
            return WithdrawalReport(retiree_id, templates, photos, consents, now)

    async def privacy_summary(self, telegram_user_id: int) -> list[PrivacySummary]:
        async with self._uow_factory() as uow:
            summaries = []
            for binding in await uow.bindings.active_for_user(telegram_user_id):
                retiree = await uow.retirees.existing(binding.retiree_id)
                latest = await uow.consents.latest(retiree.id)
                if latest is None:
                    state, at, version = "none", None, None
                elif latest.withdrawn_at is not None:
                    state, at, version = "withdrawn", latest.withdrawn_at, latest.text_version
                else:
                    state, at, version = latest.decision, latest.given_at, latest.text_version
                summaries.append(
                    PrivacySummary(
                        retiree_id=retiree.id,
                        name=retiree.name,
                        binding_kind=binding.kind,
                        masked_id_number=self._masked(retiree.id_number_encrypted),
                        phone_on_file=retiree.phone_encrypted is not None,
                        face_templates=await uow.faces.count_for_retiree(retiree.id),
                        stored_photos=await uow.evidence.count_for_retiree(retiree.id),
                        attempts=await uow.attempts.count_for_retiree(retiree.id),
                        certifications=await uow.certifications.count_for_retiree(retiree.id),
                        consent_state=state,
                        consent_on=as_utc(at).astimezone(self._zone).date() if at else None,
                        consent_version=version,
                        pension_region=retiree.pension_region,
                        residence_region=retiree.residence_region,
                        linked_accounts=len(await uow.bindings.active_for_retiree(retiree.id)),
                    )
                )
            return summaries

    def _masked(self, id_number_encrypted: bytes) -> str:
        if self._vault is None:
            return "*" * 18
        return mask_id_number(self._vault.decrypt_text(id_number_encrypted))


async def _require_binding(uow: UnitOfWork, telegram_user_id: int, retiree_id: int) -> None:
    binding = await uow.bindings.for_user_and_retiree(telegram_user_id, retiree_id)
    if binding is None or binding.revoked_at is not None:
        raise NotBound(retiree_id)
