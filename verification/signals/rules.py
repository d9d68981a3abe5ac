"""When a life signal certifies the year silently: pure rules over a retiree's cycle.

A signal certifies when all of these hold (otherwise it is kept, and the reason counted):
the source proves life; the signal is at most the source's `max_age_days` old today; the
retiree has not opted out of data matching; payment is active (a suspended payment is resumed
by a person: in the chat, at a counter or at a visit, never by a feed); the signal is newer
than the last certification; and it falls inside the certification window: no due date yet,
or at most `certify_from_days_before_due` days before the due date, or later.

The certification is dated the day of the signal, so the next due date is counted from the
day the retiree was seen alive, not from the day the feed arrived, and never moves back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from verification.cycle.policies import CyclePolicies
from verification.cycle.rules import ACTIVE, next_due_date
from verification.signals.sources import SourcePolicy


class NotCertifying(StrEnum):
    """Why a kept signal gave no certification (counted in the import's report)."""

    NOT_PROOF = "not_proof"
    TOO_OLD = "too_old"
    NOT_ACTIVE = "not_active"
    NOT_NEWER = "not_newer"
    TOO_EARLY = "too_early"


@dataclass(frozen=True, slots=True)
class Cycle:
    """What the rules need of a retiree."""

    birth_date: date
    pension_region: str
    due_on: date | None
    last_certified_on: date | None
    payment_state: str


@dataclass(frozen=True, slots=True)
class SilentCertification:
    certified_on: date
    due_on: date


def silent_certification(
    day: date,
    cycle: Cycle,
    source: SourcePolicy,
    *,
    today: date,
    window_days: int,
    policies: CyclePolicies,
) -> SilentCertification | NotCertifying:
    if not source.proves_life:
        return NotCertifying.NOT_PROOF
    if (today - day).days > source.max_age_days:
        return NotCertifying.TOO_OLD
    if cycle.payment_state != ACTIVE:
        return NotCertifying.NOT_ACTIVE
    if cycle.last_certified_on is not None and day <= cycle.last_certified_on:
        return NotCertifying.NOT_NEWER
    if cycle.due_on is not None and day < cycle.due_on - timedelta(days=window_days):
        return NotCertifying.TOO_EARLY
    due_on = next_due_date(day, cycle.birth_date, policies.for_region(cycle.pension_region))
    if cycle.due_on is not None and cycle.due_on > due_on:
        due_on = cycle.due_on
    return SilentCertification(day, due_on)
