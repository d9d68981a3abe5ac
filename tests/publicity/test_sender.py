"""The campaign sender with a fake `send`: once per recipient, crash-safe, limits obeyed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from content.publicity.sender import LEASE, Blocked, CampaignSender, RateLimiter, Refused, RetryLater
from content.publicity.service import PublicityService, Segment
from kernel.permissions import NotStaff
from tests.publicity.helpers import STAFF_USER, add_people, add_staff, bind_retiree


class FakeSend:
    def __init__(self, blocked=(), refused=(), retry_once=(), crash_after=None):
        self.sent: list[int] = []
        self.blocked, self.refused = set(blocked), set(refused)
        self.retry_once = set(retry_once)
        self.crash_after = crash_after

    async def __call__(self, chat_id: int, text: str, photo: str | None) -> None:
        if self.crash_after is not None and len(self.sent) >= self.crash_after:
            raise SystemExit("killed")  # not an Exception: nothing in the sender catches it
        if chat_id in self.retry_once:
            self.retry_once.discard(chat_id)
            raise RetryLater(0.05)
        if chat_id in self.blocked:
            raise Blocked()
        if chat_id in self.refused:
            raise Refused("chat not found")
        self.sent.append(chat_id)


def fast_sender(service, uow_factory, send, **kwargs):
    return CampaignSender(service, uow_factory, send, rate=kwargs.pop("rate", 2000), per_chat=0, **kwargs)


async def _campaign(service, topic="certification") -> int:
    campaign_id = await service.create(STAFF_USER, topic, "Hello", Segment())
    assert await service.schedule(STAFF_USER, campaign_id)
    return campaign_id


async def test_subscribers_receive_once_and_others_not(uow_factory):
    service = PublicityService(uow_factory)
    await add_staff(uow_factory)
    await add_people(uow_factory, [1, 2, 3])
    await add_people(uow_factory, [4], topic="fraud")
    await add_people(uow_factory, [5], topic=None)
    campaign_id = await _campaign(service)
    send = FakeSend()
    sender = fast_sender(service, uow_factory, send)
    report = await sender.run_once()
    assert sorted(send.sent) == [1, 2, 3] and report.sent == 3
    assert (await sender.run_once()).sent == 0
    stats = await service.stats(campaign_id)
    assert (stats.sent, stats.pending, stats.failed, stats.blocked) == (3, 0, 0, 0)
    [view] = await service.campaigns(STAFF_USER)
    assert view.status == "done"


async def test_a_crash_resumes_and_the_interrupted_delivery_is_sent_after_its_lease(uow_factory):
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    service = PublicityService(uow_factory, clock=lambda: now[0])
    await add_staff(uow_factory)
    people = list(range(100, 160))
    await add_people(uow_factory, people)
    campaign_id = await _campaign(service)
    first = FakeSend(crash_after=25)
    with pytest.raises(SystemExit):
        await fast_sender(service, uow_factory, first).run_once()
    second = FakeSend()
    await fast_sender(service, uow_factory, second).run_once()
    assert Counter(first.sent + second.sent).most_common(1)[0][1] == 1
    stats = await service.stats(campaign_id)
    # The one claimed when the process died waits for its lease: the campaign is not done.
    assert (stats.sent, stats.pending, stats.uncertain) == (59, 1, 0)
    [view] = await service.campaigns(STAFF_USER)
    assert view.status == "running"
    now[0] += LEASE + timedelta(seconds=1)
    third = FakeSend()
    report = await fast_sender(service, uow_factory, third).run_once()
    # It may have reached the chat before the crash (not here): sent again, at least once.
    assert report.requeued == 1 and third.sent == [people[25]]
    delivered = Counter(first.sent + second.sent + third.sent)
    assert sorted(delivered) == people and max(delivered.values()) == 1
    stats = await service.stats(campaign_id)
    assert (stats.sent, stats.pending, stats.uncertain) == (60, 0, 0)
    [view] = await service.campaigns(STAFF_USER)
    assert view.status == "done"


async def test_blocked_chat_is_unsubscribed_and_refused_is_failed(uow_factory):
    service = PublicityService(uow_factory)
    await add_staff(uow_factory)
    await add_people(uow_factory, [1, 2, 3])
    campaign_id = await _campaign(service)
    await fast_sender(service, uow_factory, FakeSend(blocked=[2], refused=[3])).run_once()
    stats = await service.stats(campaign_id)
    assert (stats.sent, stats.blocked, stats.failed) == (1, 1, 1)
    assert await service.topics_of(2) == set()
    assert await service.topics_of(3) == {"certification"}


async def test_retry_after_is_obeyed_and_nobody_is_lost(uow_factory):
    service = PublicityService(uow_factory)
    await add_staff(uow_factory)
    await add_people(uow_factory, [1, 2, 3])
    await _campaign(service)
    send = FakeSend(retry_once=[2])
    report = await fast_sender(service, uow_factory, send).run_once()
    assert report.retried == 1 and sorted(send.sent) == [1, 2, 3]


async def test_pause_and_cancel_stop_the_sender(uow_factory):
    service = PublicityService(uow_factory)
    await add_staff(uow_factory)
    await add_people(uow_factory, [1, 2])
    campaign_id = await _campaign(service)
    assert await service.pause(STAFF_USER, campaign_id)
    send = FakeSend()
    await fast_sender(service, uow_factory, send).run_once()
    assert send.sent == []
    assert await service.schedule(STAFF_USER, campaign_id)  # resume
    assert await service.cancel(STAFF_USER, campaign_id)
    await fast_sender(service, uow_factory, send).run_once()
    assert send.sent == []
    assert not await service.pause(STAFF_USER, campaign_id)


async def test_a_campaign_scheduled_later_waits(uow_factory):
    service = PublicityService(uow_factory)
    await add_staff(uow_factory)
    await add_people(uow_factory, [1])
    campaign_id = await service.create(STAFF_USER, "certification", "Later", Segment())
    await service.schedule(STAFF_USER, campaign_id, service.now() + timedelta(hours=1))
    send = FakeSend()
    await fast_sender(service, uow_factory, send).run_once()
    assert send.sent == []


async def test_only_staff_compose_campaigns(uow_factory):
    service = PublicityService(uow_factory)
    with pytest.raises(NotStaff):
        await service.create(1, "certification", "x", Segment())
    with pytest.raises(NotStaff):
        await service.campaigns(1)


async def test_segments_filter_the_audience(uow_factory):
    service = PublicityService(uow_factory)
    await add_staff(uow_factory)
    await add_people(uow_factory, [1, 2, 3, 4])
    await add_people(uow_factory, [5], language="en")
    await add_people(uow_factory, [6], role="employer")
    today = service.today()
    await bind_retiree(uow_factory, 1, region="110000", due_on=today + timedelta(days=5), certified=None)
    await bind_retiree(
        uow_factory,
        2,
        region="110000",
        due_on=today + timedelta(days=200),
        certified=today - timedelta(days=165),
    )
    await bind_retiree(
        uow_factory, 3, region="310000", due_on=today + timedelta(days=5), certified=date(2020, 1, 1)
    )

    async def audience(segment: Segment) -> int:
        campaign_id = await service.create(STAFF_USER, "certification", "x", segment)
        return (await service.preview(STAFF_USER, campaign_id)).audience

    assert await audience(Segment()) == 6
    assert await audience(Segment(role="retiree")) == 5
    assert await audience(Segment(language="en")) == 1
    assert await audience(Segment(region="110000")) == 2
    assert await audience(Segment(due_within_days=30)) == 2
    assert await audience(Segment(not_certified=True)) == 1
    assert await audience(Segment(region="310000", due_within_days=7)) == 1


async def test_rate_limiter_spaces_sends_overall_and_per_chat():
    clock = [0.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(rate=10, per_chat=1.0, monotonic=lambda: clock[0], sleep=sleep)
    times = []
    for chat in [1, 2, 3, 1]:
        await limiter.wait(chat)
        times.append(clock[0])
    assert times[:3] == pytest.approx([0.0, 0.1, 0.2])
    assert times[3] == pytest.approx(1.0)  # chat 1 again: a second after its last message
    limiter.hold(2.0)
    await limiter.wait(4)
    assert clock[0] == pytest.approx(3.0)
