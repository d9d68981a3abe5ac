"""The cycle's numbers come from data/cycle_policies.toml; a bad file is refused clearly."""

from __future__ import annotations

from datetime import time

import pytest

from verification.cycle.policies import (
    DEFAULT_POLICY_FILE,
    CyclePolicy,
    PolicyError,
    load_cycle_policies,
    parse_cycle_policies,
)


def test_the_shipped_file_loads_with_the_issue_defaults():
    policies = load_cycle_policies()
    default = policies.default
    assert default.rule == "rolling_12"
    assert default.grace_days == 30
    assert default.reminder_days == (30, 14, 7, 1)
    assert (default.quiet_start, default.quiet_end) == (time(21), time(8))
    assert default.min_months == 6
    assert any(policy.rule == "birthday_month" for policy in policies.regions.values())
    assert all(len(code) == 6 and code.isdigit() for code in policies.regions)
    assert "SAMPLE" in DEFAULT_POLICY_FILE.read_text(encoding="utf-8")


def test_regions_inherit_what_they_do_not_say():
    policies = parse_cycle_policies(
        {
            "default": {"grace_days": 20, "reminder_days": [1, 30, 7]},
            "regions": {"320000": {"rule": "birthday_month"}},
        }
    )
    region = policies.for_region("320000")
    assert region.rule == "birthday_month"
    assert region.grace_days == 20
    assert region.reminder_days == (30, 7, 1)
    assert policies.for_region("999999") is policies.default
    assert policies.for_region(None) is policies.default
    assert policies.widest_reminder_window == 30 and policies.shortest_grace == 20


def test_empty_file_gives_the_built_in_defaults():
    assert parse_cycle_policies({}).default == CyclePolicy()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"default": {"rule": "yearly"}}, "rule"),
        ({"default": {"grace_days": -1}}, "grace_days"),
        ({"default": {"grace_days": True}}, "grace_days"),
        ({"default": {"reminder_days": []}}, "reminder_days"),
        ({"default": {"reminder_days": [7, 7]}}, "twice"),
        ({"default": {"quiet_start": "9pm"}}, "quiet_start"),
        ({"default": {"min_months": 13}}, "min_months"),
        ({"default": {"grace": 30}}, "unknown"),
        ({"regions": {"31000": {}}}, "6 digits"),
        ({"region": {}}, "unknown"),
    ],
)
def test_a_malformed_policy_is_refused(data, message):
    with pytest.raises(PolicyError, match=message):
        parse_cycle_policies(data)
