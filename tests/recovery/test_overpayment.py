"""The overpayment rule: entitlement runs to the end of the month it ended in; each later
month whose pay day came before payment was stopped was overpaid."""

from __future__ import annotations

from datetime import date

import pytest

from verification.recovery.overpayment import (
    RecoverySettingsError,
    compute_overpayment,
    instalment_dates,
    load_pay_days,
    overpaid_months,
    parse_pay_days,
    parse_yuan,
    pay_date,
    split_instalments,
    yuan,
)


def test_months_after_the_month_of_death_paid_before_the_stop():
    # Died in July; paid on the 10th of August, September, October, November; stopped on 26 Nov.
    assert overpaid_months(date(2026, 7, 20), date(2026, 11, 26), 10) == (
        "2026-08",
        "2026-09",
        "2026-10",
        "2026-11",
    )


@pytest.mark.parametrize("died_on", [date(2026, 7, 1), date(2026, 7, 31)])
def test_death_on_the_first_or_last_day_of_the_month_still_owes_that_month(died_on):
    assert overpaid_months(died_on, date(2026, 9, 1), 10) == ("2026-08",)


def test_nothing_overpaid_when_stopped_before_the_next_pay_day():
    assert overpaid_months(date(2026, 7, 20), date(2026, 8, 10), 10) == ()  # stopped on the pay day
    assert overpaid_months(date(2026, 7, 20), date(2026, 7, 25), 10) == ()
    assert overpaid_months(date(2026, 7, 20), date(2026, 8, 11), 10) == ("2026-08",)


def test_year_boundary():
    assert overpaid_months(date(2025, 11, 30), date(2026, 2, 1), 5) == ("2025-12", "2026-01")


def test_pay_day_past_the_end_of_a_short_month_is_its_last_day_leap_years_too():
    assert pay_date(2028, 2, 31) == date(2028, 2, 29)  # leap year
    assert pay_date(2027, 2, 31) == date(2027, 2, 28)
    assert pay_date(2100, 2, 30) == date(2100, 2, 28)  # a century, not a leap year
    # Died in January; February's pay (day 30) went out on the 29th in 2028, the 28th in 2027.
    assert overpaid_months(date(2028, 1, 15), date(2028, 3, 1), 30) == ("2028-02",)
    assert overpaid_months(date(2028, 1, 15), date(2028, 2, 29), 30) == ()
    assert overpaid_months(date(2027, 1, 15), date(2027, 3, 1), 30) == ("2027-02",)
    assert overpaid_months(date(2027, 1, 15), date(2027, 2, 28), 30) == ()


def test_death_on_29_february():
    assert overpaid_months(date(2028, 2, 29), date(2028, 4, 15), 10) == ("2028-03", "2028-04")


def test_amount_is_months_times_the_monthly_pension_in_fen():
    overpayment = compute_overpayment(date(2026, 7, 20), date(2026, 11, 26), 325050, 10)
    assert overpayment is not None
    assert overpayment.count == 4 and overpayment.total_fen == 4 * 325050 == 1300200
    assert yuan(overpayment.total_fen) == "13002.00"


@pytest.mark.parametrize("monthly", [None, 0, -100])
def test_no_monthly_amount_no_overpayment(monthly):
    assert compute_overpayment(date(2026, 7, 20), date(2026, 11, 26), monthly, 10) is None


def test_nothing_overpaid_gives_none():
    assert compute_overpayment(date(2026, 7, 20), date(2026, 8, 1), 325050, 10) is None


def test_bad_pay_day_is_refused():
    with pytest.raises(ValueError):
        overpaid_months(date(2026, 7, 20), date(2026, 11, 26), 0)


def test_pay_days_per_region_from_the_data_file():
    days = load_pay_days()
    assert 1 <= days.default <= 31
    parsed = parse_pay_days({"default": {"pay_day": 15}, "regions": {"110000": {"pay_day": 5}}})
    assert parsed.for_region("110000") == 5 and parsed.for_region("440300") == 15
    for bad in (
        {"default": {"pay_day": 0}},
        {"regions": {"11": {"pay_day": 5}}},
        {"default": {"pay_day": "5"}},
    ):
        with pytest.raises(RecoverySettingsError):
            parse_pay_days(bad)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1250", 125000),
        ("1250.5", 125050),
        ("1,250.50", 125050),
        ("¥1250.05元", 125005),
        ("１２５０", 125000),
        ("-10", -1000),
        ("0.01", 1),
        ("1.005", None),
        ("abc", None),
        ("1e3", None),
        ("12,50", None),
        ("", None),
    ],
)
def test_staff_amounts_in_yuan(text, fen):
    assert parse_yuan(text) == fen


def test_instalments_add_up_exactly_and_fall_monthly():
    assert split_instalments(1000, 3) == [334, 333, 333]
    assert sum(split_instalments(1300200, 7)) == 1300200
    assert instalment_dates(date(2027, 1, 31), 3) == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]
    with pytest.raises(ValueError):
        split_instalments(2, 3)
