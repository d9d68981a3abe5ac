"""The quarterly report of a region's checking work against the 60 % target (issue 16): every
figure counted in SQL by `uow.reporting`, each with what it was counted from.

The region is the retirees' residence region, where community staff work (as in the check
plan); a prefecture or province code covers every region below it (`kernel.regions.covers`),
"" the whole database. Checks are counted from the verification records exactly as the check
plan counts coverage (`verification.checkplan.coverage.tally`): the same records (this
database's chains and those received from other regions, matched to the roster by the keyed
hash), the same rules (`means_of`), the same boundaries (`instant`, compared as text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kernel.clock import Clock, utc_now
from storage.models.checkplan import CheckState
from storage.models.records import RequestState
from storage.repositories.reporting import RecordKind, ReportingRepository, TracedRecord
from storage.uow import UnitOfWorkFactory
from verification.checkplan.means import QUALIFYING_EVENTS, Means, means_of
from verification.checkplan.quarters import Quarter, instant
from verification.cycle.rules import ACTIVE, SUSPENDED
from verification.reporting.figures import AGE_BUCKETS, Figure, QuarterFigures, target_count

# Requests asked of this region and not answered yet (verification.records.assistance.WAITING).
WAITING = (RequestState.OPEN.value, RequestState.IN_PROGRESS.value, RequestState.OVERDUE.value)
RESUMED = "resumed"  # the event the cycle and the review write when payment resumes
PAYMENT_STEP = "payment"
_REGION = re.compile(r"[0-9]{6}")
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
    ) -> None:
        self._uow_factory, self._clock, self._zone, self.target = uow_factory, clock, zone, target
        self._own_region = own_region

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

        async with self._uow_factory() as uow:
            repository = uow.reporting
            retirees = await repository.retirees(prefix)
            add("retirees", retirees)
            add(
                "due",
                await repository.due_between(prefix, quarter.first_day, quarter.end),
                first=quarter.first_day,
                end=quarter.end,
            )
            rules = await self.rules(repository, prefix, year_start, end)
            certified, by_means = await repository.checked(prefix, start, end, rules)
            add("certified", certified, start=start, end=end)
            for means in Means:
                add(f"certified.{means.value}", by_means.get(means.value, 0))
            checked_year, _ = await repository.checked(prefix, year_start, end, rules)
            add("checked_year", checked_year, start=year_start, end=end)
            wanted = target_count(self.target, retirees)
            add("target_count", wanted, target=f"{self.target:.0%}")
            add("shortfall", max(0, wanted - checked_year))
            overdue_before = min(quarter.end, today)
            add(
                "overdue",
                await repository.overdue(prefix, overdue_before, ACTIVE),
                before=overdue_before,
                state=ACTIVE,
            )
            add(
                "suspended",
                await repository.in_payment_state(prefix, SUSPENDED),
                state=SUSPENDED,
                today=today,
            )
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
            found.extend(self._training())
            months = list(_month_ends(quarter, today))
            cumulative = await repository.checked_before(
                prefix, year_start, [instant(month_end, self._zone) for _, month_end in months], rules
            )
        shares = [
            (label, n / retirees if retirees else 0.0)
            for (label, _), n in zip(months, cumulative, strict=True)
        ]
        ages = _buckets(reviews + audits, newer)
        return QuarterFigures(region, str(quarter), self.target, {f.key: f for f in found}, shares, ages)

    @staticmethod
    async def rules(
        repository: ReportingRepository, prefix: str, start: str, end: str
    ) -> dict[RecordKind, str]:
        """Which kinds of record in the period show a check, and by what means: `means_of`
        decides each kind the records hold (a few), and SQL counts by the answer."""
        rules = {}
        for kind in await repository.record_kinds(prefix, start, end, QUALIFYING_EVENTS):
            detail = {"place": kind.place, "assistance": {"finding": kind.finding}}
            means = means_of(kind.event, kind.method, detail)
            if means is not None:
                rules[kind] = means.value
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

    def _training(self) -> list[Figure]:
        """Hook for the notice's training figures (staff trained in the quarter): there is no
        training table yet, so no figure; add them here when there is one."""
        return []


def region_prefix(region: str) -> str:
    """The prefix of the residence region codes `region` covers, as `kernel.regions.covers`
    reads a code: "110105" itself, "110100" -> "1101", "110000" -> "11"; "" for everyone.
    ValueError for anything but six digits (or "")."""
    if region == "":
        return ""
    if not _REGION.fullmatch(region):
        raise ValueError(f"a region code is six digits, like 110105, not {region!r}")
    prefix = region.rstrip("0")
    if len(prefix) % 2:  # keep whole two-digit levels
        prefix += "0"
    return prefix


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
