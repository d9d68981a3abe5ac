"""The check plan's pure rules: the ranking, which records show a check, quarters, the policy
file, and the words of every reason, result and button in both languages."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from bot.handlers import check_plan as handler
from content.i18n import Translator
from storage.repositories.checkplan import RecordFacts
from verification.checkplan.coverage import tally
from verification.checkplan.means import SEEN_FINDINGS, Means, means_of
from verification.checkplan.quarters import Quarter, instant
from verification.checkplan.risk import (
    REASON_CODES,
    PlanPolicy,
    PlanPolicyError,
    RiskFacts,
    load_plan_policy,
    parse_plan_policy,
    remote_years,
    score,
)
from verification.checkplan.service import NOT_FOUND_CASE, AssignOutcome, RecordOutcome
from verification.records.assistance import FINDINGS

TODAY = date(2026, 10, 8)
POLICY = PlanPolicy()


def _codes(facts: RiskFacts) -> dict[str, int]:
    return {reason.code: reason.points for reason in score(facts, TODAY, POLICY).reasons}


def test_each_rule_adds_its_points():
    young = date(1956, 1, 1)
    quiet = RiskFacts(birth_date=young)
    assert _codes(quiet) == {"no_life_signal": 3}
    assert _codes(RiskFacts(birth_date=young, last_signal_on=date(2025, 10, 8))) == {}  # 12 months to the day
    assert _codes(RiskFacts(birth_date=young, last_signal_on=date(2025, 10, 7))) == {"no_life_signal": 3}

    remote = [(date(year, 5, 1), "self_video") for year in (2022, 2023, 2024, 2025)]
    facts = RiskFacts(birth_date=young, last_signal_on=TODAY, certifications=remote)
    assert _codes(facts) == {"remote_only": 2}  # 2025 back to 2022: four years -> the 3-year step
    with_staff = [*remote[:2], (date(2024, 8, 1), "assisted_photo"), remote[3]]
    assert remote_years(with_staff, frozenset(), 2026) == 1
    assert remote_years(remote, frozenset({2024}), 2026) == 1  # seen at a bank counter in 2024
    assert remote_years([*remote, (date(2026, 3, 1), "data")], frozenset(), 2026) == 5
    assert remote_years([], frozenset(), 2026) == 0

    assert _codes(RiskFacts(birth_date=young, last_signal_on=TODAY, binding_kinds=["helper", "helper"])) == {
        "helper_only": 2
    }
    assert _codes(RiskFacts(birth_date=young, last_signal_on=TODAY, binding_kinds=["helper", "self"])) == {}
    assert _codes(RiskFacts(birth_date=young, last_signal_on=TODAY, binding_kinds=[])) == {}
    assert _codes(RiskFacts(birth_date=young, last_signal_on=TODAY, elders_of_account=3)) == {
        "shared_account": 3
    }
    assert _codes(RiskFacts(birth_date=young, last_signal_on=TODAY, elders_of_account=2)) == {}
    assert _codes(RiskFacts(birth_date=young, last_signal_on=TODAY, pass_score=5)) == {"pass_score": 2}
    assert _codes(RiskFacts(birth_date=young, last_signal_on=TODAY, pass_score=40)) == {"pass_score": 4}
    assert _codes(RiskFacts(birth_date=young, last_signal_on=TODAY, pass_score=1)) == {}

    ages = {born: _codes(RiskFacts(birth_date=born, last_signal_on=TODAY)).get("age", 0) for born in (
        date(1946, 10, 9), date(1946, 10, 8), date(1941, 1, 1), date(1936, 1, 1), date(1930, 1, 1),
    )}  # fmt: skip
    assert list(ages.values()) == [0, 1, 2, 3, 4]  # 79, 80 on the day, 85, 90, 96

    everything = RiskFacts(
        birth_date=date(1930, 1, 1),
        certifications=remote,
        binding_kinds=["helper"],
        elders_of_account=4,
        pass_score=6,
    )
    risk = score(everything, TODAY, POLICY)
    assert risk.points == 3 + 2 + 2 + 3 + 4 + 3
    assert [r.code for r in risk.reasons] == list(REASON_CODES)
    assert {"code": "age", "points": 4, "value": 96} in risk.as_json()


def test_the_policy_file_and_its_refusals():
    assert load_plan_policy() == PlanPolicy()  # the data file says what the defaults say
    assert parse_plan_policy({"target": 0.7, "reasons": {"age": {"steps": [[90, 5]]}}}).age_steps == (
        (90, 5),
    )
    for bad, where in (
        ({"target": 1.5}, "target"),
        ({"target": True}, "target"),
        ({"surprise": 1}, "surprise"),
        ({"reasons": {"moon_phase": {}}}, "moon_phase"),
        ({"reasons": {"age": {"steps": [[80]]}}}, "reasons.age.steps"),
        ({"reasons": {"helper_only": {"points": -1}}}, "reasons.helper_only.points"),
        ({"reasons": {"helper_only": {"weight": 1}}}, "weight"),
    ):
        with pytest.raises(PlanPolicyError, match=where):
            parse_plan_policy(bad)


def test_which_records_show_a_check():
    assert means_of("certified", "self_video", {}) is Means.SELF_SERVICE
    assert means_of("certified", "assisted_photo", {"place": "home_visit"}) is Means.HOME_VISIT
    assert means_of("certified", "assisted_photo", {"place": "service_point"}) is Means.IN_PERSON
    assert means_of("certified", "assisted_photo", None) is Means.IN_PERSON
    assert means_of("certified", "data", {"source": "bank"}) is Means.DATA
    assert means_of("certified", "onsite_check", {}) is Means.ONSITE_CHECK
    assert means_of("certified", "something_new", {}) is Means.OTHER  # a certification all the same
    assert means_of("review_approved", "review", {}) is Means.STAFF_REVIEW
    for finding in FINDINGS:
        detail = {"assistance": {"finding": finding}}
        expected = Means.ASSISTANCE if finding in ("alive_certified", "seen_not_certified") else None
        assert means_of("assisted_visit", "assistance", detail) is expected
    assert SEEN_FINDINGS <= set(FINDINGS)
    assert means_of("assisted_visit", "assistance", {"assistance": "free text"}) is None
    assert means_of("assisted_visit", "home_visit", {"outcome": "not_home"}) is None
    assert means_of("assisted_visit", "onsite_check", {"outcome": "not_home", "found": False}) is None
    for event in ("suspended", "resumed", "review_rejected", "death_reported", "hospital_reported"):
        assert means_of(event, "cycle", {}) is None


def test_quarters_and_their_bounds():
    assert Quarter.parse("2026Q4") == Quarter.parse(" 2026q4 ") == Quarter(2026, 4)
    for bad in ("2026Q5", "2026-Q4", "Q4", "２０２６Q4", "2026Q4\n1"):
        with pytest.raises(ValueError):
            Quarter.parse(bad)
    q = Quarter(2026, 4)
    assert (str(q), q.first_day, q.end, q.quarters_left) == ("2026Q4", date(2026, 10, 1), date(2027, 1, 1), 1)
    assert (Quarter(2026, 1).end, Quarter(2026, 1).quarters_left) == (date(2026, 4, 1), 4)
    assert Quarter.of(date(2026, 3, 31)) == Quarter(2026, 1) and Quarter.of(date(2026, 4, 1)) == Quarter(
        2026, 2
    )
    assert instant(date(2026, 4, 1), ZoneInfo("Asia/Shanghai")) == "2026-03-31T16:00:00+00:00"


def test_tally_counts_each_retiree_once_and_by_each_means():
    zone = ZoneInfo("Asia/Shanghai")
    records = [
        RecordFacts("a", "certified", "self_video", {}, "2026-02-01T02:00:00+00:00"),
        RecordFacts("a", "certified", "data", {}, "2026-05-01T02:00:00+00:00"),
        RecordFacts("b", "certified", "self_video", {}, "2026-03-31T16:30:00+00:00"),  # 1 April here
        RecordFacts("c", "suspended", "cycle", {}, "2026-02-01T02:00:00+00:00"),
        RecordFacts("z", "certified", "self_video", {}, "2026-02-01T02:00:00+00:00"),  # not on the roster
        RecordFacts("a", "certified", "self_video", {}, "2025-12-31T15:59:59+00:00"),  # last year here
    ]
    q1, q2 = tally(["a", "b", "c"], records, [Quarter(2026, 2), Quarter(2026, 1)], zone, 0.6)
    assert (q1.quarter, q1.checked, q1.checked_in_quarter, q1.by_means["self_service"]) == ("2026Q1", 1, 1, 1)
    assert (q2.checked, q2.checked_in_quarter, q2.by_means["self_service"], q2.by_means["data"]) == (
        2,
        2,
        2,
        1,
    )
    assert (q2.target_count, q2.shortfall) == (2, 0) and q1.shortfall == 1
    assert q2.as_json()["share"] == round(2 / 3, 4)


def test_every_reason_result_and_button_has_words_in_both_languages():
    for language in ("zh_Hans", "en"):
        t = Translator(language)
        assert t("menu.check_plan")
        for code in REASON_CODES:
            assert t(f"checkplan.reason.{code}", value=7)
        for key in (*handler.RECORDED_TEXT.values(), *handler.ASSIGNED_TEXT.values()):
            assert "{" not in t(key, check_id=1, name="王", valid_until="x", case_id=2, number="S1")
        for result in handler.RESULTS:
            assert t(f"checkplan.button.{result}") and t(f"checkplan.confirm.{result}", check_id=1)
        assert t(f"review.because.{NOT_FOUND_CASE}")
    assert set(handler.RECORDED_TEXT) == set(RecordOutcome)
    assert set(handler.ASSIGNED_TEXT) == set(AssignOutcome)
    # The texts that cite a rule name it.
    zh = Translator("zh_Hans")
    assert "劳社部函〔2003〕32号" in zh("checkplan.mine.some", count=1) and "60%" in zh(
        "checkplan.mine.some", count=1
    )
    assert "第二十五条" in zh("checkplan.recorded.deceased", name="王")


def test_the_buttons_read_back_what_they_make():
    for button, values in (
        (handler.FOUND, (12, "not_found")),
        (handler.CONFIRM, (10**18 - 1, "deceased")),
        (handler.BACK, (3,)),
        (handler.UNASSIGNED, ()),
        (handler.PICK, (4,)),
        (handler.ASSIGN, (10**18 - 1, 10**18 - 1)),
    ):
        data = button(*values)
        assert button.read(data) == values and len(data.encode()) <= 64
    assert handler.FOUND.read("ck:res:1:buried") is None and handler.ASSIGN.read("ck:to:1:٣") is None
