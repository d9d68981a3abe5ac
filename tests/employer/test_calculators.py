"""Calculators: contributions from a wage and a region, the late fee, the last day to register."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from content.calculators.money import InputProblem, parse_amount, parse_date, parse_month
from content.calculators.regions import REGIONS_DIR, RegionDataError, load_region, load_regions
from content.calculators.rules import (
    ContributionTable,
    LateFee,
    late_fee,
    monthly_contributions,
    registration_deadline,
)
from content.i18n import Translator


@pytest.fixture(scope="module")
def sample_a():
    return load_regions().get("sample-a")


def test_shipped_regions_are_marked_as_sample_figures():
    regions = load_regions()
    assert len(regions.regions) >= 3
    for region in regions.regions:
        assert region.sample and "示例" in region.name("zh_Hans") and "sample" in region.name("en").lower()
        assert region.floor == (region.average_wage * Decimal("0.6")).quantize(Decimal("0.01"))
        assert region.ceiling == (region.average_wage * 3).quantize(Decimal("0.01"))
        assert region.rates["pension"].employer == Decimal("0.16")
        assert region.rates["pension"].employee == Decimal("0.08")


def test_contributions_for_a_wage_within_the_limits(sample_a):
    table = monthly_contributions(Decimal("8000"), sample_a)
    assert table.base == Decimal("8000") and table.adjusted is None
    lines = {line.insurance: (line.employer, line.employee) for line in table.lines}
    assert lines["pension"] == (Decimal("1280.00"), Decimal("640.00"))
    assert lines["medical"] == (Decimal("480.00"), Decimal("160.00"))
    assert lines["unemployment"] == (Decimal("40.00"), Decimal("40.00"))
    assert lines["work_injury"] == (Decimal("16.00"), Decimal("0.00"))  # employer only
    assert (table.employer_total, table.employee_total) == (Decimal("1816.00"), Decimal("840.00"))


def test_the_base_is_kept_between_floor_and_ceiling(sample_a):
    low = monthly_contributions(Decimal("3000"), sample_a)
    assert (low.base, low.adjusted) == (Decimal("6000.00"), "floor")
    high = monthly_contributions(Decimal("45000"), sample_a)
    assert (high.base, high.adjusted) == (Decimal("30000.00"), "ceiling")
    assert high.lines[0].employee == Decimal("2400.00")


def test_amounts_are_rounded_to_the_fen(sample_a):
    table = monthly_contributions(Decimal("8333.33"), sample_a)
    assert table.lines[0].employee == Decimal("666.67")  # 666.6664
    assert all(line.employer == line.employer.quantize(Decimal("0.01")) for line in table.lines)


def test_late_fee_is_five_in_ten_thousand_a_day():
    fee = late_fee(Decimal("10000"), date(2026, 3, 15), date(2026, 4, 14))
    assert (fee.days, fee.fee, fee.total) == (30, Decimal("150.00"), Decimal("10150.00"))
    assert late_fee(Decimal("10000"), date(2026, 3, 15), date(2026, 3, 15)).fee == Decimal("0.00")
    assert late_fee(Decimal("333.33"), date(2026, 1, 1), date(2026, 1, 4)).fee == Decimal("0.50")


def test_registration_deadline_is_thirty_days_from_the_first_day_of_work():
    deadline = registration_deadline(date(2026, 3, 1))
    assert deadline.last_day == date(2026, 3, 31) and deadline.citation == "社会保险法 第五十八条"
    assert deadline.days_left(date(2026, 3, 25)) == 6
    assert registration_deadline(date(2026, 1, 10), "employer").last_day == date(2026, 2, 9)


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("8000", "8000"),
        ("8,000元", "8000"),
        ("￥8000.50", "8000.50"),
        ("0.8万", "8000.0"),
        ("８０００", "8000"),
    ],
)
def test_amounts_as_people_type_them(typed, value):
    assert parse_amount(typed) == Decimal(value)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("-3000", "negative"),
        ("八千", "not_a_number"),
        ("", "empty"),
        ("1e9", "not_a_number"),
        ("0", "zero"),
        ("999999999999", "too_large"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(typed, code):
    with pytest.raises(InputProblem) as refused:
        parse_amount(typed)
    assert refused.value.code == code


def test_dates_and_months_as_people_write_them():
    today = date(2026, 11, 27)
    for typed in ("2026-03-01", "2026/3/1", "2026年3月1日", "20260301", "3月1日"):
        assert parse_date(typed, today=today) == date(2026, 3, 1)
    for typed in ("2026-03", "2026/3", "2026年3月", "202603"):
        assert parse_month(typed) == (2026, 3)
    with pytest.raises(InputProblem):
        parse_date("2026-02-30")


def test_a_region_file_breaking_the_rules_is_refused(tmp_path: Path):
    text = (REGIONS_DIR / "sample-a.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text.replace(
            '[rates.unemployment]\nemployer = "0.005"\nemployee = "0.005"',
            '[rates.unemployment]\nemployer = "0.002"\nemployee = "0.008"',
        ),
        encoding="utf-8",
    )
    with pytest.raises(RegionDataError, match="unemployment"):
        load_region(bad)


def test_the_service_computes_and_the_presenter_shows_the_table_and_the_sample_warning(service):
    from bot.presenters.calculators import contributions_text, deadline_text, late_fee_text, problem_text

    zh, en = Translator("zh_Hans"), Translator("en")
    table = service.contributions("8000", "sample-a")
    assert isinstance(table, ContributionTable)
    text = contributions_text(table, zh)
    assert "1,280.00" in text and "示例" in text and "养老保险" in text
    assert "ceiling" in contributions_text(service.contributions("45000", "sample-a"), en)
    refused = service.contributions("-8000", "sample-a")
    assert isinstance(refused, InputProblem) and "负数" in problem_text(zh, refused)
    fee = service.late_fee("10000", "2026-10-28", None)  # to the service's today, 2026-11-27
    assert (
        isinstance(fee, LateFee) and "30 天" in late_fee_text(fee, zh) and "150.00" in late_fee_text(fee, zh)
    )
    assert service.late_fee("10000", "2026-11-20", "2026-11-01").code == "date_order"
    deadline = service.registration_deadline("2026-03-01")
    assert "2026-03-31" in deadline_text(deadline, zh, service.today())
    assert problem_text(en, service.registration_deadline("soon")) == en("calc.error.not_a_date")
