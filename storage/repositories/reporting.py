"""Repository of the quarterly report: every figure counted in SQL, for the retirees living in a
region (their residence region code starts with `prefix`; "" is the whole database).

The checks are counted from the verification records like the check plan counts them (its
chains and the records received from other regions, matched to the roster by the keyed hash;
a chain's record only where it was written while the retiree lived in the region, its own
residence region, which its index on the residence and the time reads):
which record shows which means is decided by the caller's rules, given here as a table from
the kinds of record (event, method, detail's place, detail's assistance finding) to a means,
so that storage knows nothing of the rules and the SQL counts what they say.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    case,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from storage.models import Retiree
from storage.models.care import HomeVisitRequest, LifeEventReport
from storage.models.certification import PassAudit, ReviewCase
from storage.models.checkplan import OnSiteCheck
from storage.models.employer import EmployerQuestion
from storage.models.publicity import PublicityDelivery
from storage.models.records import AssistanceRequest, ReceivedRecord, VerificationRecord
from storage.models.recovery import RecoveryCase, RecoveryStep
from storage.models.signals import DeathRecord


@dataclass(frozen=True, slots=True, order=True)
class RecordKind:
    """What decides whether a record shows a check, and by what means."""

    event: str
    method: str
    place: str | None  # detail["place"] (a photo taken by staff: at a service point or at home)
    finding: str | None  # detail["assistance"]["finding"] (an answer to another region)


def kind_order(kind: RecordKind) -> tuple[str, str, str, str]:
    """A kind's place in a sorted list: its place or finding may be None, which does not
    compare with text."""
    return (kind.event, kind.method, kind.place or "", kind.finding or "")


@dataclass(frozen=True, slots=True)
class TracedRecord:
    """One counted record, for the report's trace: no names, no ID numbers, no hashes."""

    source: str  # "chain" (this database's chains) or "received" (from another region)
    region: str  # the chain's region, or the region it came from
    seq: int | None  # its place in the chain (None for a received record)
    record_uid: str
    event: str
    method: str
    occurred_at: str
    counted_as: str  # the means, or the event for a record that is not a check


def _in_region(column: Any, prefix: str) -> ColumnElement[bool]:
    """`column` (a region code: digits) starts with `prefix`, as a range an index on the column
    serves (PostgreSQL uses an index for LIKE only under the C collation): a whole code by
    equality, "" for every region."""
    condition: ColumnElement[bool] = true()
    following = _following(prefix) if prefix else None
    if len(prefix) == 6:
        condition = column == prefix
    elif prefix and following is None:  # "99": nothing comes after it at its length
        condition = column >= prefix
    elif prefix:
        condition = (column >= prefix) & (column < following)
    return condition


def _following(prefix: str) -> str | None:
    """The first string of `prefix`'s length after every string starting with it ("1101" ->
    "1102", "1209" -> "1210"); None if there is none ("99")."""
    if prefix.isdigit():
        following = int(prefix) + 1
        return str(following).zfill(len(prefix)) if following < 10 ** len(prefix) else None
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _residents(prefix: str) -> Select[Any]:
    return select(Retiree.id_number_hash).where(_in_region(Retiree.residence_region, prefix))


def _resident_ids(prefix: str) -> Select[Any]:
    return select(Retiree.id).where(_in_region(Retiree.residence_region, prefix))


def _records(prefix: str, start: str, end: str, events: Collection[str]) -> Subquery:
    """The records of residents of `prefix` with one of `events`, from `start` to `end`
    (exclusive; ISO 8601 UTC text, compared as text as the check plan does): own and received."""
    own = select(
        literal("chain", String, literal_execute=True).label("source"),
        VerificationRecord.region.label("region"),
        VerificationRecord.seq.label("seq"),
        VerificationRecord.record_uid.label("record_uid"),
        VerificationRecord.retiree_hash.label("retiree_hash"),
        VerificationRecord.event.label("event"),
        VerificationRecord.method.label("method"),
        VerificationRecord.occurred_at.label("occurred_at"),
        VerificationRecord.detail["place"].as_string().label("place"),
        VerificationRecord.detail[("assistance", "finding")].as_string().label("finding"),
        VerificationRecord.detail["back_pay_months"].label("back_pay"),
    ).where(
        VerificationRecord.event.in_(list(events)),
        VerificationRecord.occurred_at >= start,
        VerificationRecord.occurred_at < end,
        # Recorded while the retiree lived in the region (the index on the residence and the
        # time reads just these), and a resident of it now.
        _in_region(VerificationRecord.residence_region, prefix),
        VerificationRecord.retiree_hash.in_(_residents(prefix)),
    )
    received = select(
        literal("received", String, literal_execute=True).label("source"),
        ReceivedRecord.origin_region.label("region"),
        null().label("seq"),
        ReceivedRecord.record_uid.label("record_uid"),
        ReceivedRecord.retiree_hash.label("retiree_hash"),
        ReceivedRecord.event.label("event"),
        func.coalesce(ReceivedRecord.body["method"].as_string(), "").label("method"),
        ReceivedRecord.occurred_at.label("occurred_at"),
        ReceivedRecord.body[("detail", "place")].as_string().label("place"),
        ReceivedRecord.body[("detail", "assistance", "finding")].as_string().label("finding"),
        ReceivedRecord.body[("detail", "back_pay_months")].label("back_pay"),
    ).where(
        ReceivedRecord.event.in_(list(events)),
        ReceivedRecord.occurred_at >= start,
        ReceivedRecord.occurred_at < end,
        ReceivedRecord.retiree_hash.in_(_residents(prefix)),
    )
    return union_all(own, received).subquery("records")


def _means(
    records: Subquery, rules: Mapping[RecordKind, str | None], *, unknown: str | None = None
) -> ColumnElement[Any]:
    """The means each record shows by `rules` (NULL when it shows no check). With `unknown`:
    "" for a kind the rules map to None, and `unknown` for a kind they do not hold."""
    whens = [
        (
            (records.c.event == kind.event)
            & (records.c.method == kind.method)
            & records.c.place.is_not_distinct_from(kind.place)
            & records.c.finding.is_not_distinct_from(kind.finding),
            # Inline: PostgreSQL cannot type a bare parameter in a CASE's result.
            literal(means if means is not None else "", String, literal_execute=True),
        )
        for kind, means in sorted(rules.items(), key=lambda rule: kind_order(rule[0]))
        if means is not None or unknown is not None
    ]
    otherwise = null() if unknown is None else literal(unknown, String, literal_execute=True)
    return case(*whens, else_=otherwise) if whens else otherwise


@dataclass(frozen=True, slots=True)
class Roster:
    """The region's retirees on the roster, counted in one pass."""

    retirees: int
    due: int  # due to certify from `first` to `end` (exclusive)
    overdue: int  # due before `before` and still paid (`active`)
    suspended: int  # whose pension is suspended (`suspended`)


@dataclass(frozen=True, slots=True)
class Checks:
    """The retirees the records show checked (each once), counted in one pass over the year."""

    in_quarter: int  # checked from the quarter's start to its end
    by_means: dict[str, int]  # of them, checked by each means in the quarter
    in_year: int  # checked from the year's start to the quarter's end
    cumulative: list[int]  # checked from the year's start up to each month's end
    unknown: int  # records of a kind the rules did not hold: the rules are out of date


class ReportingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _scalar(self, query: Select[Any]) -> int:
        return int((await self._session.execute(query)).scalar_one() or 0)

    # --- the roster

    async def roster(
        self, prefix: str, first: date, end: date, before: date, active: str, suspended: str
    ) -> Roster:
        """The retirees on the roster living in the region, in one pass over them."""
        query = select(
            func.count(),  # not of the id: the index on the residence holds what this reads
            func.coalesce(
                func.sum(case(((Retiree.due_on >= first) & (Retiree.due_on < end), 1), else_=0)), 0
            ),
            func.coalesce(
                func.sum(case(((Retiree.due_on < before) & (Retiree.payment_state == active), 1), else_=0)), 0
            ),
            func.coalesce(func.sum(case((Retiree.payment_state == suspended, 1), else_=0)), 0),
        ).where(_in_region(Retiree.residence_region, prefix))
        return Roster(*(int(n) for n in (await self._session.execute(query)).one()))

    # --- the checks, from the verification records

    async def record_kinds(
        self, prefix: str, start: str, end: str, events: Collection[str]
    ) -> list[RecordKind]:
        """The kinds of record of `events` the region's records show in the period (a few rows:
        the caller decides for each kind whether, and by what means, it shows a check)."""
        records = _records(prefix, start, end, events)
        query = select(records.c.event, records.c.method, records.c.place, records.c.finding).distinct()
        kinds = [RecordKind(*row) for row in (await self._session.execute(query)).all()]
        return sorted(kinds, key=kind_order)

    async def checks(
        self,
        prefix: str,
        year_start: str,
        quarter_start: str,
        end: str,
        month_ends: Sequence[str],
        rules: Mapping[RecordKind, str | None],
        events: Collection[str],
    ) -> Checks:
        """The retirees of the region the records of `events` show checked by `rules` (every
        kind of record the period holds, mapped to its means or to None), in one statement:
        the year's records grouped by retiree and means with their first and last time, and
        from those the quarter's, the year's and each month's (`month_ends`, up to `end`)."""
        unknown = "?"  # no means is "?": a record of a kind `rules` lacks
        records = _records(prefix, year_start, end, events)
        marked = select(
            records.c.retiree_hash,
            records.c.occurred_at,
            _means(records, rules, unknown=unknown).label("means"),
        ).subquery("marked")
        pairs = (
            select(
                marked.c.retiree_hash,
                marked.c.means,
                func.min(marked.c.occurred_at).label("first_at"),
                func.max(marked.c.occurred_at).label("last_at"),
            )
            .group_by(marked.c.retiree_hash, marked.c.means)
            .having(marked.c.means != "")
            .cte("pairs")
        )
        named = sorted({value for value in rules.values() if value is not None})
        people = (
            select(
                func.min(pairs.c.first_at).label("first_at"),
                func.max(pairs.c.last_at).label("last_at"),
                *(
                    func.max(
                        case(((pairs.c.means == value) & (pairs.c.last_at >= quarter_start), 1), else_=0)
                    ).label(f"means_{n}")
                    for n, value in enumerate(named)
                ),
            )
            .where(pairs.c.means != unknown)
            .group_by(pairs.c.retiree_hash)
            .cte("people")
        )

        def total(condition: ColumnElement[bool]) -> ColumnElement[Any]:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        query = select(
            func.count(),
            total(people.c.last_at >= quarter_start),
            *(func.coalesce(func.sum(people.c[f"means_{n}"]), 0) for n in range(len(named))),
            *(total(people.c.first_at < month_end) for month_end in month_ends),
            select(func.count()).where(pairs.c.means == unknown).scalar_subquery(),
        )
        row = [int(n or 0) for n in (await self._session.execute(query)).one()]
        in_year, in_quarter, row = row[0], row[1], row[2:]
        by_means = {value: n for value, n in zip(named, row[: len(named)], strict=True) if n}
        return Checks(in_quarter, by_means, in_year, row[len(named) : -1], row[-1])

    async def events_between(self, prefix: str, start: str, end: str, event: str) -> dict[str, Any]:
        """The records of `event` the region's records show in the period, by record uid (a
        record once, were it both in a chain here and received), with their back-pay months:
        few rows (a resumption is rare), so they are read rather than counted."""
        records = _records(prefix, start, end, [event])
        query = select(records.c.record_uid, records.c.back_pay).order_by(records.c.source)
        return {uid: back_pay for uid, back_pay in (await self._session.execute(query)).all()}

    async def traced(
        self,
        prefix: str,
        start: str,
        end: str,
        rules: Mapping[RecordKind, str | None],
        events: Collection[str],
    ) -> list[TracedRecord]:
        """The records counted: those that show a check by `rules`, and those of `events`."""
        records = _records(prefix, start, end, {kind.event for kind in rules} | set(events))
        means = _means(records, rules)
        counted_as = case((means.is_not(None), means), else_=records.c.event)
        query = (
            select(
                records.c.source,
                records.c.region,
                records.c.seq,
                records.c.record_uid,
                records.c.event,
                records.c.method,
                records.c.occurred_at,
                counted_as,
            )
            .where(or_(means.is_not(None), records.c.event.in_(list(events))))
            .order_by(records.c.occurred_at, records.c.region, records.c.seq, records.c.record_uid)
        )
        return [
            TracedRecord(source, region, seq, uid, event, method, at, str(as_))
            for source, region, seq, uid, event, method, at, as_ in (await self._session.execute(query)).all()
        ]

    # --- deaths, cases and requests

    async def deaths(self, prefix: str, first: date, end: date, confirmed: str) -> int:
        """Retirees of the region who died from `first` to `end` (exclusive): recorded by a
        feed, or reported and confirmed by staff; a retiree once were it both."""
        recorded = select(DeathRecord.retiree_id).where(
            DeathRecord.died_on >= first,
            DeathRecord.died_on < end,
            DeathRecord.retiree_id.in_(_resident_ids(prefix)),
        )
        reported = select(LifeEventReport.retiree_id).where(
            LifeEventReport.kind == "death",
            LifeEventReport.state == confirmed,
            LifeEventReport.event_date >= first,
            LifeEventReport.event_date < end,
            LifeEventReport.retiree_id.in_(_resident_ids(prefix)),
        )
        both = recorded.union(reported).subquery()
        return await self._scalar(select(func.count()).select_from(both))

    async def open_ages(
        self, prefix: str, review_status: str, audit_state: str, bounds: Sequence[datetime]
    ) -> tuple[int, int, list[int]]:
        """Open review cases and open pass audits of the region's retirees, and how many of
        them (both together) were opened after each of `bounds` (newest bound first)."""
        cases = select(ReviewCase.opened_at.label("opened_at")).where(
            ReviewCase.status == review_status, ReviewCase.retiree_id.in_(_resident_ids(prefix))
        )
        audits = select(PassAudit.created_at.label("opened_at")).where(
            PassAudit.state == audit_state, PassAudit.retiree_id.in_(_resident_ids(prefix))
        )
        reviews = await self._scalar(select(func.count()).select_from(cases.subquery()))
        open_audits = await self._scalar(select(func.count()).select_from(audits.subquery()))
        both = union_all(cases, audits).subquery()
        counts = [
            func.coalesce(func.sum(case((both.c.opened_at > bound, 1), else_=0)), 0) for bound in bounds
        ]
        row = (await self._session.execute(select(*counts))).one() if bounds else ()
        return reviews, open_audits, [int(n) for n in row]

    async def assistance_open(
        self, prefix: str, states: Collection[str], now: datetime, asked_by: str | None
    ) -> tuple[int, int]:
        """Assistance requests in `states` about retirees of the region (all of them for the
        whole database), not those `asked_by` this region; and of them, those past due."""
        query = select(
            func.count(AssistanceRequest.id),
            func.coalesce(func.sum(case((AssistanceRequest.due_at < now, 1), else_=0)), 0),
        ).where(AssistanceRequest.state.in_(list(states)))
        if prefix:
            query = query.where(AssistanceRequest.retiree_hash.in_(_residents(prefix)))
        if asked_by:
            query = query.where(AssistanceRequest.origin_region != asked_by)
        total, overdue = (await self._session.execute(query)).one()
        return int(total), int(overdue)

    async def home_visits(self, prefix: str, start: datetime, end: datetime, done: str) -> tuple[int, int]:
        """Home visits asked for in the period, and done in it, in the region."""
        where = _in_region(HomeVisitRequest.region_code, prefix)
        asked = select(func.count(HomeVisitRequest.id)).where(
            where, HomeVisitRequest.requested_at >= start, HomeVisitRequest.requested_at < end
        )
        made = select(func.count(HomeVisitRequest.id)).where(
            where,
            HomeVisitRequest.state == done,
            HomeVisitRequest.done_at >= start,
            HomeVisitRequest.done_at < end,
        )
        return await self._scalar(asked), await self._scalar(made)

    async def employer_questions(self, status: str) -> int:
        """Employers' questions handed to staff in `status` (they carry no region)."""
        return await self._scalar(
            select(func.count(EmployerQuestion.id)).where(EmployerQuestion.status == status)
        )

    async def deliveries(self, status: str, start: datetime, end: datetime) -> int:
        """Publicity messages delivered in the period (deliveries carry no region)."""
        query = select(func.count(PublicityDelivery.id)).where(
            PublicityDelivery.status == status,
            PublicityDelivery.sent_at >= start,
            PublicityDelivery.sent_at < end,
        )
        return await self._scalar(query)

    async def onsite_checks(self, prefix: str, quarter: str) -> dict[str, int]:
        """The region's checks on site planned for `quarter`, by state."""
        query = (
            select(OnSiteCheck.state, func.count(OnSiteCheck.id))
            .where(OnSiteCheck.quarter == quarter, _in_region(OnSiteCheck.region, prefix))
            .group_by(OnSiteCheck.state)
        )
        return {str(state): int(n) for state, n in (await self._session.execute(query)).all()}

    async def recovery(
        self, prefix: str, start: datetime, end: datetime, payment: str
    ) -> tuple[int, int, int]:
        """For the region's retirees: recovery cases opened in the period, what they owe (fen),
        and what was paid back in the period on any case (fen)."""
        opened = select(
            func.count(RecoveryCase.id), func.coalesce(func.sum(RecoveryCase.overpaid_fen), 0)
        ).where(
            RecoveryCase.opened_at >= start,
            RecoveryCase.opened_at < end,
            RecoveryCase.retiree_id.in_(_resident_ids(prefix)),
        )
        cases, owed = (await self._session.execute(opened)).one()
        repaid = (
            select(func.coalesce(func.sum(RecoveryStep.amount_fen), 0))
            .join(RecoveryCase, RecoveryCase.id == RecoveryStep.case_id)
            .where(
                RecoveryStep.kind == payment,
                RecoveryStep.at >= start,
                RecoveryStep.at < end,
                RecoveryCase.retiree_id.in_(_resident_ids(prefix)),
            )
        )
        return int(cases), int(owed), await self._scalar(repaid)
