"""协查 for staff: what the residence region's staff see, start and answer (audited, the answer
a record for the asking region), overdue and the sweep job; and, on the two-region harness,
a request asked by the paying region's staff that travels, is answered and comes back."""

from __future__ import annotations

import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from telegram.ext import ApplicationBuilder

from accounts.staff import StaffService
from bot.handlers.assistance import SWEEP_JOB, run_sweep, schedule_sweep
from kernel.permissions import NotStaff
from storage.models import Retiree
from storage.models.certification import AuditEntry
from storage.models.records import AssistanceRequest, OutboxEntry, VerificationRecord
from tests.binding.helpers import FakeClock, add_retiree, audit_entries
from tests.records.regions import BJ, SZ
from verification.records.assistance import QUESTIONS, AssistanceService, ExchangeLink, IllegalTransition
from verification.records.chain import verify_chain
from verification.roster.synthetic import synthetic_id_number

SHANGHAI = ZoneInfo("Asia/Shanghai")

HERE, ASKER = "110000", "440300"  # this region (residence) and the region paying the pensions
NEAR, FAR, ALL = 9001, 9002, 9003  # staff of 110105, of 110108, of all of 110000


async def _sign_in(uow_factory, vault, telegram_user_id: int, region: str, name: str) -> None:
    staff = StaffService(uow_factory, vault)
    code = await staff.create(f"S-{telegram_user_id}", name, region)
    assert await staff.sign_in(telegram_user_id, code) is not None


def _body(request_uid: str, retiree_hash: str, question: str = "请核实本人是否健在") -> bytes:
    return json.dumps(
        {"request_id": request_uid, "retiree_hash": retiree_hash, "question": question}
    ).encode()


@pytest.fixture
async def here(uow_factory, vault):
    """Region 110000 with two residents paid by 440300 and three staff members."""
    clock = FakeClock()
    service = AssistanceService(uow_factory, HERE, clock, vault=vault)
    numbers = [synthetic_id_number(ASKER, date(1950, 3, 7), n) for n in (1, 2)]
    ids = [
        await add_retiree(uow_factory, vault, numbers[0], "王秀英", residence_region="110105"),
        await add_retiree(uow_factory, vault, numbers[1], "李建国", residence_region="110108"),
    ]
    for user, region, name in ((NEAR, "110105", "赵敏"), (FAR, "110108", "钱进"), (ALL, HERE, "孙丽")):
        await _sign_in(uow_factory, vault, user, region, name)
    return service, clock, numbers, ids


async def test_staff_see_the_requests_of_the_regions_they_cover_oldest_due_first(here, uow_factory, vault):
    service, clock, numbers, _ = here
    later = await service.open(ASKER, _body("q-later", vault.lookup_hash(numbers[0])))
    clock.advance(days=-1)  # opened a day earlier: due a day earlier
    first = await service.open(ASKER, _body("q-first", vault.lookup_hash(numbers[0]), "请上门核实"))
    await service.open(ASKER, _body("q-far", vault.lookup_hash(numbers[1])))
    async with uow_factory() as uow:  # the roster has dropped him since the request came
        uow.session.add(
            AssistanceRequest(
                origin_region=ASKER, request_uid="q-gone", retiree_hash="f" * 64, question="?",
                state="open", opened_at=clock(), due_at=clock() + timedelta(days=15),
            )
        )  # fmt: skip
        await uow.commit()

    near = await service.incoming(NEAR)
    assert [v.request_id for v in near] == [first.request_id, later.request_id]
    view = near[0]
    assert (view.retiree_name, view.residence_region, view.origin_region) == ("王秀英", "110105", ASKER)
    assert view.masked_id_number == numbers[0][:4] + "*" * 10 + numbers[0][-4:]
    assert (view.question, view.state, view.overdue) == ("请上门核实", "open", False)
    assert view.due_on == (clock() + timedelta(days=15)).date()
    assert [v.retiree_name for v in await service.incoming(FAR)] == ["李建国"]
    everything = await service.incoming(ALL)
    assert len(everything) == 4 and [v.retiree_name for v in everything].count(None) == 1  # hash only
    with pytest.raises(NotStaff):
        await service.incoming(4242)


async def test_start_and_answer_are_audited_and_the_answer_is_a_record_for_the_asking_region(
    here, uow_factory, vault
):
    service, _, numbers, ids = here
    opened = await service.open(ASKER, _body("q-1", vault.lookup_hash(numbers[0])))
    with pytest.raises(NotStaff):  # 110108 does not cover 110105
        await service.start(opened.request_id, telegram_user_id=FAR)

    await service.start(opened.request_id, telegram_user_id=NEAR)
    [view] = await service.incoming(NEAR)
    assert (view.state, view.started_by) == ("in_progress", "赵敏")
    with pytest.raises(IllegalTransition):  # a colleague pressed "start" too
        await service.start(opened.request_id, telegram_user_id=ALL)

    answered = await service.answer(
        opened.request_id, answer=" 本人在家 ", finding="alive_certified", telegram_user_id=NEAR
    )
    assert answered.state == "answered" and answered.answer == "alive_certified\n本人在家"
    assert await service.incoming(NEAR) == []
    with pytest.raises(IllegalTransition):
        await service.answer(opened.request_id, finding="died", telegram_user_id=ALL)
    with pytest.raises(ValueError):
        await service.answer(opened.request_id, finding="maybe", telegram_user_id=NEAR)

    trail = [(action, detail) for action, _, detail in await audit_entries(uow_factory, ids[0])]
    assert [action for action, _ in trail] == ["assistance_started", "assistance_answered"]
    assert trail[1][1]["finding"] == "alive_certified"
    async with uow_factory() as uow:
        [record] = (await uow.session.execute(select(VerificationRecord))).scalars().all()
        [outbox] = (await uow.session.execute(select(OutboxEntry))).scalars().all()
        assert (await verify_chain(uow, HERE)).intact
    assert (record.event, record.region, record.pension_region) == ("assisted_visit", HERE, ASKER)
    assert record.detail["assistance"] == {
        "request_id": "q-1",
        "finding": "alive_certified",
        "note": "本人在家",
    }
    assert (outbox.record_id, outbox.dest_region) == (record.id, ASKER)


async def test_overdue_is_shown_before_the_sweep_and_the_sweep_job_is_idempotent(here, vault):
    service, clock, numbers, _ = here
    opened = await service.open(ASKER, _body("q-2", vault.lookup_hash(numbers[0])))
    clock.advance(days=16)
    [view] = await service.incoming(NEAR)
    assert (view.state, view.overdue) == ("open", True)  # plainly overdue, swept or not

    await run_sweep(service)
    await run_sweep(service)  # again: nothing more to do
    assert (await service.sweep()).overdue == 0
    [view] = await service.incoming(NEAR)
    assert (view.state, view.overdue) == ("overdue", True)
    await service.start(opened.request_id, telegram_user_id=NEAR)  # overdue can still be taken on
    assert (await service.answer(opened.request_id, finding="not_found", telegram_user_id=NEAR)).answered_at


def test_the_sweep_runs_on_the_job_queue():
    application = ApplicationBuilder().token("7100000001:job-test").build()
    schedule_sweep(application, interval_seconds=60)
    [job] = application.job_queue.get_jobs_by_name(SWEEP_JOB)
    assert job.name == SWEEP_JOB


# --- both regions: Beijing pays, the retiree lives in Shenzhen ------------------------------


async def _resident(region, vault, number: str, residence: str = SZ, pension: str = BJ) -> str:
    async with region.uow_factory() as uow:
        uow.session.add(
            Retiree(
                id_number_hash=vault.lookup_hash(number), id_number_encrypted=vault.encrypt(number),
                name=f"张{number[-3:]}", birth_date=date(1950, 3, 7), pension_region=pension,
                residence_region=residence, pension_start=date(2010, 4, 1),
            )
        )  # fmt: skip
        await uow.commit()
    return number


async def _state(region, request_id: int) -> str:
    async with region.uow_factory() as uow:
        return (await uow.session.get(AssistanceRequest, request_id)).state


async def test_a_request_asked_in_the_bot_travels_and_its_answer_comes_back(regions, vault):
    sz, bj = regions
    link = ExchangeLink(bj.peers, bj.key, bj.transport)
    paying = AssistanceService(bj.uow_factory, BJ, bj.clock, vault=vault, link=link)
    residence = AssistanceService(sz.uow_factory, SZ, sz.clock, vault=vault)
    await _sign_in(bj.uow_factory, vault, NEAR, BJ, "周平")
    await _sign_in(sz.uow_factory, vault, FAR, SZ, "吴芳")
    number = synthetic_id_number("110105", date(1950, 3, 7), 21)
    for region in (bj, sz):
        await _resident(region, vault, number)

    checked = await paying.check(NEAR, number)
    assert (checked.outcome, checked.residence_region, checked.retiree_name) == ("ok", SZ, "张211")
    asked = await paying.ask(NEAR, number, "overdue")
    assert asked.outcome == "sent" and await _state(bj, asked.request_id) == "open"
    assert (await paying.check(NEAR, number)).outcome == "already"
    [sent] = await paying.outgoing(NEAR)
    assert (sent.state, sent.question, sent.residence_region) == ("open", "overdue", SZ)
    async with bj.uow_factory() as uow:
        [entry] = (await uow.session.execute(select(AuditEntry))).scalars().all()[-1:]
    assert (entry.action, entry.detail["to_region"]) == ("assistance_asked", SZ)

    [incoming] = await residence.incoming(FAR)
    assert (incoming.origin_region, incoming.question, incoming.retiree_name) == (
        BJ,
        QUESTIONS["overdue"],
        "张211",
    )
    await residence.answer(incoming.request_id, answer="已上门", finding="died", telegram_user_id=FAR)
    assert (await sz.dispatcher.drain()).delivered == 1  # the answer record, over the exchange

    [answered] = await paying.outgoing(NEAR)
    assert (answered.state, answered.finding, answered.note) == ("answered", "died", "已上门")
    assert answered.answered_on == bj.clock().astimezone(SHANGHAI).date()
    bj.clock.now += timedelta(days=20)
    assert (await paying.sweep()).overdue == 0  # answered: never overdue


async def test_a_request_waits_for_a_stopped_peer_and_a_refusal_is_kept(regions, vault):
    sz, bj = regions
    paying = AssistanceService(
        bj.uow_factory, BJ, bj.clock, vault=vault, link=ExchangeLink(bj.peers, bj.key, bj.transport)
    )
    await _sign_in(bj.uow_factory, vault, NEAR, BJ, "周平")
    known = await _resident(bj, vault, synthetic_id_number("110105", date(1950, 3, 7), 31))
    await _resident(sz, vault, known)
    stranger = await _resident(bj, vault, synthetic_id_number("110105", date(1950, 3, 7), 33))  # not in sz

    await sz.stop()
    queued = await paying.ask(NEAR, known, "suspected_death")
    assert queued.outcome == "queued" and await _state(bj, queued.request_id) == "sending"
    await sz.start([bj])  # back, at a new address the peers now know
    assert (await paying.sweep()).sent == 1 and await _state(bj, queued.request_id) == "open"
    assert (await paying.sweep()).sent == 0

    refused = await paying.ask(NEAR, stranger, "failed_certification")
    assert refused.outcome == "refused"
    [view] = [v for v in await paying.outgoing(NEAR) if v.request_id == refused.request_id]
    assert (view.state, view.note) == ("refused", "not_our_resident")


async def test_only_our_pensioners_living_elsewhere_can_be_asked_about(regions, vault):
    sz, bj = regions
    paying = AssistanceService(
        bj.uow_factory, BJ, bj.clock, vault=vault, link=ExchangeLink(bj.peers, bj.key, bj.transport)
    )
    unlinked = AssistanceService(bj.uow_factory, BJ, bj.clock, vault=vault)
    await _sign_in(bj.uow_factory, vault, NEAR, BJ, "周平")
    away = await _resident(bj, vault, synthetic_id_number("110105", date(1950, 3, 7), 41))
    home = await _resident(bj, vault, synthetic_id_number("110105", date(1950, 3, 7), 43), residence="110105")
    theirs = synthetic_id_number("440305", date(1950, 3, 7), 45)
    await _resident(bj, vault, theirs, pension=SZ)  # Shenzhen pays him

    assert (await paying.check(NEAR, "110105")).outcome == "malformed_id"
    assert (
        await paying.check(NEAR, synthetic_id_number("110105", date(1950, 3, 7), 47))
    ).outcome == "unknown"
    assert (await paying.check(NEAR, theirs)).outcome == "not_ours"
    assert (await paying.check(NEAR, home)).outcome == "lives_here"
    assert (await unlinked.check(NEAR, away)).outcome == "not_connected"
    with pytest.raises(NotStaff):
        await paying.check(4242, away)
    async with bj.uow_factory() as uow:
        assert (await uow.session.execute(select(AssistanceRequest))).first() is None
