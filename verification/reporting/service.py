"""The quarterly report of a region's checking work against the 60 % target (issue 16): every
figure counted in SQL by `uow.reporting`, each with what it was counted from.

The region is the retirees' residence region, where community staff work (as in the check
plan); a prefecture or province code covers every region below it (`kernel.regions.covers`),
"" the whole database. Checks are counted from the verification records as the check plan
counts coverage (`verification.checkplan.coverage.tally`): the same rules (`means_of`), the
same boundaries (`instant`, compared as text), the records of this database's chains and those
received from other regions matched to the region's retirees by the keyed hash; but a record of
this database's chains counts for the region only if it was written while the retiree lived
there (its own residence region), which also lets its index find the region's records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kernel.clock import Clock, utc_now
from kernel.regions import region_prefix
from storage.models.checkplan import CheckState
from storage.models.records import RequestState
from storage.repositories.reporting import Checks, RecordKind, ReportingRepository, TracedRecord
from storage.uow import UnitOfWorkFactory
from training.exam import load_rules
from verification.checkplan.means import QUALIFYING_EVENTS, Means, means_of
from verification.checkplan.quarters import Quarter, instant
from verification.cycle.rules import ACTIVE, SUSPENDED
from verification.reporting.figures import AGE_BUCKETS, Figure, QuarterFigures, target_count

# Requests asked of this region and not answered yet (verification.records.assistance.WAITING).
WAITING = (RequestState.OPEN.value, RequestState.IN_PROGRESS.value, RequestState.OVERDUE.value)
RESUMED = "resumed"  # the event the cycle and the review write when payment resumes
PAYMENT_STEP = "payment"
KEPT_KINDS = 256  # the regions and periods whose kinds of record are kept between calls
SHANGHAI = ZoneInfo(
    "Asia/Shanghai"
)  # the agency's time zone, by default  # verification.recovery.service.StepKind.PAYMENT: money paid back


class QuarterlyReportService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock = utc_now,
        zone: ZoneInfo = SHANGHAI,
        target: float = 0.6,
        *,
        own_region: str | None = None,  # this deployment's region: requests it asked are not its work
        training_days: int | None = None,  # days of study that make a person "trained" (exam.toml)
    ) -> None:
        if training_days is None:
            training_days = load_rules().min_training_days
        self._training_days = training_days
        self._uow_factory, self._clock, self._zone, self.target = uow_factory, clock, zone, target
        self._own_region = own_region
        # The rules of the kinds of record a region's year holds, by (prefix, start, end).
        self._kinds: dict[tuple[str, str, str], dict[RecordKind, str | None]] = {}

    def _moment(self, day: date) -> datetime:
        return datetime.combine(day, time(), self._zone).astimezone(UTC)

    async def figures(self, region: str, quarter: Quarter) -> QuarterFigures:
        """Every figure of `region` (a region code, or "" for the whole database) in `quarter`;
        ValueError for a code that is not a region code."""
        prefix = region_prefix(region)
        now = self._clock()
        today = now.astimezone(self._zone).date()
        year_start = instant(date(quarter.year, 1, 1), self._zone)
        start, end = instant(quarter.first_day, self._zone), instant(quarter.end, self._zone)
        since, until = self._moment(quarter.first_day), self._moment(quarter.end)
        found: list[Figure] = []

        def add(key: str, value: int, **params: object) -> None:
            # What it was counted from: report.source.<key> in the catalogs, filled with these.
            words = {name: str(param) for name, param in params.items()}
            found.append(Figure(key, value, source_params={"prefix": prefix, **words}))

        months = list(_month_ends(quarter, today))
        month_ends = [instant(month_end, self._zone) for _, month_end in months]
        async with self._uow_factory() as uow:
            repository = uow.reporting
            overdue_before = min(quarter.end, today)
            roster = await repository.roster(
                prefix, quarter.first_day, quarter.end, overdue_before, ACTIVE, SUSPENDED
            )
            retirees = roster.retirees
            add("retirees", retirees)
            add("due", roster.due, first=quarter.first_day, end=quarter.end)
            checked = await self._checks(repository, prefix, year_start, start, end, month_ends)
            add("certified", checked.in_quarter, start=start, end=end)
            for means in Means:
                add(f"certified.{means.value}", checked.by_means.get(means.value, 0))
            add("checked_year", checked.in_year, start=year_start, end=end)
            wanted = target_count(self.target, retirees)
            add("target_count", wanted, target=f"{self.target:.0%}")
            add("shortfall", max(0, wanted - checked.in_year))
            add("overdue", roster.overdue, before=overdue_before, state=ACTIVE)
            add("suspended", roster.suspended, state=SUSPENDED, today=today)
            resumed = await repository.events_between(prefix, start, end, RESUMED)
            add("resumed", len(resumed), event=RESUMED, start=start, end=end)
            add("resumed_back_pay_months", sum(len(months) for months in map(_months, resumed.values())))
            add(
                "deaths",
                await repository.deaths(prefix, quarter.first_day, quarter.end, "confirmed"),
                first=quarter.first_day,
                end=quarter.end,
            )
            bounds = [now - timedelta(days=limit + 1) for _, limit in AGE_BUCKETS if limit is not None]
            reviews, audits, newer = await repository.open_ages(prefix, "pending", "open", bounds)
            add("reviews_open", reviews, today=today)
            add("audits_open", audits, today=today)
            waiting, late = await repository.assistance_open(prefix, WAITING, now, self._own_region)
            add("assistance_open", waiting, states="/".join(WAITING))
            add("assistance_overdue", late)
            asked, visited = await repository.home_visits(prefix, since, until, "done")
            add("home_visits_requested", asked)
            add("home_visits_done", visited)
            add("employer_questions_waiting", await repository.employer_questions("open"))
            add("campaign_reach", await repository.deliveries("sent", since, until))
            checks = await repository.onsite_checks(prefix, str(quarter))
            add("onsite_checks_done", checks.get(CheckState.DONE.value, 0), quarter=quarter)
            add(
                "onsite_checks_open",
                checks.get(CheckState.PROPOSED.value, 0) + checks.get(CheckState.ASSIGNED.value, 0),
                quarter=quarter,
            )
            opened, owed, repaid = await repository.recovery(prefix, since, until, PAYMENT_STEP)
            add("recovery_cases_opened", opened)
            add("recovery_owed_fen", owed)
            add("recovery_repaid_fen", repaid, step=PAYMENT_STEP)
            # The notice's training figures: staff of the region (their own region code).
            trained = await uow.training.counts(
                prefix, quarter.first_day, quarter.end, since, until, self._training_days
            )
            add("training_studied", trained.studied, first=quarter.first_day, end=quarter.end)
            add("training_trained", trained.trained, days=self._training_days, end=quarter.end)
            add("training_examined", trained.examined, first=quarter.first_day, end=quarter.end)
            add("training_passed", trained.passed, first=quarter.first_day, end=quarter.end)
        shares = [
            (label, n / retirees if retirees else 0.0)
            for (label, _), n in zip(months, checked.cumulative, strict=True)
        ]
        ages = _buckets(reviews + audits, newer)
        return QuarterFigures(region, str(quarter), self.target, {f.key: f for f in found}, shares, ages)

    async def _checks(
        self,
        repository: ReportingRepository,
        prefix: str,
        year_start: str,
        start: str,
        end: str,
        month_ends: list[str],
    ) -> Checks:
        """The checks counted in one pass by the rules of the kinds of record the region's
        records hold. Those kinds are kept between calls (reading them costs a pass over the
        records); the pass counts the records of a kind they lack, and when there are any the
        kinds are read again and the pass made again, so a kept list never miscounts."""
        key = (prefix, year_start, end)
        rules = self._kinds.get(key)
        if rules is not None:
            checks = await repository.checks(
                prefix, year_start, start, end, month_ends, rules, QUALIFYING_EVENTS
            )
            if not checks.unknown:
                return checks
        rules = await self.rules(repository, prefix, year_start, end)
        self._kinds.pop(key, None)
        while len(self._kinds) >= KEPT_KINDS:  # the oldest first
            del self._kinds[next(iter(self._kinds))]
        self._kinds[key] = rules
        return await repository.checks(prefix, year_start, start, end, month_ends, rules, QUALIFYING_EVENTS)

    @staticmethod
    async def rules(
        repository: ReportingRepository, prefix: str, start: str, end: str
    ) -> dict[RecordKind, str | None]:
        """Every kind of record of the qualifying events in the period, and the means it shows a
        check by (None: no check): `means_of` decides each kind the records hold (a few), and
        SQL counts by the answer."""
        rules: dict[RecordKind, str | None] = {}
        for kind in await repository.record_kinds(prefix, start, end, QUALIFYING_EVENTS):
            detail = {"place": kind.place, "assistance": {"finding": kind.finding}}
            means = means_of(kind.event, kind.method, detail)
            rules[kind] = means.value if means is not None else None
        return rules

    async def trace(self, region: str, quarter: Quarter) -> list[TracedRecord]:
        """The verification records the records-based figures counted (checks from 1 January
        to the quarter's end, resumptions in the year so far), oldest first."""
        prefix = region_prefix(region)
        year_start = instant(date(quarter.year, 1, 1), self._zone)
        end = instant(quarter.end, self._zone)
        async with self._uow_factory() as uow:
            rules = await self.rules(uow.reporting, prefix, year_start, end)
            return await uow.reporting.traced(prefix, year_start, end, rules, [RESUMED])


def _months(value: object) -> list[object]:
    """detail.back_pay_months as read back: a list, or its JSON text on some databases."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return list(value) if isinstance(value, list) else []


def _month_ends(quarter: Quarter, today: date) -> Iterator[tuple[str, date]]:
    """("2026-10", the first day after October) for each month of the year up to the quarter's
    end that has begun by `today` (the first month always)."""
    for month in range(1, 3 * quarter.number + 1):
        first = date(quarter.year, month, 1)
        if month > 1 and first > today:
            return
        after = date(quarter.year + 1, 1, 1) if month == 12 else date(quarter.year, month + 1, 1)
        yield f"{quarter.year}-{month:02d}", after


def _buckets(total: int, newer: list[int]) -> dict[str, int]:
    """Open items per age bucket, from how many were opened after each bucket's far end."""
    counts, below = {}, 0
    for (label, _), opened_after in zip(AGE_BUCKETS, [*newer, total], strict=True):
        counts[label] = opened_after - below
        below = opened_after
    return counts
