"""The risk score of a self-service pass and the draw of the random share: plain rules on
plain figures (verification/certification/pass_risk.py), and the data file they are read from."""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from dataclasses import replace
from datetime import date

import pytest

from verification.certification.pass_audit import DEFAULT_AUDIT_FILE, load_audit_policy
from verification.certification.pass_risk import (
    AuditPolicy,
    AuditPolicyError,
    PassEvidence,
    age_on,
    audit_call,
    draw,
    parse_audit_policy,
    remote_years_in_a_row,
    score,
)

POLICY = AuditPolicy()
# An ordinary honest pass: a clear match, a lively face, a 70-year-old who certified by phone
# last year for the first time, their own account, a minute after the actions were asked.
PLAIN = PassEvidence(
    match_margin=0.12,
    match_scale="raw",
    frames_matched=4,
    frames_compared=4,
    nonrigid_motion=0.11,
    surround_shift=0.09,
    periodic_peak=1.5,
    video_seconds=9.0,
    age=70,
    remote_years=2,
    elders_certified_by_account=1,
    other_retirees_of_account=0,
    seconds_since_asked=60.0,
)


def codes(evidence: PassEvidence) -> list[str]:
    return [reason.code for reason in score(evidence, POLICY).reasons]


def test_an_ordinary_pass_scores_nothing():
    assert score(PLAIN, POLICY).points == 0 and codes(PLAIN) == []
    assert score(PassEvidence(), POLICY).points == 0  # nothing measured: nothing counted


def test_each_signal_adds_its_points():
    cases = {
        "thin_match": replace(PLAIN, match_margin=0.02),
        "thin_liveness": replace(PLAIN, surround_shift=0.011),
        "age": replace(PLAIN, age=91),
        "remote_years": replace(PLAIN, remote_years=5),
        "account_certifies_many": replace(PLAIN, elders_certified_by_account=3),
        "account_shared": replace(PLAIN, other_retirees_of_account=2),
        "slow_answer": replace(PLAIN, seconds_since_asked=200.0),
        "answer_before_asked": replace(PLAIN, seconds_since_asked=4.0),
    }
    points = {"thin_match": 2, "thin_liveness": 2, "age": 2, "remote_years": 2}
    points |= {"account_certifies_many": 2, "account_shared": 1, "slow_answer": 1, "answer_before_asked": 4}
    for code, evidence in cases.items():
        risk = score(evidence, POLICY)
        assert [r.code for r in risk.reasons] == [code], code
        assert risk.points == points[code], code


def test_thin_match_on_either_scale_or_a_frame_that_did_not_match():
    assert codes(replace(PLAIN, match_scale="snorm", match_margin=0.3)) == ["thin_match"]
    assert codes(replace(PLAIN, match_scale="snorm", match_margin=0.9)) == []
    assert codes(replace(PLAIN, frames_matched=3)) == ["thin_match"]


def test_thin_liveness_from_any_of_its_figures():
    assert codes(replace(PLAIN, nonrigid_motion=0.04)) == ["thin_liveness"]
    assert codes(replace(PLAIN, periodic_peak=2.6)) == ["thin_liveness"]
    assert codes(replace(PLAIN, surround_shift=None, nonrigid_motion=None, periodic_peak=None)) == []


def test_age_and_remote_years_count_in_steps():
    assert [score(replace(PLAIN, age=a), POLICY).points for a in (79, 80, 89, 90, 104)] == [0, 1, 1, 2, 2]
    assert [score(replace(PLAIN, remote_years=y), POLICY).points for y in (2, 3, 4, 5, 9)] == [0, 1, 1, 2, 2]


def test_one_weak_signal_is_not_enough_two_together_are():
    threshold = POLICY.threshold
    assert score(replace(PLAIN, age=95), POLICY).points < threshold
    assert score(replace(PLAIN, elders_certified_by_account=4), POLICY).points < threshold
    # a ninety-year-old not seen in person for five years
    assert score(replace(PLAIN, age=92, remote_years=5), POLICY).points >= threshold
    # a pass near the liveness limit sent by an account that certifies several elders
    assert (
        score(replace(PLAIN, surround_shift=0.01, elders_certified_by_account=3), POLICY).points >= threshold
    )
    # filmed before the actions were known: on its own
    assert score(replace(PLAIN, seconds_since_asked=3.0), POLICY).points >= threshold


def test_a_note_longer_than_the_time_since_asking_is_not_also_slow():
    risk = score(replace(PLAIN, video_seconds=300.0, seconds_since_asked=250.0), POLICY)
    assert [r.code for r in risk.reasons] == ["answer_before_asked"] and risk.reasons[0].value == 250


def test_the_draw_is_uniform_deterministic_and_keyed():
    key = b"k" * 32
    points = [draw(hmac.new(key, f"tg:1:{n}".encode(), hashlib.sha256).digest()) for n in range(20000)]
    assert all(0 <= p < 1 for p in points)
    share = sum(p < 0.05 for p in points) / len(points)
    assert 0.04 < share < 0.06  # about one pass in twenty
    assert sum(p < 0.5 for p in points) / len(points) == pytest.approx(0.5, abs=0.02)
    digest = hmac.new(key, b"tg:1:7", hashlib.sha256).digest()
    assert draw(digest) == draw(digest)  # a re-delivered message draws the same
    other_key = hmac.new(b"x" * 32, b"tg:1:7", hashlib.sha256).digest()
    assert draw(digest) != draw(other_key)  # without the key, nobody can tell beforehand
    assert draw(b"\x00" * 8) == 0.0 and draw(b"\xff" * 8) < 1.0
    with pytest.raises(ValueError):
        draw(b"short")


def test_audited_when_drawn_or_over_the_threshold():
    low, high = b"\x00" * 32, b"\xff" * 32  # draws of 0.0 and nearly 1.0
    calm, risky = score(PLAIN, POLICY), score(replace(PLAIN, seconds_since_asked=2.0), POLICY)
    assert audit_call(calm, high, POLICY).audit is False
    drawn = audit_call(calm, low, POLICY)
    assert drawn.audit and drawn.sampled and not drawn.over_threshold
    over = audit_call(risky, high, POLICY)
    assert over.audit and over.over_threshold and not over.sampled
    assert audit_call(calm, high, POLICY.overridden(share=1.0)).audit  # every pass
    assert not audit_call(calm, low, POLICY.overridden(share=0.0)).audit  # none at random
    assert audit_call(calm, high, POLICY.overridden(threshold=0)).over_threshold


def test_age_on_a_day():
    assert age_on(date(1940, 3, 5), date(2026, 3, 4)) == 85
    assert age_on(date(1940, 3, 5), date(2026, 3, 5)) == 86
    assert age_on(date(1944, 2, 29), date(2026, 2, 28)) == 81
    assert age_on(date(1944, 2, 29), date(2026, 3, 1)) == 82


def test_remote_years_in_a_row_stop_at_a_year_with_staff_or_without_certification():
    history = [(2022, "assisted_photo"), (2023, "self_video"), (2024, "self_video"), (2025, "self_video")]
    assert remote_years_in_a_row([*history, (2026, "self_video")], 2026) == 4
    assert remote_years_in_a_row([*history, (2026, "self_video"), (2026, "review")], 2026) == 0
    assert remote_years_in_a_row([(2023, "self_video"), (2026, "self_video")], 2026) == 1  # a gap
    assert remote_years_in_a_row([], 2026) == 0


def test_the_shipped_file_is_the_documented_policy():
    with DEFAULT_AUDIT_FILE.open("rb") as handle:
        assert parse_audit_policy(tomllib.load(handle)) == AuditPolicy()
    assert load_audit_policy().share == 0.05 and load_audit_policy().threshold == 4
    assert load_audit_policy(share=1.0, threshold=2) == replace(AuditPolicy(), share=1.0, threshold=2)


def test_the_thin_bands_lie_on_the_passing_side_of_the_judge_limits():
    from verification.liveness.judge import LivenessPolicy

    judge = LivenessPolicy()
    assert POLICY.nonrigid_motion_below > judge.min_nonrigid_motion
    assert POLICY.periodic_peak_above < judge.max_periodic_peak
    if getattr(judge, "animation", None) is not None:
        assert POLICY.surround_shift_below > judge.animation.min_surround_shift


@pytest.mark.parametrize(
    "data, where",
    [
        ({"share": 1.5}, "share"),
        ({"threshold": -1}, "threshold"),
        ({"threshold": True}, "threshold"),
        ({"reasons": {"thin_match": {"points": "two"}}}, "reasons.thin_match.points"),
        ({"reasons": {"age": {"steps": [[80]]}}}, "reasons.age.steps"),
        ({"reasons": {"moon_phase": {"points": 1}}}, "unknown"),
        ({"reasons": {"slow_answer": {"after_minutes": 3}}}, "unknown"),
    ],
)
def test_a_bad_policy_file_names_the_key(data, where):
    with pytest.raises(AuditPolicyError, match=where):
        parse_audit_policy(data)
