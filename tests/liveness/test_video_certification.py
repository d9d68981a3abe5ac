"""The video-note policy of the certification service, on SQLite and PostgreSQL: challenges
expire and are answered once, media seen before and forwarded videos are refused (and
recorded), a failed try makes the next challenge stepwise, repeated failures hand over to
staff. The judge is scripted here (its own tests run the real one on real frames; the
end-to-end tests in tests/e2e put both together)."""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.audits.helpers import add_retiree
from verification.certification.challenges import CHALLENGE_LIFETIME, ChallengeService
from verification.certification.service import CertificationService, VideoNote
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService
from verification.liveness.actions import Action
from verification.liveness.fingerprints import Recording
from verification.liveness.judge import ActionFinding, VideoVerdict

USER = 910001


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class ScriptedJudge:
    """Answers each video with the next scripted verdict, with frame hashes drawn from the
    video's bytes (so different videos look different, and the same video the same)."""

    def __init__(self, *verdicts: tuple[str, str]) -> None:
        self.script = list(verdicts)
        self.asked: list[tuple[Action, ...]] = []

    async def judge_video(self, data, actions, references, *, reference_weights=None, cohort=None):
        self.asked.append(tuple(actions))
        verdict, reason = self.script.pop(0)
        rng = random.Random(int.from_bytes(hashlib.sha256(data).digest()[:8], "big"))
        recording = Recording(
            tuple(rng.getrandbits(64) for _ in range(40)), tuple(rng.randbytes(36) for _ in range(40))
        )
        findings = tuple(ActionFinding(a, reason != "action_missing", 1.0, 0.5, "in_order") for a in actions)
        return VideoVerdict(
            verdict, reason, findings, 0.3, 4, {"duration_s": 6.0}, recording,
            hashlib.sha256(data).hexdigest(), {"total_s": 1.0},
        )  # fmt: skip


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def retiree_id(uow_factory, vault) -> int:
    return await add_retiree(uow_factory, vault, user=USER, serial=7, name="蔡刚")


def service(uow_factory, vault, clock, judge) -> CertificationService:
    cycle = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock)
    challenges = ChallengeService(uow_factory, clock=clock, rng=random.Random(5))
    return CertificationService(uow_factory, vault, judge, cycle, clock=clock, challenges=challenges)


def note(n: int, data: bytes | None = None, **changes) -> VideoNote:
    return replace(VideoNote(f"tg:{USER}:{n}", None, USER, USER, data or f"video {n}".encode()), **changes)


async def test_a_live_video_answering_the_challenge_certifies_once(uow_factory, vault, clock, retiree_id):
    judge = ScriptedJudge(("pass", "live_match"))
    certification = service(uow_factory, vault, clock, judge)
    readiness, challenge = await certification.start(USER)
    assert readiness.state == "ready" and challenge.mode == "together" and 2 <= len(challenge.actions) <= 3

    result = await certification.submit_video(note(1))

    assert result.outcome == "certified" and judge.asked == [challenge.actions]
    async with uow_factory() as uow:
        certified = await uow.certifications.latest(retiree_id)
        [attempt] = await uow.attempts.since(retiree_id, clock.now - timedelta(days=1))
        used = await uow.challenges.get(challenge.id)
    assert certified.method == "self_video" and attempt.challenge_id == challenge.id
    assert used.used_at is not None
    again = await certification.submit_video(note(1))  # the same update delivered twice
    assert again.outcome == "certified" and again.repeated and len(judge.asked) == 1


async def test_a_video_after_its_challenge_expired_gets_a_new_challenge(
    uow_factory, vault, clock, retiree_id
):
    certification = service(uow_factory, vault, clock, ScriptedJudge())
    _, first = await certification.start(USER)
    clock.now += CHALLENGE_LIFETIME  # a few minutes (issue 13), no longer half an hour

    result = await certification.submit_video(note(2))

    assert (result.outcome, result.reason) == ("refused", "challenge_expired")
    assert result.challenge is not None and result.challenge.id != first.id
    async with uow_factory() as uow:
        assert [e.code for e in await uow.errors.list(source="selfie")] == ["challenge_expired"]
        assert await uow.attempts.count_for_retiree(retiree_id) == 0  # nothing counted against them


async def test_the_same_video_sent_again_is_refused_and_recorded(uow_factory, vault, clock, retiree_id):
    judge = ScriptedJudge(("fail", "no_match"))
    certification = service(uow_factory, vault, clock, judge)
    await certification.start(USER)
    first = await certification.submit_video(note(3, b"one recording"))
    assert first.outcome == "not_passed" and first.challenge.mode == "stepwise"

    again = await certification.submit_video(note(4, b"one recording"))

    assert (again.outcome, again.reason) == ("refused", "replay")  # their own: not counted
    assert len(judge.asked) == 1  # never judged twice
    async with uow_factory() as uow:
        attempts = await uow.attempts.since(retiree_id, clock.now - timedelta(days=1))
        errors = [e.code for e in await uow.errors.list(source="selfie")]
    assert [(a.outcome, a.reason) for a in attempts] == [("fail", "no_match"), ("refused", "replay")]
    assert errors == ["replay"]


async def test_someone_elses_video_is_a_counted_failure(uow_factory, vault, clock, retiree_id):
    certification = service(uow_factory, vault, clock, ScriptedJudge())
    await certification.start(USER)
    async with uow_factory() as uow:
        await certification_fingerprint(uow, b"a video someone else sent last year")
        await uow.commit()

    result = await certification.submit_video(note(5, b"a video someone else sent last year"))

    assert (result.outcome, result.reason, result.tries_left) == ("not_passed", "replay", 2)


async def certification_fingerprint(uow, data: bytes) -> None:
    from verification.certification.replay_guard import remember

    sha = hashlib.sha256(data).hexdigest()
    recording = Recording((1, 2, 3), (bytes(36),) * 3)
    await remember(uow, kind="video", sha256=sha, recording=recording, retiree_id=None, attempt_id=None)


async def test_forwarded_videos_are_refused_and_recorded(uow_factory, vault, clock, retiree_id):
    judge = ScriptedJudge()
    certification = service(uow_factory, vault, clock, judge)
    await certification.start(USER)

    result = await certification.submit_video(note(6, forwarded=True))

    assert (result.outcome, result.reason) == ("not_passed", "forwarded") and judge.asked == []
    async with uow_factory() as uow:
        assert [e.code for e in await uow.errors.list(source="selfie")] == ["forwarded"]


async def test_after_a_failure_one_action_per_video_then_certified(uow_factory, vault, clock, retiree_id):
    judge = ScriptedJudge(("fail", "action_missing"), ("pass", "live_match"), ("pass", "live_match"))
    certification = service(uow_factory, vault, clock, judge)
    await certification.start(USER)

    failed = await certification.submit_video(note(7))
    assert failed.outcome == "not_passed" and failed.missing_actions
    stepwise = failed.challenge
    assert stepwise.mode == "stepwise" and len(stepwise.actions) == 2
    first_step = await certification.submit_video(note(8))
    assert first_step.outcome == "next_step" and first_step.next_actions == (stepwise.actions[1],)
    done = await certification.submit_video(note(9))

    assert done.outcome == "certified"
    assert judge.asked[1:] == [(stepwise.actions[0],), (stepwise.actions[1],)]


async def test_repeated_failures_pause_self_service_for_staff_review(uow_factory, vault, clock, retiree_id):
    judge = ScriptedJudge(*[("fail", "wrong_order")] * 3)
    certification = service(uow_factory, vault, clock, judge)
    await certification.start(USER)

    results = [await certification.submit_video(note(10 + n)) for n in range(3)]

    assert [r.outcome for r in results] == ["not_passed", "not_passed", "review_opened"]
    assert (await certification.readiness(USER)).state == "in_review"
    readiness, challenge = await certification.start(USER)
    assert readiness.state == "in_review" and challenge is None


async def test_two_videos_racing_for_one_challenge_use_it_once(uow_factory, vault, clock, retiree_id):
    judge = ScriptedJudge(("pass", "live_match"), ("pass", "live_match"))
    certification = service(uow_factory, vault, clock, judge)
    await certification.start(USER)

    results = await asyncio.gather(certification.submit_video(note(20)), certification.submit_video(note(21)))

    assert sorted(r.outcome for r in results) == ["certified", "refused"]
    async with uow_factory() as uow:
        assert await uow.certifications.count_for_retiree(retiree_id) == 1
