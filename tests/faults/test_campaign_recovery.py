"""A campaign delivery interrupted by a database outage is not stuck in `sending` for ever:
an outcome known to the sender is written once the database is back (never sent twice), a
claim whose sender lost track of it goes back to pending once its lease has passed, and the
campaign is done only when no delivery is left pending or sending. The clock is fixed."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, update
from sqlalchemy import exc as sa_exc

from bot.handlers.publicity import campaign_line
from content.i18n import Translator
from content.publicity.sender import LEASE, CampaignSender
from content.publicity.service import PublicityService, Segment
from storage.models.publicity import PublicityCampaign, PublicityDelivery
from tests.publicity.helpers import STAFF_USER, add_people, add_staff

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PEOPLE = [101, 102, 103, 104]


class Outage:
    """Every statement fails as a refused connection does while `down`."""

    def __init__(self, engine) -> None:
        self.down = False
        self._engine = engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._refuse)

    def _refuse(self, *_args) -> None:
        if self.down:
            raise sa_exc.OperationalError("(outage)", None, ConnectionRefusedError(111, "refused"))

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._refuse)


class Send:
    """Telegram, reached: counts what each chat received; `on_send` runs after a success."""

    def __init__(self, on_send=None) -> None:
        self.received: Counter[int] = Counter()
        self.on_send = on_send

    async def __call__(self, chat_id: int, text: str, photo: str | None) -> None:
        self.received[chat_id] += 1
        if self.on_send:
            self.on_send(chat_id)


class ClaimLost:
    """A unit-of-work factory whose `nth` claim reaches the database, then the connection
    drops (the outage starts): the sender sees an error and never sends that message."""

    def __init__(self, real_factory, outage: Outage, nth: int) -> None:
        self._real, self._outage, self._left = real_factory, outage, nth

    def __call__(self) -> _Session:
        return _Session(self, self._real())


class _Session:
    def __init__(self, trap: ClaimLost, inner) -> None:
        self._trap, self._inner = trap, inner

    async def __aenter__(self):
        uow = await self._inner.__aenter__()
        trap, claim, commit, claimed = self._trap, uow.publicity.claim, uow.commit, []

        async def noted_claim(delivery_id, now):
            claimed.append(delivery_id)
            return await claim(delivery_id, now)

        async def commit_then_drop():
            await commit()
            if claimed:
                trap._left -= 1
                if trap._left == 0:
                    trap._outage.down = True
                    raise sa_exc.OperationalError("(outage)", None, ConnectionResetError(104, "reset"))

        uow.publicity.claim, uow.commit = noted_claim, commit_then_drop
        return uow

    async def __aexit__(self, *exc_info):
        return await self._inner.__aexit__(*exc_info)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def outage(engine):
    outage = Outage(engine)
    yield outage
    outage.close()


async def _campaign(uow_factory, clock) -> tuple[PublicityService, int]:
    service = PublicityService(uow_factory, clock=clock)
    await add_staff(uow_factory)
    await add_people(uow_factory, PEOPLE)
    campaign_id = await service.create(STAFF_USER, "certification", "请按时认证", Segment())
    assert await service.schedule(STAFF_USER, campaign_id)
    return service, campaign_id


def _sender(service, uow_factory, send) -> CampaignSender:
    return CampaignSender(service, uow_factory, send, rate=1000, per_chat=0)


async def _listed(service) -> tuple[str, str]:
    """What /campaigns shows of the one campaign: its status, and its line in Chinese."""
    [view] = await service.campaigns(STAFF_USER)
    return view.status, campaign_line(Translator("zh_Hans"), view)


async def test_a_sent_delivery_whose_mark_failed_is_recorded_later_and_never_sent_again(uow_factory, outage):
    clock = Clock()
    service, campaign_id = await _campaign(uow_factory, clock)

    def database_goes_away(chat_id: int) -> None:
        if chat_id == PEOPLE[1]:
            outage.down = True  # Telegram answered; the mark `sent` cannot be written

    send = Send(database_goes_away)
    sender = _sender(service, uow_factory, send)
    with pytest.raises(sa_exc.OperationalError):
        await sender.run_once()
    with pytest.raises(sa_exc.OperationalError):  # a tick while the database is still away
        await sender.run_once()
    outage.down = False
    clock.now += LEASE * 3  # long past the lease: the outcome in memory still wins
    report = await sender.run_once()
    assert report.recorded_late == 1 and report.requeued == 0
    assert send.received == Counter(PEOPLE)  # everyone once
    stats = await service.stats(campaign_id)
    assert (stats.sent, stats.pending, stats.uncertain) == (4, 0, 0)
    status, line = await _listed(service)
    assert status == "done" and "已完成" in line and "已发送 4" in line and "待发送 0" in line


async def test_a_sender_about_to_exit_writes_what_it_sent_once_the_database_is_back(uow_factory, outage):
    """The worker process (app/publicity_worker.py) ends after one run: an outcome kept in
    memory would die with it, and that recipient would get the campaign again."""
    clock = Clock()
    service, campaign_id = await _campaign(uow_factory, clock)

    def database_goes_away(chat_id: int) -> None:
        if chat_id == PEOPLE[1]:
            outage.down = True

    sender = _sender(service, uow_factory, Send(database_goes_away))
    with pytest.raises(sa_exc.OperationalError):
        await sender.run_once()
    assert not await sender.flush_outcomes(patience=0.0)  # still away: told, nothing lost yet
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, setattr, outage, "down", False)  # the database comes back
    assert await sender.flush_outcomes(patience=30.0, pause=0.05)
    clock.now += LEASE * 3  # past the lease: a row still `sending` would go out again
    send = Send()
    report = await _sender(service, uow_factory, send).run_once()  # the next worker process
    assert report.requeued == 0 and PEOPLE[1] not in send.received
    stats = await service.stats(campaign_id)
    assert (stats.sent, stats.pending, stats.uncertain) == (4, 0, 0)


async def test_a_claim_lost_in_an_outage_is_sent_once_after_its_lease(uow_factory, outage):
    clock = Clock()
    service, campaign_id = await _campaign(uow_factory, clock)
    send = Send()
    sender = _sender(service, ClaimLost(uow_factory, outage, nth=2), send)
    with pytest.raises(sa_exc.OperationalError):
        await sender.run_once()
    with pytest.raises(sa_exc.OperationalError):
        await sender.run_once()
    outage.down = False
    await sender.run_once()  # the database is back, the lease not yet over
    assert send.received == Counter([PEOPLE[0], PEOPLE[2], PEOPLE[3]])
    status, line = await _listed(service)
    assert status == "running" and "待发送 1" in line  # not "done" with one left behind
    clock.now += LEASE - timedelta(seconds=1)
    await sender.run_once()
    assert PEOPLE[1] not in send.received  # still within its lease
    clock.now += LEASE / 5  # recovery looks again a fifth of a lease later
    report = await sender.run_once()
    assert report.requeued == 1
    assert send.received == Counter(PEOPLE)  # everyone once
    stats = await service.stats(campaign_id)
    assert (stats.sent, stats.pending, stats.uncertain, stats.failed) == (4, 0, 0, 0)
    status, line = await _listed(service)
    assert status == "done" and "已发送 4" in line and "待发送 0" in line
    assert (await sender.run_once()).sent == 0


async def test_a_campaign_already_marked_done_with_a_stuck_delivery_is_finished(uow_factory):
    # The state the finding left behind: "已完成 … 待发送 1", found by a sender started later.
    clock = Clock()
    service, campaign_id = await _campaign(uow_factory, clock)
    send = Send()
    await _sender(service, uow_factory, send).run_once()
    async with uow_factory() as uow:
        await uow.session.execute(
            update(PublicityDelivery)
            .where(PublicityDelivery.chat_id == PEOPLE[3])
            .values(status="sending", sent_at=None, claimed_at=START - timedelta(hours=2))
        )
        await uow.commit()
    assert (await _listed(service))[0] == "done"
    report = await _sender(service, uow_factory, send).run_once()
    assert report.requeued == 1
    assert send.received[PEOPLE[3]] == 2  # at least once: it may have reached the chat before
    status, line = await _listed(service)
    assert status == "done" and "已发送 4" in line and "待发送 0" in line


async def test_a_delivery_stuck_again_and_again_is_given_up_as_uncertain(uow_factory):
    clock = Clock()
    service, campaign_id = await _campaign(uow_factory, clock)
    await service.start_due()
    async with uow_factory() as uow:
        await uow.session.execute(
            update(PublicityDelivery)
            .where(PublicityDelivery.chat_id == PEOPLE[0])
            .values(status="sending", attempts=3, claimed_at=START - LEASE * 2)
        )
        await uow.commit()
    send = Send()
    report = await _sender(service, uow_factory, send).run_once()
    assert report.uncertain == 1 and PEOPLE[0] not in send.received
    stats = await service.stats(campaign_id)
    assert (stats.sent, stats.uncertain, stats.pending) == (3, 1, 0)
    async with uow_factory() as uow:
        campaign = await uow.session.get(PublicityCampaign, campaign_id)
        # Finished at the fixed clock's time (read back naive on SQLite).
        assert campaign.status == "done" and campaign.finished_at.replace(tzinfo=UTC) == START
