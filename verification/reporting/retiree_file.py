"""A retiree's file for staff in the console: who they are (the ID number masked), where
their cycle stands, their history as the verification records tell it (this region's and
what other regions sent), who helps them in the chat, and their consent to face checks.

Only staff whose region covers the retiree's residence may open it, and each look is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from kernel.clock import Clock, as_utc, utc_now
from kernel.idnumber import mask_id_number
from kernel.permissions import NotStaff
from kernel.regions import covers
from storage.models.certification import AuditEntry
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWorkFactory


@dataclass(frozen=True)
class HistoryLine:
    occurred_at: str  # ISO 8601 UTC, as the record holds it
    event: str
    method: str
    origin_region: str  # the region whose chain holds the record


@dataclass(frozen=True)
class HelperLine:
    kind: str  # "self" | "helper"
    since: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class RetireeFile:
    retiree_id: int
    name: str = field(repr=False)
    masked_id_number: str = field(repr=False)
    birth_date: date = field(repr=False)
    residence_region: str
    pension_region: str
    due_on: date | None
    last_certified_on: date | None
    payment_state: str
    has_reference_photo: bool
    consent: str | None  # the latest decision ("agree", "not_now", "no_face"), None if never asked
    consent_withdrawn: bool
    history: list[HistoryLine]
    helpers: list[HelperLine]


class RetireeFileService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, vault: PersonalDataVault, clock: Clock = utc_now
    ) -> None:
        self._uow_factory = uow_factory
        self._vault = vault
        self._clock = clock

    async def open(self, telegram_user_id: int, retiree_id: int) -> RetireeFile | None:
        """The file, for a staff member of the retiree's region (NotStaff for anyone else);
        None if there is no such retiree."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(telegram_user_id)
            retiree = await uow.retirees.get(retiree_id)
            if retiree is None:
                return None
            if not covers(staff.region_code, retiree.residence_region):
                raise NotStaff(telegram_user_id)
            own = await uow.retiree_files.records(retiree.id_number_hash)
            received = await uow.retiree_files.received(retiree.id_number_hash)
            history = [HistoryLine(r.occurred_at, r.event, r.method, r.region) for r in own]
            history += [
                HistoryLine(r.occurred_at, r.event, str(r.body.get("method", "")), r.origin_region)
                for r in received
            ]
            history.sort(key=lambda line: line.occurred_at, reverse=True)
            helpers = [
                HelperLine(b.kind, as_utc(b.created_at), as_utc(b.revoked_at) if b.revoked_at else None)
                for b in await uow.retiree_files.bindings(retiree.id)
            ]
            consent = await uow.retiree_files.latest_consent(retiree.id)
            uow.audit.add(
                AuditEntry(
                    at=self._clock(),
                    actor=f"staff:{staff.id}",
                    action="console_viewed_retiree",
                    retiree_id=retiree.id,
                    detail={},
                )
            )
            await uow.commit()
            return RetireeFile(
                retiree.id,
                retiree.name,
                mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted)),
                retiree.birth_date,
                retiree.residence_region,
                retiree.pension_region,
                retiree.due_on,
                retiree.last_certified_on,
                retiree.payment_state,
                retiree.reference_photo_path is not None,
                consent.decision if consent else None,
                bool(consent and consent.withdrawn_at),
                history,
                helpers,
            )
