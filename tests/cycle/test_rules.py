"""The cycle's pure rules: due dates, state, reminders, quiet hours, suspension, back-pay."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, time, timedelta

import pytest

from verification.cycle.policies import CyclePolicy
from verification.cycle.rules import (
    State,
    add_months,
    back_pay_months,
    certification_state,
    in_quiet_hours,
    next_due_date,
    reminder_due,
    suspension_date,
    suspension_due,
)

ROLLING = CyclePolicy(rule="rolling_12")
BIRTHDAY = CyclePolicy(rule="birthday_month", min_months=6)
BORN = date(1955, 7, 14)


# --- next_due_date: rolling 12 months ----------------------------------------------------


@pytest.mark.parametrize(
    ("certified_on", "due_on"),
    [
        (date(2026, 3, 5), date(2027, 3, 5)),
        (date(2024, 2, 29), date(2025, 2, 28)),  # leap day, next year has none
        (date(2027, 2, 28), date(2028, 2, 28)),  # not moved to the 29th of a leap year
        (date(2025, 12, 31), date(2026, 12, 31)),
        (date(2026, 1, 1), date(2027, 1, 1)),
        (date(2026, 8, 31), date(2027, 8, 31)),
    ],
)
def test_rolling_12_is_the_same_day_a_year_later(certified_on, due_on):
    assert next_due_date(certified_on, BORN, ROLLING) == due_on


def test_rolling_12_ignores_the_birthday():
    day = date(2026, 5, 20)
    assert {next_due_date(day, date(1950, m, 1), ROLLING) for m in range(1, 13)} == {date(2027, 5, 20)}


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 5, 15), -17, date(2024, 12, 15)),
        (date(2026, 5, 15), 0, date(2026, 5, 15)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_rolling_12_over_every_day_of_four_years():
    day = date(2024, 1, 1)
    while day < date(2028, 1, 1):
        due = next_due_date(day, BORN, ROLLING)
        assert (due.year, due.month) == (day.year + 1, day.month)
        assert due.day == day.day or (day.month, day.day, due.day) == (2, 29, 28)
        assert 365 <= (due - day).days <= 366
        day += timedelta(days=1)


# --- next_due_date: birthday month -------------------------------------------------------


@pytest.mark.parametrize(
    ("certified_on", "birth_date", "due_on"),
    [
        # Born in March: the year runs March..February; due on the last day of February.
        (date(2026, 2, 10), date(1955, 3, 8), date(2027, 2, 28)),  # in the window: a year on
        (date(2026, 1, 29), date(1955, 3, 8), date(2027, 2, 28)),  # 30 days early: a year on
        (date(2026, 5, 15), date(1955, 3, 8), date(2027, 2, 28)),  # late, after a suspension
        (date(2026, 8, 28), date(1955, 3, 8), date(2027, 2, 28)),  # exactly 6 months before
        (date(2026, 8, 29), date(1955, 3, 8), date(2027, 2, 28)),  # 28 Feb 2027 < 29 Feb? no 29th
        (date(2026, 9, 1), date(1955, 3, 8), date(2028, 2, 29)),  # past the middle: leap February
        (date(2026, 10, 15), date(1955, 3, 8), date(2028, 2, 29)),
        # Born in January: due on 31 December.
        (date(2026, 12, 1), date(1948, 1, 20), date(2027, 12, 31)),
        (date(2026, 6, 30), date(1948, 1, 20), date(2026, 12, 31)),
        (date(2026, 7, 1), date(1948, 1, 20), date(2027, 12, 31)),
        # Born on 29 February: due on 31 January.
        (date(2026, 1, 20), date(1952, 2, 29), date(2027, 1, 31)),
        # Born in December: due on 30 November.
        (date(2026, 11, 30), date(1950, 12, 31), date(2027, 11, 30)),
        (date(2026, 4, 1), date(1950, 12, 31), date(2026, 11, 30)),
    ],
)
def test_birthday_month_due_dates(certified_on, birth_date, due_on):
    assert next_due_date(certified_on, birth_date, BIRTHDAY) == due_on


def test_birthday_month_over_every_day_of_four_years_and_every_birth_month():
    for month, start in itertools.product(range(1, 13), [date(2024, 1, 1)]):
        born = date(1950, month, 1)
        day = start
        while day < date(2028, 1, 1):
            due = next_due_date(day, born, BIRTHDAY)
            # the last day of the month before the birthday month...
            assert (due + timedelta(days=1)).day == 1
            assert (due + timedelta(days=1)).month == month
            # ...at least 6 months after the certification, and the first such day
            assert due >= add_months(day, 6)
            assert add_months(due, -12) < add_months(day, 6)
            day += timedelta(days=3)


def test_certifying_in_the_reminder_window_moves_a_birthday_deadline_a_year_on():
    born = date(1950, 6, 3)
    deadline = date(2026, 5, 31)
    for days_before in range(0, 31):
        assert next_due_date(deadline - timedelta(days=days_before), born, BIRTHDAY) == date(2027, 5, 31)


def test_min_months_is_a_policy_number():
    born = date(1950, 6, 3)
    certified = date(2026, 3, 1)
    assert next_due_date(certified, born, BIRTHDAY) == date(2027, 5, 31)
    assert next_due_date(certified, born, replace(BIRTHDAY, min_months=2)) == date(2026, 5, 31)


# --- certification_state -----------------------------------------------------------------

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("due_on", "last", "payment", "expected"),
    [
        (None, None, "active", State("never", None)),
        (None, date(2026, 1, 1), "active", State("valid", None)),
        (TODAY + timedelta(days=200), date(2025, 9, 26), "active", State("valid", 200)),
        (TODAY + timedelta(days=31), None, "active", State("valid", 31)),
        (TODAY + timedelta(days=30), None, "active", State("due_soon", 30)),
        (TODAY + timedelta(days=1), None, "active", State("due_soon", 1)),
        (TODAY, None, "active", State("due_soon", 0)),
        (TODAY - timedelta(days=1), None, "active", State("overdue", -1)),
        (TODAY - timedelta(days=45), None, "active", State("overdue", -45)),  # not swept yet
        (TODAY - timedelta(days=45), None, "suspended", State("suspended", -45)),
        (None, None, "suspended", State("suspended", None)),
    ],
)
def test_state(due_on, last, payment, expected):
    assert certification_state(TODAY, due_on, last, payment, ROLLING) == expected


def test_due_soon_follows_the_first_reminder_threshold():
    policy = replace(ROLLING, reminder_days=(60, 7))
    assert certification_state(TODAY, TODAY + timedelta(days=45), None, "active", policy).name == "due_soon"
    assert certification_state(TODAY, TODAY + timedelta(days=61), None, "active", policy).name == "valid"


# --- reminder_due --------------------------------------------------------------------------

DUE = date(2026, 4, 30)


@pytest.mark.parametrize(
    ("days_left", "sent", "expected"),
    [
        (45, set(), None),
        (31, set(), None),
        (30, set(), 30),
        (30, {30}, None),
        (29, {30}, None),
        (15, {30}, None),
        (14, {30}, 14),
        (14, {30, 14}, None),
        (7, {30, 14}, 7),
        (1, {30, 14, 7}, 1),
        (1, {30, 14, 7, 1}, None),
        (0, {30, 14, 7}, 1),  # the day itself: the last one, if it never went out
        (0, {30, 14, 7, 1}, None),
        (-1, set(), None),  # none after the due date
        (-20, {30}, None),
    ],
)
def test_reminder_thresholds(days_left, sent, expected):
    assert reminder_due(DUE - timedelta(days=days_left), DUE, ROLLING, sent) == expected


@pytest.mark.parametrize(
    ("days_left", "sent", "expected"),
    [
        (10, set(), 14),  # the bot was down at 30: only the 14-day one, not both
        (5, set(), 7),
        (5, {30}, 7),
        (3, {30, 14}, 7),
        (0, set(), 1),
        (12, {7}, None),  # a later reminder went out: an earlier one never follows it
    ],
)
def test_after_downtime_only_the_latest_threshold_is_sent(days_left, sent, expected):
    assert reminder_due(DUE - timedelta(days=days_left), DUE, ROLLING, sent) == expected


def test_a_whole_cycle_of_daily_sweeps_sends_each_threshold_once():
    sent: list[int] = []
    for days_left in range(60, -40, -1):
        threshold = reminder_due(DUE - timedelta(days=days_left), DUE, ROLLING, sent)
        if threshold is not None:
            sent.append(threshold)
    assert sent == [30, 14, 7, 1]


def test_a_sweep_every_third_day_still_sends_each_threshold_at_most_once_in_order():
    for offset in range(3):
        sent: list[int] = []
        for days_left in range(60 - offset, -10, -3):
            threshold = reminder_due(DUE - timedelta(days=days_left), DUE, ROLLING, sent)
            if threshold is not None:
                sent.append(threshold)
        assert sent == sorted(sent, reverse=True) and len(sent) == len(set(sent))
        assert sent[0] == 30 and set(sent) <= {30, 14, 7, 1}


# --- quiet hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [
        (time(20, 59), False),
        (time(21, 0), True),
        (time(23, 30), True),
        (time(0, 0), True),
        (time(7, 59, 59), True),
        (time(8, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_span_midnight(clock, quiet):
    assert in_quiet_hours(clock, ROLLING) is quiet


def test_quiet_hours_within_a_day_and_none():
    lunch = replace(ROLLING, quiet_start=time(12, 0), quiet_end=time(14, 0))
    assert in_quiet_hours(time(13, 0), lunch)
    assert not in_quiet_hours(time(14, 0), lunch)
    assert not in_quiet_hours(time(2, 0), lunch)
    never = replace(ROLLING, quiet_start=time(0, 0), quiet_end=time(0, 0))
    assert not any(in_quiet_hours(time(h, 30), never) for h in range(24))


# --- suspension ----------------------------------------------------------------------------


def test_suspension_after_the_grace_only():
    due = date(2026, 3, 31)  # grace 30 days: 30 April is the last day of grace
    assert not suspension_due(date(2026, 3, 31), due, "active", ROLLING)
    assert not suspension_due(date(2026, 4, 30), due, "active", ROLLING)
    assert suspension_due(date(2026, 5, 1), due, "active", ROLLING)
    assert suspension_date(due, ROLLING) == date(2026, 5, 1)
    assert not suspension_due(date(2026, 5, 1), due, "suspended", ROLLING)
    assert not suspension_due(date(2026, 5, 1), None, "active", ROLLING)
    longer = replace(ROLLING, grace_days=60)
    assert not suspension_due(date(2026, 5, 1), due, "active", longer)
    assert suspension_due(date(2026, 5, 31), due, "active", longer)


# --- back-pay months -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suspended_on", "resumed_on", "months"),
    [
        (date(2026, 5, 1), date(2026, 5, 20), ["2026-05"]),
        (date(2026, 5, 31), date(2026, 7, 1), ["2026-05", "2026-06", "2026-07"]),
        (date(2026, 11, 2), date(2027, 2, 10), ["2026-11", "2026-12", "2027-01", "2027-02"]),
        (date(2026, 12, 31), date(2027, 1, 1), ["2026-12", "2027-01"]),
        (date(2024, 2, 29), date(2024, 3, 1), ["2024-02", "2024-03"]),
    ],
)
def test_back_pay_months_from_suspension_to_resumption(suspended_on, resumed_on, months):
    assert back_pay_months(suspended_on, resumed_on) == months


def test_back_pay_over_two_year_ends():
    months = back_pay_months(date(2025, 12, 15), date(2027, 1, 3))
    assert len(months) == 14 and months[0] == "2025-12" and months[-1] == "2027-01"
    assert months == sorted(months)


def test_back_pay_refuses_resumption_before_suspension():
    with pytest.raises(ValueError):
        back_pay_months(date(2026, 5, 1), date(2026, 4, 30))
