"""A challenge stands for a few minutes (issue 13: what a real person needs, too little to have
a photo animated elsewhere); a note after that costs nothing and comes back with a new
challenge; each stepwise step gets the whole lifetime again."""

from __future__ import annotations

from datetime import timedelta

from kernel.clock import as_utc
from tests.audits.helpers import CALM, add_retiree, note, stack
from verification.certification.challenges import CHALLENGE_LIFETIME

USER = 921001


def test_the_lifetime_is_minutes_not_half_an_hour():
    assert timedelta(minutes=2) <= CHALLENGE_LIFETIME <= timedelta(minutes=10)


async def test_a_note_within_the_lifetime_is_judged(uow_factory, vault):
    await add_retiree(uow_factory, vault, user=USER, serial=31)
    s = stack(uow_factory, vault)
    _, challenge = await s.certification.start(USER)
    assert as_utc(challenge.expires_at) == s.clock.now + CHALLENGE_LIFETIME
    s.clock.now += CHALLENGE_LIFETIME - timedelta(seconds=1)

    assert (await s.certification.submit_video(note(USER, 1))).outcome == "certified"


async def test_a_late_note_costs_nothing_and_brings_a_fresh_challenge(uow_factory, vault):
    retiree_id = await add_retiree(uow_factory, vault, user=USER, serial=32)
    s = stack(uow_factory, vault)
    _, first = await s.certification.start(USER)
    s.clock.now += CHALLENGE_LIFETIME

    late = await s.certification.submit_video(note(USER, 2))

    assert (late.outcome, late.reason) == ("refused", "challenge_expired") and s.judge.asked == []
    fresh = late.challenge
    assert fresh is not None and fresh.id != first.id and fresh.mode == "together"  # not stepwise
    assert as_utc(fresh.expires_at) == s.clock.now + CHALLENGE_LIFETIME
    async with uow_factory() as uow:
        assert await uow.attempts.count_for_retiree(retiree_id) == 0  # no try counted
    assert (await s.certification.readiness(USER)).state == "ready"  # no lock
    s.clock.now += timedelta(minutes=1)
    assert (await s.certification.submit_video(note(USER, 3))).outcome == "certified"


async def test_each_stepwise_step_gets_the_whole_lifetime(uow_factory, vault):
    await add_retiree(uow_factory, vault, user=USER, serial=33)
    s = stack(uow_factory, vault)
    await s.certification.start(USER)
    s.judge.figures.append(CALM | {"verdict": ("fail", "action_missing")})
    s.clock.now += timedelta(minutes=1)
    failed = await s.certification.submit_video(note(USER, 4))
    assert failed.outcome == "not_passed" and failed.challenge.mode == "stepwise"
    step = CHALLENGE_LIFETIME - timedelta(seconds=30)

    s.clock.now += step
    assert (await s.certification.submit_video(note(USER, 5))).outcome == "next_step"
    s.clock.now += step  # later than the challenge's first end, within the step's own
    assert (await s.certification.submit_video(note(USER, 6))).outcome == "certified"
