"""Liveness challenges: which actions a retiree is asked to perform, for how long the request
stands, and that it is answered once.

A request stands for a few minutes (CHALLENGE_LIFETIME): what a real person needs to read
two or three actions and film a 10-s note, with time to spare for glasses or a relative's
help, and too little to have a photo animated into those actions elsewhere and sent back (the
audit of passes also looks at the time taken: verification/certification/pass_risk.py). A note that comes
after that costs nothing: it is not judged or counted, and the answer carries a new challenge
to film (verification.certification.service, "challenge_expired"); no countdown is shown. After a
failed try the next challenge asks for one action per video note ("stepwise"), which is easier
to follow than a sequence.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from kernel.clock import Clock, as_utc, utc_now
from storage.models.certification import AttemptOutcome
from storage.models.liveness import LivenessChallenge
from storage.uow import UnitOfWork, UnitOfWorkFactory
from verification.liveness.actions import Action

CHALLENGE_LIFETIME = timedelta(minutes=5)
# Looking back this far for a failed try decides whether the next challenge is stepwise.
FAILED_TRY_MEMORY = timedelta(hours=24)
STEPWISE_ACTIONS = 2


@dataclass(frozen=True)
class Challenge:
    id: int
    retiree_id: int
    actions: tuple[Action, ...]
    mode: str  # "together" | "stepwise"
    step: int  # stepwise: video notes already accepted
    expires_at: datetime

    @property
    def asked_now(self) -> tuple[Action, ...]:
        """What the next video note must show."""
        return self.actions if self.mode == "together" else (self.actions[self.step],)

    @property
    def last_step(self) -> bool:
        return self.mode == "together" or self.step == len(self.actions) - 1

    def expired(self, now: datetime) -> bool:
        return now >= as_utc(self.expires_at)


def choose_actions(rng: random.Random, count: int) -> tuple[Action, ...]:
    """`count` different actions in a random order. Turning left and right may both be asked;
    their order then matters as much as any other."""
    return tuple(rng.sample(list(Action), count))


class ChallengeService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, *, clock: Clock = utc_now, rng: random.Random | None = None
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        # SystemRandom: the order must not be predictable from earlier challenges.
        self._rng = rng or random.SystemRandom()
        self._scripted: dict[int, tuple[Action, ...]] = {}

    def script(self, retiree_id: int, actions: Sequence[Action]) -> None:
        """From now on, this retiree's every challenge asks for `actions`, in one note. Only the
        demo calls it (demo/seed.py): its retiree certifies with a real recording filmed
        long before any challenge, so the challenge is made to match the recording. A scripted
        challenge is predictable, which a liveness challenge must never be outside the demo."""
        if not actions:
            raise ValueError("a challenge asks for one action at least")
        self._scripted[retiree_id] = tuple(Action(a) for a in actions)

    async def issue(self, retiree_id: int, telegram_user_id: int) -> Challenge:
        """A new challenge for the retiree (voiding any still open)."""
        now = self._clock()
        async with self._uow_factory() as uow:
            actions = self._scripted.get(retiree_id)
            stepwise = actions is None and await self._failed_recently(uow, retiree_id, now)
            if actions is None:
                count = STEPWISE_ACTIONS if stepwise else self._rng.choice((2, 3))
                actions = choose_actions(self._rng, count)
            await uow.challenges.replace_open(retiree_id, now)
            row = LivenessChallenge(
                retiree_id=retiree_id,
                telegram_user_id=telegram_user_id,
                actions=[a.value for a in actions],
                mode="stepwise" if stepwise else "together",
                step=0,
                issued_at=now,
                expires_at=now + CHALLENGE_LIFETIME,
            )
            uow.challenges.add(row)
            await uow.commit()
            return as_challenge(row)

    async def current(self, retiree_id: int, telegram_user_id: int) -> Challenge | None:
        """The open challenge of this sender for this retiree (possibly expired), or None."""
        async with self._uow_factory() as uow:
            row = await uow.challenges.open_for(retiree_id, telegram_user_id)
            return as_challenge(row) if row is not None else None

    async def _failed_recently(self, uow: UnitOfWork, retiree_id: int, now: datetime) -> bool:
        attempts = await uow.attempts.since(retiree_id, now - FAILED_TRY_MEMORY)
        return any(a.outcome == AttemptOutcome.FAIL and a.challenge_id is not None for a in attempts)


def as_challenge(row: LivenessChallenge) -> Challenge:
    return Challenge(
        row.id, row.retiree_id, tuple(Action(a) for a in row.actions), row.mode, row.step, row.expires_at
    )
