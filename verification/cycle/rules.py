"""The certification cycle as pure rules: due dates, state, reminders, suspension, back-pay.

Plain Python over dates; every number comes from a `CyclePolicy` (data/cycle_policies.toml).
All dates are local dates in the region's time zone; the caller turns "now" into one.

The due date (`due_on`) is the last day a certification is valid: certifying on that day
is in time, the day after it is overdue. Then, after `grace_days` more days, payment is
suspended; certifying again resumes it, and the months it was suspended are paid back.

How the two rules read (FACTS: "one certification is valid for 12 months; some regions use
from the birthday month to the month before the next birthday"):

* ``rolling_12``: due on the same day 12 months after the certification; a certification
  on 29 February is due on 28 February (a month without that day takes its last day).
* ``birthday_month``: the certification year runs from the birthday month to the end of
  the month before the next birthday month, so the due date is always the last day of the
  month before the birthday month. Which one: the first such day at least `min_months`
  (sample: 6) after the certification. Certifying in the reminder window before a deadline
  (at most a month early) therefore moves the deadline a full year on instead of leaving it
  where it was; certifying late, after a suspension, covers the whole certification year it
  falls in (and, past its middle, the next one too), so nobody is due again within months.
  Example, born in March: certified 10 Feb 2026 -> due 28 Feb 2027; certified in May 2026
  after missing February -> due 28 Feb 2027; certified in October 2026 -> due 29 Feb 2028.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Literal

from verification.cycle.policies import CyclePolicy

StateName = Literal["never", "valid", "due_soon", "overdue", "suspended"]
SUSPENDED = "suspended"
ACTIVE = "active"


@dataclass(frozen=True)
class State:
    name: StateName
    # Days until the due date: 0 on the day itself, negative once overdue; None without one.
    days_left: int | None


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier); the last day of a shorter month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def next_due_date(certified_on: date, birth_date: date, policy: CyclePolicy) -> date:
    """The due date that a certification on `certified_on` gives (see the module docstring)."""
    if policy.rule == "rolling_12":
        return add_months(certified_on, 12)
    if policy.rule == "birthday_month":
        earliest = add_months(certified_on, policy.min_months)
        # The month before the birthday month; December of the year before for January.
        deadline_month = 12 if birth_date.month == 1 else birth_date.month - 1
        candidate = month_end(earliest.year, deadline_month)
        if candidate < earliest:
            candidate = month_end(earliest.year + 1, deadline_month)
        return candidate
    raise ValueError(f"unknown cycle rule {policy.rule!r}")


def certification_state(
    today: date,
    due_on: date | None,
    last_certified_on: date | None,
    payment_state: str,
    policy: CyclePolicy,
) -> State:
    """Where a retiree stands today.

    * "suspended": payment is suspended (whatever the dates say: the payment state is what
      the paying agency acts on);
    * "never": no certification on file and no due date yet;
    * "valid": more than the first reminder threshold (30 days) before the due date;
    * "due_soon": within it, up to and including the due date;
    * "overdue": past the due date with payment not (yet) suspended.

    A certification on file without a due date (not computed yet) counts as "valid" with
    `days_left` None.
    """
    days_left = (due_on - today).days if due_on is not None else None
    if payment_state == SUSPENDED:
        return State("suspended", days_left)
    if days_left is None:
        return State("never" if last_certified_on is None else "valid", None)
    if days_left < 0:
        return State("overdue", days_left)
    if days_left <= policy.first_reminder_days:
        return State("due_soon", days_left)
    return State("valid", days_left)


def reminder_due(
    today: date, due_on: date, policy: CyclePolicy, already_sent_thresholds: Iterable[int]
) -> int | None:
    """The reminder threshold (days before the due date) to send today, or None.

    The threshold that applies is the smallest one not below the days left. When several
    have passed unsent (the bot was down), only that latest one is sent; an earlier one is
    never sent after a later one. Nothing after the due date: then it is overdue.
    """
    days_left = (due_on - today).days
    if days_left < 0:
        return None
    applicable = [days for days in policy.reminder_days if days >= days_left]
    if not applicable:
        return None
    latest = min(applicable)
    if any(sent <= latest for sent in already_sent_thresholds):
        return None
    return latest


def in_quiet_hours(local_time: time, policy: CyclePolicy) -> bool:
    """Whether `local_time` falls in the quiet hours [start, end), which may span midnight."""
    start, end = policy.quiet_start, policy.quiet_end
    local_time = local_time.replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end


def suspension_due(today: date, due_on: date | None, payment_state: str, policy: CyclePolicy) -> bool:
    """Payment is to be suspended: past the due date and the grace after it, not yet suspended."""
    if due_on is None or payment_state == SUSPENDED:
        return False
    return due_on + timedelta(days=policy.grace_days) < today


def suspension_date(due_on: date, policy: CyclePolicy) -> date:
    """The first day on which payment may be suspended."""
    return due_on + timedelta(days=policy.grace_days + 1)


def back_pay_months(suspended_on: date, resumed_on: date) -> list[str]:
    """The months to pay back, "YYYY-MM", from the suspension's month to the resumption's.

    Payment resumes the month after certifying, with the months it was suspended paid back
    (机关事业单位养老保险经办规程 Art. 49; common practice).
    """
    if resumed_on < suspended_on:
        raise ValueError("resumed before it was suspended")
    months = []
    year, month = suspended_on.year, suspended_on.month
    while (year, month) <= (resumed_on.year, resumed_on.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
