"""The check plan as a service: coverage per region and quarter (counted from the verification
records), proposals for checks on site (ranked by verification/checkplan/risk.py), their
assignment to community staff, and what each check found.

What a check found, in one transaction with its audit entry:
- seen: the retiree was met and recognised on site, which certifies them (a Certification
  with method "onsite_check", the cycle moved on and payment resumed where it was suspended,
  a "certified" record in the chain, sent to the paying region through the outbox);
- not found: nobody there; a review case for staff, and an "assisted_visit" record saying so
  (a visit that checks nobody, like a home visit that found nobody at home);
- deceased: the family says the retiree died; the check is closed and staff are told to file
  a death report (the death itself is handled where deaths are reported, not here).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from kernel.clock import Clock, utc_now
from kernel.idnumber import mask_id_number
from kernel.permissions import NotStaff
from kernel.regions import covers
from storage.models.certification import AuditEntry, Certification, ReviewCase, StaffMember
from storage.models.checkplan import CheckResult, CheckState, OnSiteCheck
from storage.protection import PersonalDataVault
from storage.repositories.checkplan import RecordFacts, RosterEntry
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.certification.attempts import CycleKeeper
from verification.certification.pass_risk import RiskScore
from verification.checkplan.coverage import RegionCoverage, checked_hashes, tally
from verification.checkplan.means import ONSITE_METHOD, QUALIFYING_EVENTS
from verification.checkplan.quarters import Quarter, instant, quarters_of
from verification.checkplan.risk import PlanPolicy, RiskFacts, load_plan_policy, score
from verification.records.chain import append_record

# The review case a check that found nobody opens (its words: review.because.onsite_not_found).
NOT_FOUND_CASE = "onsite_not_found"
# Methods whose attempts come from a Telegram account (who certifies several elders).
ACCOUNT_METHODS = frozenset({"self_video", "self_photo"})
HISTORY_YEARS = 10  # certifications looked back on for the years certified only remotely
MAX_LISTED = 20  # checks one bot screen lists


class AssignOutcome(StrEnum):
    ASSIGNED = "assigned"
    NO_CHECK = "no_check"
    NO_STAFF = "no_staff"  # no active staff member with that number
    OTHER_REGION = "other_region"  # the staff member's region does not cover the retiree's
    DONE = "done"  # the check was done already


class RecordOutcome(StrEnum):
    SEEN = "seen"  # certified on site
    NOT_FOUND = "not_found"  # a review case opened
    DECEASED = "deceased"  # staff are asked to file a death report
    NO_CHECK = "no_check"
    NOT_YOURS = "not_yours"  # assigned to someone else (or to nobody)
    DONE = "done"  # recorded already (a second tap, or a colleague)
    DEATH_REPORTED = "death_reported"  # seen, but a death report waits: staff settle it first


@dataclass(frozen=True)
class Candidate:
    retiree_id: int
    region: str
    risk: RiskScore


@dataclass(frozen=True)
class Proposal:
    region: str
    quarter: str
    wanted: int  # checks the region should have in the quarter
    existing: int  # proposed before (in any state)
    created: list[int]  # ids of the checks proposed now
    eligible: int  # retirees not yet checked this year, nor planned, nor reported dead


@dataclass(frozen=True)
class CheckRow:
    """One check, for the command line: no names, no ID numbers."""

    check_id: int
    quarter: str
    region: str
    retiree_id: int
    score: int
    reasons: list[str]
    state: str
    staff_number: str | None
    result: str | None


@dataclass(frozen=True)
class CheckView:
    """One check, for staff in the bot."""

    check_id: int
    quarter: str
    region: str
    score: int
    reasons: list[dict[str, Any]]
    state: str
    retiree_name: str = field(repr=False)
    masked_id_number: str = field(repr=False)
    staff_name: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Colleague:
    staff_id: int
    staff_number: str
    name: str = field(repr=False)


@dataclass(frozen=True)
class Assignment:
    outcome: AssignOutcome
    check_id: int
    staff_number: str | None = None
    staff_name: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Recorded:
    outcome: RecordOutcome
    check_id: int
    retiree_name: str | None = field(default=None, repr=False)
    valid_until: date | None = None
    resumed: bool = False
    review_case_id: int | None = None


class CheckPlanService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        cycle: CycleKeeper,
        *,
        policy: PlanPolicy | None = None,
        clock: Clock = utc_now,
        timezone: str = "Asia/Shanghai",
        region_code: str | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._vault = vault
        self._cycle = cycle
        self.policy = policy or load_plan_policy()
        self._clock = clock
        self._zone = ZoneInfo(timezone)
        self._region_code = region_code  # the chain verification records are appended to

    def today(self) -> date:
        return self._clock().astimezone(self._zone).date()

    # ------------------------------------------------------------------ coverage

    async def regions(self) -> list[str]:
        """The residence regions on the roster."""
        async with self._uow_factory() as uow:
            return await uow.check_plan.residence_regions()

    async def coverage(self, year: int, region: str | None = None) -> list[RegionCoverage]:
        """Coverage per quarter of `year` (up to today's quarter when the year is this one) for
        `region`, or for every residence region on the roster, one each."""
        today = self.today()
        quarters = [q for q in quarters_of(year) if q.first_day <= today] or quarters_of(year)[:1]
        async with self._uow_factory() as uow:
            regions = [region] if region else await uow.check_plan.residence_regions()
            records = await self._records(uow, max(quarters))
            found = []
            for code in regions:
                roster = await self._roster(uow, code)
                hashes = [entry.id_number_hash for entry in roster]
                figures = tally(hashes, records, quarters, self._zone, self.policy.target)
                found.append(RegionCoverage(code, year, figures))
            return found

    async def _records(self, uow: UnitOfWork, quarter: Quarter) -> list[RecordFacts]:
        """Every record that may show a check, from 1 January to the end of `quarter`."""
        start = instant(date(quarter.year, 1, 1), self._zone)
        rows = await uow.check_plan.records_between(
            start, instant(quarter.end, self._zone), QUALIFYING_EVENTS
        )
        return rows

    @staticmethod
    async def _roster(uow: UnitOfWork, region: str) -> list[RosterEntry]:
        """The retirees living in `region` (a county, or a prefecture or province covering some)."""
        entries = await uow.check_plan.roster(region[:2])
        return [entry for entry in entries if covers(region, entry.residence_region)]

    # ------------------------------------------------------------------ ranking and proposals

    async def ranking(self, quarter: Quarter, region: str, *, on: date | None = None) -> list[Candidate]:
        """The retirees of `region` eligible for a check in `quarter`, riskiest first: not yet
        checked this year, without a check planned this year, not reported dead."""
        async with self._uow_factory() as uow:
            records = await self._records(uow, quarter)
            return await self._ranking(uow, quarter, region, records, on or self.today())

    async def _ranking(
        self, uow: UnitOfWork, quarter: Quarter, region: str, records: list[RecordFacts], on: date
    ) -> list[Candidate]:
        repository = uow.check_plan
        start = instant(date(quarter.year, 1, 1), self._zone)
        checked = checked_hashes(records, start, instant(quarter.end, self._zone))
        planned = await repository.retirees_with_checks(quarter.year)
        roster = [
            entry
            for entry in await self._roster(uow, region)
            if entry.id_number_hash not in checked and entry.id not in planned
        ]
        dead = await repository.deceased_or_reported([entry.id for entry in roster])
        roster = [entry for entry in roster if entry.id not in dead]
        ids = [entry.id for entry in roster]
        signals = await repository.last_signals(ids)
        history = await repository.certification_history(ids, date(on.year - HISTORY_YEARS, 1, 1))
        in_person: dict[int, set[int]] = defaultdict(set)
        for retiree_id, year in await repository.in_person_signal_years(
            ids, date(on.year - HISTORY_YEARS, 1, 1)
        ):
            in_person[retiree_id].add(year)
        kinds = await repository.binding_kinds(ids)
        elders = await self._elders_per_account(uow, on)
        scores = await repository.latest_pass_scores(ids)
        candidates = []
        for entry in roster:
            facts = RiskFacts(
                birth_date=entry.birth_date,
                last_signal_on=signals.get(entry.id),
                certifications=history.get(entry.id, []),
                in_person_years=frozenset(in_person[entry.id]),
                binding_kinds=kinds.get(entry.id, []),
                elders_of_account=elders.get(entry.id, 0),
                pass_score=scores.get(entry.id),
            )
            candidates.append(
                (Candidate(entry.id, entry.residence_region, score(facts, on, self.policy)), entry.birth_date)
            )
        # Riskiest first; then the oldest; then the roster's order: the same data, the same list.
        candidates.sort(key=lambda pair: (-pair[0].risk.points, pair[1], pair[0].retiree_id))
        return [candidate for candidate, _ in candidates]

    async def _elders_per_account(self, uow: UnitOfWork, on: date) -> dict[int, int]:
        """Per retiree: the most retirees one account that certified them certified."""
        since = datetime.combine(on, time(), self._zone) - self.policy.shared_window
        pairs = await uow.check_plan.certifying_accounts(since, ACCOUNT_METHODS)
        by_account: dict[int, set[int]] = defaultdict(set)
        for account, retiree_id in pairs:
            by_account[account].add(retiree_id)
        most: dict[int, int] = {}
        for retirees in by_account.values():
            for retiree_id in retirees:
                most[retiree_id] = max(most.get(retiree_id, 0), len(retirees))
        return most

    async def propose(
        self,
        quarter: Quarter,
        *,
        region: str | None = None,
        count: int | None = None,
        on: date | None = None,
        actor: str = "system",
    ) -> list[Proposal]:
        """Propose checks on site in `quarter` for `region` (or every residence region): the
        riskiest eligible retirees, until the region has `count` checks in the quarter
        (default: what is still missing to reach the target this year, spread over the
        quarters left). Proposing again adds nothing the region already has."""
        if count is not None and count < 0:
            raise ValueError("count must not be negative")
        on = on or self.today()
        now = self._clock()
        proposals = []
        async with self._uow_factory() as uow:
            regions = [region] if region else await uow.check_plan.residence_regions()
            records = await self._records(uow, quarter)
            for code in regions:
                existing = [
                    check
                    for check in await uow.check_plan.checks(quarter=str(quarter), region_start=code[:2])
                    if covers(code, check.region)
                ]
                wanted = count if count is not None else await self._wanted(uow, code, quarter, records)
                ranked = await self._ranking(uow, quarter, code, records, on)
                created = []
                for candidate in ranked[: max(0, wanted - len(existing))]:
                    check = OnSiteCheck(
                        retiree_id=candidate.retiree_id,
                        region=candidate.region,
                        quarter=str(quarter),
                        score=candidate.risk.points,
                        reasons=candidate.risk.as_json(),
                        state=CheckState.PROPOSED.value,
                        proposed_at=now,
                    )
                    uow.check_plan.add(check)
                    await uow.flush()
                    created.append(check.id)
                if created:
                    uow.audit.add(
                        AuditEntry(
                            at=now,
                            actor=actor,
                            action="onsite_checks_proposed",
                            detail={"region": code, "quarter": str(quarter), "check_ids": created},
                        )
                    )
                proposals.append(Proposal(code, str(quarter), wanted, len(existing), created, len(ranked)))
            await uow.commit()
        return proposals

    async def _wanted(
        self, uow: UnitOfWork, region: str, quarter: Quarter, records: list[RecordFacts]
    ) -> int:
        """What the region still misses to reach the target this year, spread over the
        quarters left (this one included)."""
        hashes = [entry.id_number_hash for entry in await self._roster(uow, region)]
        [figures] = tally(hashes, records, [quarter], self._zone, self.policy.target)
        return math.ceil(figures.shortfall / quarter.quarters_left)

    # ------------------------------------------------------------------ listing and assigning

    async def list_checks(
        self,
        *,
        quarter: Quarter | None = None,
        region: str | None = None,
        states: Collection[str] | None = None,
    ) -> list[CheckRow]:
        async with self._uow_factory() as uow:
            checks = await uow.check_plan.checks(
                quarter=str(quarter) if quarter else None, region_start=(region or "")[:2], states=states
            )
            numbers: dict[int, str] = {}
            rows = []
            for check in checks:
                if region and not covers(region, check.region):
                    continue
                if check.staff_id is not None and check.staff_id not in numbers:
                    staff = await uow.staff.get(check.staff_id)
                    numbers[check.staff_id] = staff.staff_number if staff else "?"
                rows.append(
                    CheckRow(
                        check.id,
                        check.quarter,
                        check.region,
                        check.retiree_id,
                        check.score,
                        [str(reason.get("code")) for reason in check.reasons or []],
                        check.state,
                        numbers.get(check.staff_id) if check.staff_id is not None else None,
                        check.result,
                    )
                )
            return rows

    async def assign(self, check_id: int, staff_number: str, *, by_user: int | None = None) -> Assignment:
        """Assign a check to the staff member with this number (from the command line, or by a
        staff member in the bot, who must cover the retiree's region: NotStaff otherwise)."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.by_number(staff_number.strip())
            return await self._assign(uow, check_id, staff, by_user)

    async def assign_to(self, check_id: int, staff_id: int, *, by_user: int) -> Assignment:
        """The bot's buttons: assign a check to a colleague chosen from `colleagues`."""
        async with self._uow_factory() as uow:
            return await self._assign(uow, check_id, await uow.staff.get(staff_id), by_user)

    async def _assign(
        self, uow: UnitOfWork, check_id: int, staff: StaffMember | None, by_user: int | None
    ) -> Assignment:
        check = await uow.check_plan.get_for_update(check_id)
        actor = "cli"
        if by_user is not None:
            assigner = await uow.staff.acting(by_user)
            if check is not None and not covers(assigner.region_code, check.region):
                raise NotStaff(by_user)
            actor = f"staff:{assigner.id}"
        if check is None:
            return Assignment(AssignOutcome.NO_CHECK, check_id)
        if check.state == CheckState.DONE:
            return Assignment(AssignOutcome.DONE, check_id)
        if staff is None or not staff.active:
            return Assignment(AssignOutcome.NO_STAFF, check_id)
        if not covers(staff.region_code, check.region):
            return Assignment(AssignOutcome.OTHER_REGION, check_id, staff.staff_number, staff.name)
        before = check.staff_id
        check.staff_id, check.state, check.assigned_at = staff.id, CheckState.ASSIGNED.value, self._clock()
        uow.audit.add(
            AuditEntry(
                at=self._clock(),
                actor=actor,
                action="onsite_check_assigned",
                retiree_id=check.retiree_id,
                detail={"check_id": check.id, "staff_id": staff.id, "before": before},
            )
        )
        await uow.commit()
        return Assignment(AssignOutcome.ASSIGNED, check_id, staff.staff_number, staff.name)

    async def my_checks(self, staff_user_id: int) -> list[CheckView]:
        """The checks assigned to this staff member and not done yet, riskiest first."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(staff_user_id)
            checks = await uow.check_plan.checks(states=[CheckState.ASSIGNED.value], staff_id=staff.id)
            ordered = sorted(checks, key=lambda c: (-c.score, c.id))[:MAX_LISTED]
            return [await self._view(uow, check) for check in ordered]

    async def unassigned(self, staff_user_id: int) -> list[CheckView]:
        """Proposed checks of the regions this staff member covers, nobody assigned yet."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(staff_user_id)
            checks = await uow.check_plan.checks(
                region_start=staff.region_code[:2], states=[CheckState.PROPOSED.value]
            )
            mine = [c for c in checks if covers(staff.region_code, c.region)]
            ordered = sorted(mine, key=lambda c: (c.quarter, -c.score, c.id))[:MAX_LISTED]
            return [await self._view(uow, check) for check in ordered]

    async def colleagues(self, staff_user_id: int, check_id: int) -> list[Colleague]:
        """Active staff whose region covers the check's (the sender included)."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(staff_user_id)
            check = await uow.check_plan.get(check_id)
            if check is None:
                return []
            if not covers(staff.region_code, check.region):
                raise NotStaff(staff_user_id)
            return [
                Colleague(member.id, member.staff_number, member.name)
                for member in await uow.check_plan.active_staff(check.region[:2])
                if covers(member.region_code, check.region)
            ]

    async def _view(self, uow: UnitOfWork, check: OnSiteCheck) -> CheckView:
        retiree = await uow.retirees.existing(check.retiree_id)
        staff = await uow.staff.get(check.staff_id) if check.staff_id is not None else None
        return CheckView(
            check.id,
            check.quarter,
            check.region,
            check.score,
            list(check.reasons or []),
            check.state,
            retiree.name,
            mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted)),
            staff.name if staff else None,
        )

    # ------------------------------------------------------------------ results

    async def record(self, staff_user_id: int, check_id: int, result: CheckResult) -> Recorded:
        """What the assigned staff member found on site (NotStaff for someone not staff)."""
        now = self._clock()
        async with self._uow_factory() as uow:
            staff = await uow.staff.acting(staff_user_id)
            check = await uow.check_plan.get_for_update(check_id)
            if check is None:
                return Recorded(RecordOutcome.NO_CHECK, check_id)
            if check.state == CheckState.DONE:
                return Recorded(RecordOutcome.DONE, check_id)
            if check.staff_id != staff.id or not covers(staff.region_code, check.region):
                return Recorded(RecordOutcome.NOT_YOURS, check_id)
            retiree = await uow.retirees.existing(check.retiree_id)
            detail: dict[str, Any] = {"check_id": check.id, "quarter": check.quarter}
            recorded = Recorded(RecordOutcome(result.value), check_id, retiree.name)
            if result is CheckResult.SEEN:
                if await uow.life_events.pending_for_retiree(retiree.id, "death"):
                    return Recorded(RecordOutcome.DEATH_REPORTED, check_id, retiree.name)
                certified_on = now.astimezone(self._zone).date()
                change = await self._cycle.apply_certification(uow, retiree, certified_on)
                retiree.last_certified_on = certified_on
                certification = Certification(
                    retiree_id=retiree.id,
                    certified_at=now,
                    certified_on=certified_on,
                    valid_until=change.due_on,
                    method=ONSITE_METHOD,
                    staff_id=staff.id,
                )
                uow.certifications.add(certification)
                await uow.flush()
                check.certification_id = certification.id
                visit = await uow.home_visits.open_for_retiree(retiree.id)
                if visit is not None:  # met at home: no visit is needed any more
                    visit.state, visit.done_at, visit.staff_id = "done", now, staff.id
                    visit.certification_id = certification.id
                await append_record(
                    uow,
                    region=self._region_code,
                    event="certified",
                    retiree=retiree,
                    method=ONSITE_METHOD,
                    at=now,
                    staff_id=staff.id,
                    detail=detail,
                )
                detail = detail | {"certification_id": certification.id}
                recorded = Recorded(
                    RecordOutcome.SEEN, check_id, retiree.name, change.due_on, resumed=change.resumed
                )
            elif result is CheckResult.NOT_FOUND:
                case = ReviewCase(retiree_id=retiree.id, opened_at=now, opened_because=NOT_FOUND_CASE)
                uow.reviews.add(case)
                await uow.flush()
                await append_record(
                    uow,
                    region=self._region_code,
                    event="assisted_visit",
                    retiree=retiree,
                    method=ONSITE_METHOD,
                    at=now,
                    staff_id=staff.id,
                    detail=detail | {"outcome": "not_home", "found": False},
                )
                detail = detail | {"review_case_id": case.id}
                recorded = Recorded(RecordOutcome.NOT_FOUND, check_id, retiree.name, review_case_id=case.id)
            check.state, check.result, check.done_at = CheckState.DONE.value, result.value, now
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor=f"staff:{staff.id}",
                    action=f"onsite_check_{result.value}",
                    retiree_id=retiree.id,
                    detail=detail,
                )
            )
            await uow.commit()
            return recorded
