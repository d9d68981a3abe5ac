"""The certification cycle over the database: due dates, status, reminders, suspensions.

The rules are in `verification.cycle.rules` (pure); this service reads and writes through the
unit of work. "Today" is the local date in the configured time zone, from an injectable
clock (an aware UTC datetime), so tests can move time.

Reminders are swept from the database, so they survive restarts: a sweep returns the
reminders to send now and *claims* each one by inserting its `reminders` row (sent_at NULL);
the unique constraint (retiree_id, due_on, days_before, chat_id) lets only one sweeper
claim a reminder, and a claimed or recorded one is never offered again. The sender then
marks it sent, failed (a blocked chat: recorded, not retried) or releases the claim (a
passing error: the next sweep tries again). A process that dies between claiming and
sending loses that one reminder; the next threshold still goes out.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kernel.clock import Clock, utc_now
from storage.models import ErrorRecord, Retiree
from storage.models.certification import AuditEntry, Suspension
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.cycle.policies import CyclePolicies
from verification.cycle.rules import (
    ACTIVE,
    SUSPENDED,
    StateName,
    back_pay_months,
    certification_state,
    in_quiet_hours,
    next_due_date,
    reminder_due,
    suspension_date,
    suspension_due,
)
from verification.records.chain import append_record

logger = logging.getLogger(__name__)

ReminderKey = tuple[int, date, int, int]  # retiree_id, due_on, days_before, chat_id
DEFAULT_LANGUAGE = "zh_Hans"


@dataclass(frozen=True)
class CycleChange:
    """What a certification did to the cycle."""

    due_on: date
    resumed: bool
    back_pay_months: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetireeStatus:
    """One bound retiree at a glance, for the person who asked (themself or a helper)."""

    retiree_id: int
    name: str = field(repr=False)
    for_helper: bool
    last_certified_on: date | None
    due_on: date | None
    state: StateName
    days_left: int | None
    payment_state: str
    # The day payment may be suspended if still not certified (due date + grace).
    suspends_on: date | None
    suspended_on: date | None
    # Months to be paid back: of a suspension resumed this month or last (payment resumes
    # the month after certifying, with them), or accruing while payment is suspended.
    back_pay_months: tuple[str, ...]


@dataclass(frozen=True)
class ReminderNotice:
    """One reminder to send now. Carries a name: never log it."""

    retiree_id: int
    chat_id: int
    retiree_name: str = field(repr=False)
    due_on: date
    days_before: int  # the threshold (30, 14, 7, 1)
    days_left: int  # the actual days until the due date (0 on the day)
    for_helper: bool
    language: str

    @property
    def key(self) -> ReminderKey:
        return (self.retiree_id, self.due_on, self.days_before, self.chat_id)


class CycleService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        policies: CyclePolicies,
        timezone: str | ZoneInfo,
        clock: Clock = utc_now,
        *,
        default_language: str = DEFAULT_LANGUAGE,
        batch_size: int = 500,
        region_code: str | None = None,
    ) -> None:
        self.region_code = region_code  # the chain verification records are appended to
        self._uow_factory = uow_factory
        self._policies = policies
        self._zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        self._clock = clock
        self._default_language = default_language
        self._batch_size = batch_size

    @property
    def policies(self) -> CyclePolicies:
        return self._policies

    def now(self) -> datetime:
        """Local time in the configured zone."""
        return self._clock().astimezone(self._zone)

    def today(self) -> date:
        return self.now().date()

    # --- due dates ----------------------------------------------------------------------

    async def refresh_due_dates(self) -> int:
        """Give every retiree a due date; returns how many were set or moved. Run after each
        roster import, in batches of `batch_size`.

        * No due date yet: the one the last certification on file gives (it may already be
          past: the roster says so); with no certification on file, a first deadline
          `first_deadline_days` (30) from today: a retiree new to the bot gets the reminders
          of a first deadline (and the grace after it) rather than an immediate suspension.
        * A due date already set moves forward (never back) when the roster brings a newer
          certification (done at a counter, say) that gives a later one, as long as payment
          is active. A suspended retiree is left as is: resuming pays months back, which is
          for the certification service (`apply_certification`) or staff to decide.
        """
        today = self.today()
        changed = 0
        after_id = 0
        while True:
            async with self._uow_factory() as uow:
                rows = await uow.cycle.due_date_inputs(after_id, self._batch_size)
                if not rows:
                    break
                updates: list[tuple[int, date]] = []
                for retiree_id, birth_date, region, last_certified_on, due_on, payment_state in rows:
                    policy = self._policies.for_region(region)
                    target = None
                    if last_certified_on is not None:
                        target = next_due_date(last_certified_on, birth_date, policy)
                    if due_on is None:
                        updates.append(
                            (retiree_id, target or today + timedelta(days=policy.first_deadline_days))
                        )
                    elif target is not None and target > due_on and payment_state != SUSPENDED:
                        updates.append((retiree_id, target))
                await uow.cycle.move_due_dates(updates)
                await uow.commit()
                changed += len(updates)
                after_id = rows[-1][0]
        return changed

    async def apply_certification(self, uow: UnitOfWork, retiree: Retiree, certified_on: date) -> CycleChange:
        """A successful certification, inside the caller's unit of work (nothing committed).

        Moves the due date on (never back), and when payment was suspended resumes it:
        closes the open suspension with the months to pay back and writes an audit entry.
        Writes no Certification row and no `last_certified_on`: that is the caller's.
        """
        policy = self._policies.for_region(retiree.pension_region)
        due_on = next_due_date(certified_on, retiree.birth_date, policy)
        if retiree.due_on is not None and retiree.due_on > due_on:
            due_on = retiree.due_on
        retiree.due_on = due_on
        if retiree.payment_state != SUSPENDED:
            return CycleChange(due_on, resumed=False)
        retiree.payment_state = ACTIVE
        suspension = await uow.suspensions.open_for_retiree(retiree.id)
        months: list[str] = []
        if suspension is not None:
            # A certification decided late (a review) may predate the suspension.
            resumed_on = max(certified_on, suspension.suspended_on)
            months = back_pay_months(suspension.suspended_on, resumed_on)
            suspension.resumed_on = resumed_on
            suspension.back_pay_months = months
        uow.audit.add(
            AuditEntry(
                actor="system",
                action="payment_resumed",
                retiree_id=retiree.id,
                detail={
                    "certified_on": certified_on.isoformat(),
                    "suspension_id": suspension.id if suspension else None,
                    "back_pay_months": months,
                    "due_on": due_on.isoformat(),
                },
            )
        )
        await append_record(
            uow,
            region=self.region_code,
            event="resumed",
            retiree=retiree,
            method="cycle",
            at=self._clock(),
            detail={"back_pay_months": months, "due_on": due_on.isoformat()},
        )
        return CycleChange(due_on, resumed=True, back_pay_months=tuple(months))

    # --- status -------------------------------------------------------------------------

    async def status_for_user(self, telegram_user_id: int) -> list[RetireeStatus]:
        """The cycle of every retiree this Telegram user is bound to (self or helper)."""
        today = self.today()
        statuses: list[RetireeStatus] = []
        async with self._uow_factory() as uow:
            for binding in await uow.bindings.active_for_user(telegram_user_id):
                retiree = await uow.retirees.get(binding.retiree_id)
                if retiree is None:
                    continue
                statuses.append(await self._status(uow, retiree, binding.kind == "helper", today))
        return statuses

    async def _status(
        self, uow: UnitOfWork, retiree: Retiree, for_helper: bool, today: date
    ) -> RetireeStatus:
        policy = self._policies.for_region(retiree.pension_region)
        latest = await uow.certifications.latest(retiree.id)
        known = [d for d in (latest.certified_on if latest else None, retiree.last_certified_on) if d]
        last_certified_on = max(known) if known else None
        due_on = retiree.due_on
        if due_on is None and last_certified_on is not None:
            due_on = next_due_date(last_certified_on, retiree.birth_date, policy)
        state = certification_state(today, due_on, last_certified_on, retiree.payment_state, policy)
        suspension = await uow.suspensions.latest_for_retiree(retiree.id)
        suspended_on: date | None = None
        months: tuple[str, ...] = ()
        if suspension is not None and suspension.resumed_on is None and retiree.payment_state == SUSPENDED:
            suspended_on = suspension.suspended_on
            months = tuple(back_pay_months(suspension.suspended_on, max(today, suspension.suspended_on)))
        elif suspension is not None and suspension.resumed_on is not None:
            resumed = suspension.resumed_on
            months_since = (today.year - resumed.year) * 12 + today.month - resumed.month
            if months_since <= 1:  # paid with the first payment after resuming
                months = tuple(suspension.back_pay_months or ())
        return RetireeStatus(
            retiree_id=retiree.id,
            name=retiree.name,
            for_helper=for_helper,
            last_certified_on=last_certified_on,
            due_on=due_on,
            state=state.name,
            days_left=state.days_left,
            payment_state=retiree.payment_state,
            suspends_on=suspension_date(due_on, policy) if due_on and state.name != "suspended" else None,
            suspended_on=suspended_on,
            back_pay_months=months,
        )

    # --- reminders ----------------------------------------------------------------------

    async def sweep_reminders(self, limit: int | None = None) -> list[ReminderNotice]:
        """The reminders to send now, claimed (see the module docstring); at most `limit`.

        For each retiree due within the widest reminder window whose payment is not
        suspended, for each chat bound to them (the retiree's own and every helper's), the
        threshold `reminder_due` gives, unless recorded already. None in quiet hours.
        """
        now = self.now()
        today = now.date()
        async with self._uow_factory() as uow:
            last = today + timedelta(days=self._policies.widest_reminder_window)
            candidates = await uow.cycle.reminder_candidates(today, last)
            if not candidates:
                return []
            recorded: dict[tuple[int, date, int], set[int]] = defaultdict(set)
            retiree_ids = sorted({row[0] for row in candidates})
            for start in range(0, len(retiree_ids), self._batch_size):
                chunk = retiree_ids[start : start + self._batch_size]
                rows = await uow.reminders.recorded_for(chunk, today)
                for retiree_id, due_on, days_before, chat_id in rows:
                    recorded[(retiree_id, due_on, chat_id)].add(days_before)
            notices: list[ReminderNotice] = []
            seen: set[tuple[int, int]] = set()
            for retiree_id, name, region, due_on, chat_id, kind, language in candidates:
                policy = self._policies.for_region(region)
                if (retiree_id, chat_id) in seen or in_quiet_hours(now.time(), policy):
                    continue
                seen.add((retiree_id, chat_id))
                threshold = reminder_due(today, due_on, policy, recorded[(retiree_id, due_on, chat_id)])
                if threshold is None:
                    continue
                notices.append(
                    ReminderNotice(
                        retiree_id=retiree_id,
                        chat_id=chat_id,
                        retiree_name=name,
                        due_on=due_on,
                        days_before=threshold,
                        days_left=(due_on - today).days,
                        for_helper=kind == "helper",
                        language=language or self._default_language,
                    )
                )
                if limit is not None and len(notices) >= limit:
                    break
            claimed = await uow.reminders.claim([notice.key for notice in notices])
            await uow.commit()
        return [notice for notice in notices if notice.key in claimed]

    async def mark_reminder_sent(self, notice: ReminderNotice) -> None:
        """Record the reminder as sent; calling again changes nothing."""
        async with self._uow_factory() as uow:
            await uow.reminders.mark_sent(notice.key, self._clock())
            await uow.commit()

    async def mark_reminder_failed(self, notice: ReminderNotice, reason: str) -> None:
        """Record that the reminder could not be delivered (e.g. "blocked"), so it is not
        tried again, with an error record for staff (no name: ids and the reason only)."""
        async with self._uow_factory() as uow:
            await uow.reminders.claim([notice.key])
            uow.errors.add(
                ErrorRecord(
                    source="cycle_reminder",
                    code=reason[:60],
                    context={
                        "retiree_id": notice.retiree_id,
                        "due_on": notice.due_on.isoformat(),
                        "days_before": notice.days_before,
                    },
                    chat_id=notice.chat_id,
                )
            )
            await uow.commit()

    async def release_reminder(self, notice: ReminderNotice) -> None:
        """Give up a claimed, unsent reminder so that the next sweep tries it again."""
        async with self._uow_factory() as uow:
            await uow.reminders.release(notice.key)
            await uow.commit()

    # --- suspensions --------------------------------------------------------------------

    async def sweep_suspensions(self) -> list[int]:
        """Suspend payment of every retiree past the due date and the grace, except those with
        a hospital stay pending review; returns their ids. Idempotent: a suspended retiree is
        not suspended again, and a retiree who certified while the sweep ran (the due date
        moved) is left alone."""
        today = self.today()
        # Nobody can be past due + grace unless due before today - shortest grace.
        due_before = today - timedelta(days=self._policies.shortest_grace)
        suspended: list[int] = []
        after_id = 0
        while True:
            async with self._uow_factory() as uow:
                rows = await uow.cycle.overdue(due_before, after_id, self._batch_size)
                if not rows:
                    break
                for retiree_id, region, due_on in rows:
                    policy = self._policies.for_region(region)
                    if not suspension_due(today, due_on, ACTIVE, policy):
                        continue
                    # In hospital (reported by a relative, staff not yet decided): a visit is
                    # due, not a suspension for certifying late.
                    if await uow.life_events.pending_for_retiree(retiree_id, "hospital") is not None:
                        continue
                    if not await uow.cycle.suspend_if_unchanged(retiree_id, due_on):
                        continue
                    uow.suspensions.add(
                        Suspension(retiree_id=retiree_id, suspended_on=today, reason="not_certified")
                    )
                    uow.audit.add(
                        AuditEntry(
                            actor="system",
                            action="payment_suspended",
                            retiree_id=retiree_id,
                            detail={
                                "reason": "not_certified",
                                "due_on": due_on.isoformat(),
                                "grace_days": policy.grace_days,
                            },
                        )
                    )
                    await append_record(
                        uow,
                        region=self.region_code,
                        event="suspended",
                        method="cycle",
                        retiree=await uow.retirees.existing(retiree_id),  # a row of overdue()
                        at=self._clock(),
                    )
                    suspended.append(retiree_id)
                await uow.commit()
                after_id = rows[-1][0]
        if suspended:
            logger.info("payment suspended for %d retirees (not certified in time)", len(suspended))
        return suspended
