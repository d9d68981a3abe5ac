"""Sending the swept reminders: a blocked chat is recorded and skipped, a passing error
leaves the reminder for the next sweep; suspensions are swept once a day."""

from __future__ import annotations

from datetime import date, timedelta

from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import ApplicationBuilder

from bot.reminders import JOB_NAME, run_cycle_sweep, schedule_cycle_jobs, send_due_reminders
from tests.cycle.factories import FakeClock, add_retiree, bind
from verification.cycle.policies import load_cycle_policies
from verification.cycle.service import CycleService

DUE = date(2026, 4, 30)


class FakeBot:
    def __init__(self, failures: dict[int, Exception] | None = None) -> None:
        self.failures = failures or {}
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str) -> None:
        if chat_id in self.failures:
            raise self.failures[chat_id]
        self.sent.append((chat_id, text))


async def three_chats(uow_factory, vault) -> int:
    retiree_id = await add_retiree(uow_factory, vault, due_on=DUE)
    for user, kind in ((101, "self"), (102, "helper"), (103, "helper")):
        await bind(uow_factory, retiree_id, user, kind=kind)
    return retiree_id


async def test_blocked_is_recorded_and_a_network_error_is_retried_next_sweep(uow_factory, vault):
    await three_chats(uow_factory, vault)
    cycle = CycleService(
        uow_factory, load_cycle_policies(), "Asia/Shanghai", FakeClock(DUE - timedelta(days=1))
    )
    bot = FakeBot({102: Forbidden("bot was blocked by the user"), 103: NetworkError("down")})
    report = await send_due_reminders(bot, cycle)
    assert (report.sent, report.failed, report.deferred) == (1, 1, 1)
    assert [chat for chat, _ in bot.sent] == [101]
    assert "您的认证还有 1 天到期" in bot.sent[0][1]

    bot.failures = {}
    report = await send_due_reminders(bot, cycle)
    assert (report.sent, report.failed, report.deferred) == (1, 0, 0)
    assert [chat for chat, _ in bot.sent] == [101, 103]  # the blocked chat is not tried again
    assert "您帮助的王秀兰" in bot.sent[1][1]


async def test_a_refused_chat_is_not_retried(uow_factory, vault):
    await three_chats(uow_factory, vault)
    cycle = CycleService(
        uow_factory, load_cycle_policies(), "Asia/Shanghai", FakeClock(DUE - timedelta(days=1))
    )
    bot = FakeBot({101: BadRequest("Chat not found")})
    assert (await send_due_reminders(bot, cycle, batch_size=1)).failed == 1
    assert (await send_due_reminders(bot, cycle)).sent == 0
    assert sorted(chat for chat, _ in bot.sent) == [102, 103]


async def test_suspensions_are_swept_once_a_day(uow_factory, vault):
    clock = FakeClock(DUE + timedelta(days=31))
    cycle = CycleService(uow_factory, load_cycle_policies(), "Asia/Shanghai", clock)
    first = await add_retiree(uow_factory, vault, due_on=DUE)
    last = await run_cycle_sweep(FakeBot(), cycle, None)
    assert last == clock.local.date()
    second = await add_retiree(uow_factory, vault, due_on=DUE)
    assert await run_cycle_sweep(FakeBot(), cycle, last) == last  # not again today
    async with uow_factory() as uow:
        states = [(await uow.retirees.get(i)).payment_state for i in (first, second)]
    assert states == ["suspended", "active"]
    clock.set(DUE + timedelta(days=32))
    await run_cycle_sweep(FakeBot(), cycle, last)
    async with uow_factory() as uow:
        assert (await uow.retirees.get(second)).payment_state == "suspended"


def test_the_job_is_scheduled_on_the_job_queue():
    application = ApplicationBuilder().token("7100000001:job-test").build()
    schedule_cycle_jobs(application, interval_seconds=60)
    [job] = application.job_queue.get_jobs_by_name(JOB_NAME)
    assert job.name == JOB_NAME
