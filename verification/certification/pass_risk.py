"""The risk of one self-service pass, and whether staff audit it: plain rules, no I/O.

No liveness check is perfect (an animated photo, a re-enactment, a stream injected through a
modified app can pass one), so every pass by video note is scored from what the product
knows about it: how close the face match and the liveness figures came to their limits, the
retiree's age, how many years in a row they certified only by phone, whether the account that
sent the note certifies several elders or is linked with other retirees, and how long after
the actions were asked the note came. The score is the sum of the points of the reasons found;
each reason is a code the catalogs turn into plain words for staff (`audit.reason.<code>`).

A pass goes to the staff audit queue when its score reaches the threshold, or when it is drawn
for the random share. The draw is a keyed hash of the attempt (HMAC with a key the retiree does
not have), read as a number in [0, 1): the same attempt always gets the same answer (a
re-delivered message does not draw again), and nobody without the key can tell beforehand
which passes will be looked at. No clock and no random numbers here: the caller passes the
digest and the figures.

The policy (points, limits, threshold, share) is plain data, `data/pass_audit.toml`, parsed
by `parse_audit_policy`; `verification.certification.pass_audit.load_audit_policy` reads the file once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

# Certification methods that involve no member of staff: the retiree (or a helper) alone.
REMOTE_METHODS = frozenset({"self_video", "self_photo"})
# The reasons whose figure is a plain count (an age, years, retirees, seconds), shown to staff
# as it is; the two "thin" reasons carry margins, which mean nothing to staff.
COUNTED_REASONS = frozenset(
    {"age", "remote_years", "account_certifies_many", "account_shared", "slow_answer", "answer_before_asked"}
)
REASON_CODES = COUNTED_REASONS | {"thin_match", "thin_liveness"}


class AuditPolicyError(ValueError):
    """The policy data is malformed: says which key and why."""


@dataclass(frozen=True)
class PassEvidence:
    """What is known of one pass. None: not measured (the figure abstains)."""

    # Face match: |fused score - threshold| on the scale decided on ("raw" or "snorm"), and
    # how many of the compared frames matched the references on their own.
    match_margin: float | None = None
    match_scale: str = "raw"
    frames_matched: int | None = None
    frames_compared: int | None = None
    # Liveness figures of the judge (verification.liveness.judge, `VideoVerdict.figures`).
    nonrigid_motion: float | None = None
    surround_shift: float | None = None
    periodic_peak: float | None = None  # the highest over the face crops looked at
    video_seconds: float | None = None
    # The retiree and their history.
    age: int | None = None
    remote_years: int = 0  # years in a row, this one included, certified only remotely
    # The Telegram account that sent the note.
    elders_certified_by_account: int = 1  # different retirees it certified (this one included)
    other_retirees_of_account: int = 0  # other retirees it is bound to or tried to certify
    # Seconds from the challenge (for a stepwise one: its previous step) to this note.
    seconds_since_asked: float | None = None


@dataclass(frozen=True)
class RiskReason:
    code: str  # the catalog key is audit.reason.<code>
    points: int
    value: float | int | None = None  # the figure behind it, for the words shown to staff


@dataclass(frozen=True)
class RiskScore:
    points: int
    reasons: tuple[RiskReason, ...]

    def as_json(self) -> list[dict[str, Any]]:
        return [{"code": r.code, "points": r.points, "value": r.value} for r in self.reasons]


@dataclass(frozen=True)
class AuditCall:
    audit: bool
    sampled: bool  # drawn for the random share
    over_threshold: bool
    draw: float  # the attempt's point in [0, 1)


@dataclass(frozen=True)
class AuditPolicy:
    threshold: int = 4
    share: float = 0.05
    thin_match_points: int = 2
    raw_margin_below: float = 0.04
    snorm_margin_below: float = 0.5
    thin_liveness_points: int = 2
    nonrigid_motion_below: float = 0.06
    surround_shift_below: float = 0.016
    periodic_peak_above: float = 2.0
    # (at least, points), the highest step reached counts.
    age_steps: tuple[tuple[int, int], ...] = ((80, 1), (90, 2))
    remote_year_steps: tuple[tuple[int, int], ...] = ((3, 1), (5, 2))
    many_elders_points: int = 2
    many_elders_at_least: int = 3
    many_elders_window_days: int = 365
    shared_account_points: int = 1
    shared_account_at_least: int = 2
    slow_answer_points: int = 1
    slow_answer_after_seconds: float = 180.0
    answer_before_asked_points: int = 4

    def overridden(self, *, share: float | None = None, threshold: int | None = None) -> AuditPolicy:
        """This policy with the share and/or threshold a deployment's settings give."""
        changed = self
        if share is not None:
            changed = replace(changed, share=_share(share, "share"))
        if threshold is not None:
            changed = replace(changed, threshold=_int(threshold, 0, 1000, "threshold"))
        return changed


def score(evidence: PassEvidence, policy: AuditPolicy) -> RiskScore:
    """The points of a pass and the reasons behind them, in a fixed order."""
    reasons: list[RiskReason] = []

    def add(code: str, points: int, value: float | int | None = None) -> None:
        if points > 0:
            reasons.append(RiskReason(code, points, value))

    if _thin_match(evidence, policy):
        add("thin_match", policy.thin_match_points, evidence.match_margin)
    thin_liveness = _thin_liveness(evidence, policy)
    if thin_liveness is not None:
        add("thin_liveness", policy.thin_liveness_points, thin_liveness)
    if evidence.age is not None:
        add("age", _step(evidence.age, policy.age_steps), evidence.age)
    add("remote_years", _step(evidence.remote_years, policy.remote_year_steps), evidence.remote_years)
    if evidence.elders_certified_by_account >= policy.many_elders_at_least:
        add("account_certifies_many", policy.many_elders_points, evidence.elders_certified_by_account)
    if evidence.other_retirees_of_account >= policy.shared_account_at_least:
        add("account_shared", policy.shared_account_points, evidence.other_retirees_of_account)
    elapsed = evidence.seconds_since_asked
    if elapsed is not None and evidence.video_seconds is not None and elapsed < evidence.video_seconds:
        add("answer_before_asked", policy.answer_before_asked_points, round(elapsed))
    elif elapsed is not None and elapsed > policy.slow_answer_after_seconds:
        add("slow_answer", policy.slow_answer_points, round(elapsed))
    return RiskScore(sum(r.points for r in reasons), tuple(reasons))


def draw(digest: bytes) -> float:
    """A keyed digest of the attempt as a number in [0, 1): the top 53 bits of its first 8
    bytes over 2**53 (all a float holds exactly: 64 bits over 2**64 can round up to 1.0)."""
    if len(digest) < 8:
        raise ValueError("the digest must have at least 8 bytes")
    return (int.from_bytes(digest[:8], "big") >> 11) / 2**53


def audit_call(risk: RiskScore, digest: bytes, policy: AuditPolicy) -> AuditCall:
    point = draw(digest)
    sampled = point < policy.share
    over = risk.points >= policy.threshold
    return AuditCall(sampled or over, sampled, over, point)


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on `day` (a 29 February birthday turns over on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def remote_years_in_a_row(certifications: Sequence[tuple[int, str]], this_year: int) -> int:
    """Years in a row, counting back from `this_year`, in which the retiree certified and
    every certification was remote. `certifications`: (year, method) pairs, this pass's
    included. A year without any certification, or with one by staff, ends the run."""
    methods: dict[int, set[str]] = {}
    for year, method in certifications:
        methods.setdefault(year, set()).add(method)
    years = 0
    year = this_year
    while methods.get(year) and methods[year] <= REMOTE_METHODS:
        years += 1
        year -= 1
    return years


def parse_audit_policy(data: Mapping[str, Any]) -> AuditPolicy:
    """The policy from the data file's mapping; AuditPolicyError names a bad key."""
    reasons = data.get("reasons", {})
    if not isinstance(reasons, Mapping):
        raise AuditPolicyError("reasons: must be a table")
    unknown = set(reasons) - REASON_CODES
    if unknown:
        raise AuditPolicyError(f"reasons: unknown {sorted(unknown)}")

    def table(name: str) -> Mapping[str, Any]:
        value = reasons.get(name, {})
        if not isinstance(value, Mapping):
            raise AuditPolicyError(f"reasons.{name}: must be a table")
        return value

    base = AuditPolicy()
    values: dict[str, Any] = {}
    if "threshold" in data:
        values["threshold"] = _int(data["threshold"], 0, 1000, "threshold")
    if "share" in data:
        values["share"] = _share(data["share"], "share")
    # {reason: {key: (AuditPolicy attribute, check(value, where) -> the value to keep)}}
    fields: dict[str, dict[str, tuple[str, Callable[[Any, str], Any]]]] = {
        "thin_match": {
            "points": ("thin_match_points", _points),
            "raw_margin_below": ("raw_margin_below", _positive),
            "snorm_margin_below": ("snorm_margin_below", _positive),
        },
        "thin_liveness": {
            "points": ("thin_liveness_points", _points),
            "nonrigid_motion_below": ("nonrigid_motion_below", _positive),
            "surround_shift_below": ("surround_shift_below", _positive),
            "periodic_peak_above": ("periodic_peak_above", _positive),
        },
        "age": {"steps": ("age_steps", _steps)},
        "remote_years": {"steps": ("remote_year_steps", _steps)},
        "account_certifies_many": {
            "points": ("many_elders_points", _points),
            "at_least": ("many_elders_at_least", _count),
            "window_days": ("many_elders_window_days", _count),
        },
        "account_shared": {
            "points": ("shared_account_points", _points),
            "at_least": ("shared_account_at_least", _count),
        },
        "slow_answer": {
            "points": ("slow_answer_points", _points),
            "after_seconds": ("slow_answer_after_seconds", _positive),
        },
        "answer_before_asked": {"points": ("answer_before_asked_points", _points)},
    }
    for reason, keys in fields.items():
        given = table(reason)
        unknown = set(given) - set(keys)
        if unknown:
            raise AuditPolicyError(f"reasons.{reason}: unknown {sorted(unknown)}")
        for key, (attribute, check) in keys.items():
            if key in given:
                values[attribute] = check(given[key], f"reasons.{reason}.{key}")
    return replace(base, **values)


# --- the rules


def _thin_match(evidence: PassEvidence, policy: AuditPolicy) -> bool:
    limit = policy.snorm_margin_below if evidence.match_scale == "snorm" else policy.raw_margin_below
    if evidence.match_margin is not None and evidence.match_margin < limit:
        return True
    matched, compared = evidence.frames_matched, evidence.frames_compared
    return matched is not None and compared is not None and matched < compared


def _thin_liveness(evidence: PassEvidence, policy: AuditPolicy) -> float | None:
    """The first liveness figure within its thin band, or None."""
    if evidence.surround_shift is not None and evidence.surround_shift < policy.surround_shift_below:
        return evidence.surround_shift
    if evidence.nonrigid_motion is not None and evidence.nonrigid_motion < policy.nonrigid_motion_below:
        return evidence.nonrigid_motion
    if evidence.periodic_peak is not None and evidence.periodic_peak > policy.periodic_peak_above:
        return evidence.periodic_peak
    return None


def _step(value: int, steps: Sequence[tuple[int, int]]) -> int:
    return max((points for at_least, points in steps if value >= at_least), default=0)


# --- checks of the data file's values


def _int(value: Any, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AuditPolicyError(f"{where}: a whole number from {low} to {high}, not {value!r}")
    return value


def _points(value: Any, where: str) -> int:
    return _int(value, 0, 100, where)


def _count(value: Any, where: str) -> int:
    return _int(value, 1, 100_000, where)


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise AuditPolicyError(f"{where}: a positive number, not {value!r}")
    return float(value)


def _share(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise AuditPolicyError(f"{where}: a share from 0 to 1, not {value!r}")
    return float(value)


def _steps(value: Any, where: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list) or not all(isinstance(s, list) and len(s) == 2 for s in value):
        raise AuditPolicyError(f"{where}: a list of [at least, points] pairs")
    return tuple((_int(a, 0, 1000, where), _points(p, where)) for a, p in value)
