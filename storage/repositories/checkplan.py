"""Repository of the check plan: on-site checks proposed, assigned and done, and what the plan
reads of other tables to count coverage (the verification records, own and received) and to
rank retirees (life signals, certifications, bindings, pass audits, deaths)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Retiree
from storage.models.care import LifeEventReport
from storage.models.certification import (
    Binding,
    Certification,
    CertificationAttempt,
    PassAudit,
    StaffMember,
    Suspension,
)
from storage.models.checkplan import OnSiteCheck
from storage.models.records import ReceivedRecord, VerificationRecord
from storage.models.signals import DeathRecord, LifeSignal

# Ids per IN (...) list: well under every server's limit on bound parameters.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class RosterEntry:
    id: int
    id_number_hash: str
    residence_region: str
    birth_date: date


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What coverage needs of one verification record, from this region's chain or received."""

    retiree_hash: str
    event: str
    method: str
    detail: dict[str, Any]
    occurred_at: str


class CheckPlanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, check: OnSiteCheck) -> None:
        self._session.add(check)

    async def get(self, check_id: int) -> OnSiteCheck | None:
        return await self._session.get(OnSiteCheck, check_id)

    async def get_for_update(self, check_id: int) -> OnSiteCheck | None:
        """The check, locked until the transaction ends (two staff recording at once)."""
        query = select(OnSiteCheck).where(OnSiteCheck.id == check_id).with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    # --- the checks

    async def checks(
        self,
        *,
        quarter: str | None = None,
        year: int | None = None,
        region_start: str = "",
        states: Collection[str] | None = None,
        staff_id: int | None = None,
    ) -> Sequence[OnSiteCheck]:
        """Checks by quarter (or year), residence region prefix, state and staff member; the
        highest score first."""
        query = select(OnSiteCheck)
        if quarter is not None:
            query = query.where(OnSiteCheck.quarter == quarter)
        if year is not None:
            query = query.where(OnSiteCheck.quarter.startswith(f"{year}Q"))
        if region_start:
            query = query.where(OnSiteCheck.region.startswith(region_start))
        if states is not None:
            query = query.where(OnSiteCheck.state.in_(list(states)))
        if staff_id is not None:
            query = query.where(OnSiteCheck.staff_id == staff_id)
        query = query.order_by(OnSiteCheck.quarter, OnSiteCheck.score.desc(), OnSiteCheck.id)
        return (await self._session.execute(query)).scalars().all()

    async def retirees_with_checks(self, year: int) -> set[int]:
        """Retirees with a check (in any state) in a quarter of `year`."""
        query = select(OnSiteCheck.retiree_id).where(OnSiteCheck.quarter.startswith(f"{year}Q")).distinct()
        return set((await self._session.execute(query)).scalars().all())

    # --- the roster and the records coverage is counted from

    async def residence_regions(self, region_start: str = "") -> list[str]:
        query = select(Retiree.residence_region).distinct().order_by(Retiree.residence_region)
        if region_start:
            query = query.where(Retiree.residence_region.startswith(region_start))
        return list((await self._session.execute(query)).scalars().all())

    async def roster(self, region_start: str = "") -> list[RosterEntry]:
        """Retirees whose residence region code starts with `region_start`."""
        query = select(Retiree.id, Retiree.id_number_hash, Retiree.residence_region, Retiree.birth_date)
        if region_start:
            query = query.where(Retiree.residence_region.startswith(region_start))
        rows = (await self._session.execute(query.order_by(Retiree.id))).all()
        return [RosterEntry(*row) for row in rows]

    async def records_between(self, start: str, end: str, events: Collection[str]) -> list[RecordFacts]:
        """Records of `events` that happened from `start` to `end` (exclusive; ISO 8601 UTC as
        the records write it): this region's chains, and those received from other regions."""
        own = select(
            VerificationRecord.retiree_hash,
            VerificationRecord.event,
            VerificationRecord.method,
            VerificationRecord.detail,
            VerificationRecord.occurred_at,
        ).where(
            VerificationRecord.event.in_(list(events)),
            VerificationRecord.occurred_at >= start,
            VerificationRecord.occurred_at < end,
        )
        found = [
            RecordFacts(retiree_hash, event, method, detail or {}, at)
            for retiree_hash, event, method, detail, at in (await self._session.execute(own)).all()
        ]
        received = select(
            ReceivedRecord.retiree_hash, ReceivedRecord.event, ReceivedRecord.body, ReceivedRecord.occurred_at
        ).where(
            ReceivedRecord.event.in_(list(events)),
            ReceivedRecord.occurred_at >= start,
            ReceivedRecord.occurred_at < end,
        )
        for retiree_hash, event, body, at in (await self._session.execute(received)).all():
            body = body or {}
            found.append(
                RecordFacts(retiree_hash, event, str(body.get("method", "")), body.get("detail") or {}, at)
            )
        return found

    # --- what the ranking reads, for many retirees at once

    async def last_signals(self, retiree_ids: Sequence[int]) -> dict[int, date]:
        """The day of each retiree's latest life signal."""
        found: dict[int, date] = {}
        async for chunk in _chunks(retiree_ids):
            query = (
                select(LifeSignal.retiree_id, func.max(LifeSignal.observed_on))
                .where(LifeSignal.retiree_id.in_(chunk))
                .group_by(LifeSignal.retiree_id)
            )
            found.update({retiree_id: day for retiree_id, day in (await self._session.execute(query)).all()})
        return found

    async def in_person_signal_years(self, retiree_ids: Sequence[int], since: date) -> set[tuple[int, int]]:
        """(retiree, year) of every life signal in person since `since`."""
        found: set[tuple[int, int]] = set()
        async for chunk in _chunks(retiree_ids):
            query = select(LifeSignal.retiree_id, LifeSignal.observed_on).where(
                LifeSignal.retiree_id.in_(chunk),
                LifeSignal.in_person.is_(True),
                LifeSignal.observed_on >= since,
            )
            found |= {
                (retiree_id, day.year) for retiree_id, day in (await self._session.execute(query)).all()
            }
        return found

    async def certification_history(
        self, retiree_ids: Sequence[int], since: date
    ) -> dict[int, list[tuple[date, str]]]:
        """(day, method) of each retiree's certifications since `since`, oldest first."""
        found: dict[int, list[tuple[date, str]]] = {}
        async for chunk in _chunks(retiree_ids):
            query = (
                select(Certification.retiree_id, Certification.certified_on, Certification.method)
                .where(Certification.retiree_id.in_(chunk), Certification.certified_on >= since)
                .order_by(Certification.certified_on, Certification.id)
            )
            for retiree_id, day, method in (await self._session.execute(query)).all():
                found.setdefault(retiree_id, []).append((day, method))
        return found

    async def binding_kinds(self, retiree_ids: Sequence[int]) -> dict[int, list[str]]:
        """The kinds ("self", "helper") of each retiree's active bindings."""
        found: dict[int, list[str]] = {}
        async for chunk in _chunks(retiree_ids):
            query = select(Binding.retiree_id, Binding.kind).where(
                Binding.retiree_id.in_(chunk), Binding.revoked_at.is_(None)
            )
            for retiree_id, kind in (await self._session.execute(query)).all():
                found.setdefault(retiree_id, []).append(kind)
        return found

    async def certifying_accounts(self, since: datetime, methods: Collection[str]) -> set[tuple[int, int]]:
        """(Telegram account, retiree) of every certification by one of `methods` since
        `since` whose attempt came from that account."""
        query = (
            select(CertificationAttempt.telegram_user_id, Certification.retiree_id)
            .join(CertificationAttempt, CertificationAttempt.id == Certification.attempt_id)
            .where(
                Certification.certified_at >= since,
                Certification.method.in_(list(methods)),
                CertificationAttempt.telegram_user_id.is_not(None),
            )
            .distinct()
        )
        rows = (await self._session.execute(query)).all()
        return {(user, retiree_id) for user, retiree_id in rows if user is not None}

    async def latest_pass_scores(self, retiree_ids: Sequence[int]) -> dict[int, int]:
        """The risk score of each retiree's latest scored self-service pass."""
        found: dict[int, int] = {}
        async for chunk in _chunks(retiree_ids):
            query = (
                select(PassAudit.retiree_id, PassAudit.score)
                .where(PassAudit.retiree_id.in_(chunk))
                .order_by(PassAudit.created_at, PassAudit.id)
            )
            found.update(
                {retiree_id: score for retiree_id, score in (await self._session.execute(query)).all()}
            )
        return found

    async def deceased_or_reported(self, retiree_ids: Sequence[int]) -> set[int]:
        """Retirees not to send anyone to: a death on record from a feed, a death reported and
        not found untrue, or payment stopped for a death."""
        found: set[int] = set()
        async for chunk in _chunks(retiree_ids):
            queries: list[Select[Any]] = [
                select(DeathRecord.retiree_id).where(DeathRecord.retiree_id.in_(chunk)),
                select(LifeEventReport.retiree_id).where(
                    LifeEventReport.retiree_id.in_(chunk),
                    LifeEventReport.kind == "death",
                    LifeEventReport.state.in_(["pending", "confirmed"]),
                ),
                select(Suspension.retiree_id).where(
                    Suspension.retiree_id.in_(chunk),
                    Suspension.resumed_on.is_(None),
                    Suspension.reason.startswith("death"),
                ),
            ]
            for query in queries:
                found.update(int(retiree_id) for retiree_id in (await self._session.execute(query)).scalars())
        return found

    async def active_staff(self, region_start: str = "") -> Sequence[StaffMember]:
        """Active staff members whose region code starts with `region_start`, by number."""
        query = select(StaffMember).where(StaffMember.active.is_(True))
        if region_start:
            query = query.where(StaffMember.region_code.startswith(region_start))
        return (await self._session.execute(query.order_by(StaffMember.staff_number))).scalars().all()


async def _chunks(ids: Sequence[int]) -> AsyncIterator[list[int]]:
    unique = sorted(set(ids))
    for at in range(0, len(unique), CHUNK):
        yield unique[at : at + CHUNK]
