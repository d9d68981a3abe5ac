"""Home visits and certification in person.

A retiree who cannot certify alone (cannot film, failed tries, in hospital) — or a helper
for them — asks staff of the region of residence to come; one open request per retiree.
Staff see the open requests their region covers, oldest first, and close each one either by
certifying the retiree in person (a photo they take there: `certify_in_person`) or with
what happened ("not at home", "could not certify"), which is a verification record too.

Certification in person is the only way a photo alone certifies (verification.certification.service):
staff find the retiree by the ID number they read from the card, say where they are, confirm
the retiree agrees to the face check, and take the photo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from accounts.binding import bound_retirees, normalise_id_input
from kernel.clock import Clock, utc_now
from kernel.idnumber import IdReason, ValidIdNumber, check_id_number, mask_id_number
from kernel.permissions import NotStaff
from kernel.regions import covers
from storage.models import Retiree
from storage.models.care import HomeVisitRequest
from storage.models.certification import AuditEntry, StaffMember
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.certification.attempts import CertificationResult, Outcome
from verification.certification.service import Selfie
from verification.records.chain import append_record

REASONS = ("cannot_film", "failed_tries", "hospital", "other")
# What a visit that did not end in a certification found.
OUTCOMES = ("not_home", "could_not_certify")
MAX_NOTE = 500


class Certifier(Protocol):
    async def submit_selfie(self, selfie: Selfie) -> CertificationResult: ...


class VisitState(StrEnum):
    """Where a request for a home visit stands, for the person asking."""

    CAN_ASK = "can_ask"  # the retiree is theirs and has no open request: ask the reason
    ASKED = "asked"
    ALREADY = "already"  # a request is open already
    NOT_BOUND = "not_bound"  # the person helps no retiree
    CHOOSE = "choose"  # they help several: which one


class FoundState(StrEnum):
    """Whom staff are about to certify in person: found, or why not."""

    FOUND = "found"
    MALFORMED = "malformed"  # the ID number is not a valid one
    NOT_FOUND = "not_found"  # not on file, or outside the staff member's region
    NOT_STAFF = "not_staff"
    CLOSED = "closed"  # the visit request was closed meanwhile


@dataclass(frozen=True)
class VisitAsked:
    state: VisitState
    retiree_id: int | None = None
    retiree_name: str | None = field(default=None, repr=False)
    choices: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class VisitView:
    """One open request, for staff."""

    request_id: int
    retiree_id: int
    retiree_name: str = field(repr=False)
    masked_id_number: str = field(repr=False)
    residence_region: str
    reason: str
    requested_at: datetime
    note: str | None = field(repr=False)


@dataclass(frozen=True)
class RetireeFound:
    """Whom staff are about to certify in person."""

    state: FoundState
    retiree_id: int | None = None
    retiree_name: str | None = field(default=None, repr=False)
    masked_id_number: str | None = field(default=None, repr=False)
    id_problem: IdReason | None = None
    request_id: int | None = None


async def open_request(
    uow: UnitOfWork,
    vault: PersonalDataVault,
    retiree: Retiree,
    *,
    reason: str,
    requested_by: int | None,
    note: str | None,
    at: datetime,
) -> tuple[HomeVisitRequest, bool]:
    """The retiree's open request, or a new one in the caller's unit of work; True if new."""
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {REASONS}")
    existing = await uow.home_visits.open_for_retiree(retiree.id)
    if existing is not None:
        return existing, False
    note = (note or "").strip()[:MAX_NOTE]
    request = HomeVisitRequest(
        retiree_id=retiree.id,
        region_code=retiree.residence_region,
        requested_at=at,
        requested_by=requested_by,
        reason=reason,
        note_encrypted=vault.encrypt(note) if note else None,
        state="open",
    )
    uow.home_visits.add(request)
    await uow.flush()
    return request, True


class HomeVisitService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        certification: Certifier,
        *,
        clock: Clock = utc_now,
        timezone: str = "Asia/Shanghai",
        region_code: str | None = None,
    ) -> None:
        self._region_code = region_code  # the chain verification records are appended to
        self._uow_factory = uow_factory
        self._vault = vault
        self._certification = certification
        self._clock = clock
        self._zone = ZoneInfo(timezone)

    # ------------------------------------------------------------------ retirees and helpers

    async def can_ask(self, telegram_user_id: int, retiree_id: int | None = None) -> VisitAsked:
        """Whether this account may ask for a visit now, and for whom."""
        async with self._uow_factory() as uow:
            return await self._whom(uow, telegram_user_id, retiree_id)

    async def ask(
        self, telegram_user_id: int, retiree_id: int | None, reason: str, note: str | None = None
    ) -> VisitAsked:
        """Ask for a home visit; asking again while one is open changes nothing."""
        async with self._uow_factory() as uow:
            whom = await self._whom(uow, telegram_user_id, retiree_id)
            if whom.state is not VisitState.CAN_ASK:
                return whom
            assert whom.retiree_id is not None  # "can_ask" names the retiree
            retiree = await uow.retirees.existing(whom.retiree_id)
            request, new = await open_request(
                uow,
                self._vault,
                retiree,
                reason=reason,
                requested_by=telegram_user_id,
                note=note,
                at=self._clock(),
            )
            if not new:
                return VisitAsked(VisitState.ALREADY, retiree.id, retiree.name)
            uow.audit.add(
                AuditEntry(
                    actor=f"user:{telegram_user_id}",
                    action="home_visit_requested",
                    retiree_id=retiree.id,
                    detail={"request_id": request.id, "reason": reason},
                )
            )
            await uow.commit()
            return VisitAsked(VisitState.ASKED, retiree.id, retiree.name)

    async def _whom(self, uow: UnitOfWork, telegram_user_id: int, retiree_id: int | None) -> VisitAsked:
        bound = await bound_retirees(uow, telegram_user_id)
        if retiree_id is None and len(bound) > 1:
            return VisitAsked(VisitState.CHOOSE, choices=bound)
        if retiree_id is None and bound:
            [(retiree_id, _)] = bound
        if retiree_id is None or retiree_id not in dict(bound):
            return VisitAsked(VisitState.NOT_BOUND)
        retiree = await uow.retirees.existing(retiree_id)  # one this account is bound to
        if await uow.home_visits.open_for_retiree(retiree_id) is not None:
            return VisitAsked(VisitState.ALREADY, retiree_id, retiree.name)
        return VisitAsked(VisitState.CAN_ASK, retiree_id, retiree.name)

    # ------------------------------------------------------------------ staff

    async def open_visits(self, staff_user_id: int, limit: int = 20) -> list[VisitView]:
        """The open requests of the regions this staff member covers, oldest first."""
        async with self._uow_factory() as uow:
            staff = await _staff(uow, staff_user_id)
            views = []
            for request in await uow.home_visits.open_oldest():
                if not covers(staff.region_code, request.region_code):
                    continue
                retiree = await uow.retirees.existing(request.retiree_id)
                views.append(
                    VisitView(
                        request.id,
                        retiree.id,
                        retiree.name,
                        mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted)),
                        retiree.residence_region,
                        request.reason,
                        request.requested_at,
                        self._vault.decrypt_text(request.note_encrypted) if request.note_encrypted else None,
                    )
                )
                if len(views) >= limit:
                    break
            return views

    async def retiree_by_id_number(self, staff_user_id: int, typed: str) -> RetireeFound:
        """The retiree whose ID number staff typed, if their region covers them. A number not
        on file and one outside the region get the same answer."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.by_telegram_user(staff_user_id)
            if staff is None:
                return RetireeFound(FoundState.NOT_STAFF)
            checked = check_id_number(normalise_id_input(typed), today=self._today())
            if not isinstance(checked, ValidIdNumber):
                return RetireeFound(FoundState.MALFORMED, id_problem=checked.reason)
            retiree = await uow.retirees.by_id_hash(self._vault.lookup_hash(checked.number))
            if retiree is None or not covers(staff.region_code, retiree.residence_region):
                return RetireeFound(FoundState.NOT_FOUND)
            return RetireeFound(FoundState.FOUND, retiree.id, retiree.name, mask_id_number(checked.number))

    async def retiree_to_visit(self, staff_user_id: int, request_id: int) -> RetireeFound:
        """The retiree of an open request, for staff who are about to certify them."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.by_telegram_user(staff_user_id)
            request = await uow.home_visits.get(request_id)
            if staff is None or (request and not covers(staff.region_code, request.region_code)):
                return RetireeFound(FoundState.NOT_STAFF)
            if request is None or request.state != "open":
                return RetireeFound(FoundState.CLOSED)
            retiree = await uow.retirees.existing(request.retiree_id)
            masked = mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted))
            return RetireeFound(FoundState.FOUND, retiree.id, retiree.name, masked, request_id=request.id)

    async def certify_in_person(self, selfie: Selfie) -> CertificationResult:
        """A photo staff took in person; a certification closes the retiree's open visit
        request (whether or not the visit began from it: they need no visit any more)."""
        if not selfie.assisted or selfie.retiree_id is None:
            raise ValueError("an in-person photo is assisted and names the retiree")
        result = await self._certification.submit_selfie(selfie)
        if result.outcome is Outcome.CERTIFIED:
            await self._close_with_certification(selfie.telegram_user_id, selfie.retiree_id)
        return result

    async def _close_with_certification(self, staff_user_id: int, retiree_id: int) -> None:
        async with self._uow_factory() as uow:
            request = await uow.home_visits.open_for_retiree(retiree_id)
            if request is None:
                return
            staff = await uow.staff.by_telegram_user(staff_user_id)
            certification = await uow.certifications.latest(retiree_id)
            request.state, request.done_at = "done", self._clock()
            request.staff_id = staff.id if staff else None
            request.certification_id = certification.id if certification else None
            await uow.commit()

    async def visited_not_certified(self, staff_user_id: int, request_id: int, outcome: str) -> bool:
        """Close a request after a visit that did not certify; False if it was not open."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await _staff(uow, staff_user_id)
            request = await uow.home_visits.get(request_id)
            if request is None or request.state != "open":
                return False
            if not covers(staff.region_code, request.region_code):
                raise NotStaff(staff_user_id)
            request.state, request.done_at, request.staff_id = "done", now, staff.id
            retiree = await uow.retirees.existing(request.retiree_id)
            uow.audit.add(
                AuditEntry(
                    actor=f"staff:{staff.id}",
                    action="home_visit_done",
                    retiree_id=retiree.id,
                    detail={"request_id": request.id, "outcome": outcome},
                )
            )
            await append_record(
                uow,
                region=self._region_code,
                event="assisted_visit",
                retiree=retiree,
                method="home_visit",
                at=now,
                staff_id=staff.id,
                detail={"outcome": outcome},
            )
            await uow.commit()
            return True

    def _today(self) -> date:
        return self._clock().astimezone(self._zone).date()


async def _staff(uow: UnitOfWork, telegram_user_id: int) -> StaffMember:
    staff = await uow.staff.by_telegram_user(telegram_user_id)
    if staff is None:
        raise NotStaff(telegram_user_id)
    return staff
