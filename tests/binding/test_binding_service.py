"""BindingService on SQLite and PostgreSQL: codes, binding, the neutral answer, the lock."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from accounts.binding import BindingService, BindOutcome
from accounts.codes import CODE_ALPHABET, normalise_code
from kernel.idnumber import IdReason
from storage.models.certification import BindingCode, BindingFailure
from tests.binding.helpers import FakeClock, add_retiree, audit_entries, id_number, unused_code

ELDER = id_number(11)
OTHER = id_number(12)
NOT_ON_FILE = id_number(13)


async def _setup(uow_factory, vault, clock=None):
    clock = clock or FakeClock()
    service = BindingService(uow_factory, vault, clock)
    elder = await add_retiree(uow_factory, vault, ELDER, "王秀英")
    other = await add_retiree(uow_factory, vault, OTHER, "李桂兰")
    assert await service.issue_codes() == 2
    return service, clock, elder, other


async def test_codes_are_eight_unambiguous_characters_one_unused_per_retiree(uow_factory, vault):
    service, _, elder, other = await _setup(uow_factory, vault)
    codes = [await unused_code(uow_factory, vault, rid) for rid in (elder, other)]
    for code in codes:
        assert len(code) == 8 and set(code) <= set(CODE_ALPHABET)
        assert not set(code) & set("0O1IL")
    assert codes[0] != codes[1]
    assert await service.issue_codes() == 0  # both still hold an unused code
    third = await add_retiree(uow_factory, vault, id_number(14), "张凤芳")
    assert await service.issue_codes([third, elder]) == 1
    async with uow_factory() as uow:
        stored = (await uow.session.execute(select(BindingCode.code_hash, BindingCode.code_encrypted))).all()
    assert len(stored) == 3
    assert all(len(code_hash) == 64 and codes[0].encode() not in encrypted for code_hash, encrypted in stored)


async def test_reissue_invalidates_the_older_unused_code(uow_factory, vault):
    service, _, elder, _ = await _setup(uow_factory, vault)
    old = await unused_code(uow_factory, vault, elder)
    new = await service.reissue_code(elder, issued_by="staff:1")
    assert new != old and await unused_code(uow_factory, vault, elder) == new
    result = await service.bind(1001, 1001, ELDER, old, "self")
    assert result.outcome is BindOutcome.NO_MATCH
    assert (await service.bind(1001, 1001, ELDER, new, "self")).outcome is BindOutcome.BOUND


async def test_bind_self_then_a_helper_with_a_second_code(uow_factory, vault):
    service, _, elder, _ = await _setup(uow_factory, vault)
    code = await unused_code(uow_factory, vault, elder)
    typed = f" {code[:4].lower()} {code[4:]} "  # small letters and a space, as people type
    result = await service.bind(2001, 2001, ELDER.lower(), typed, "self")
    assert (result.outcome, result.retiree_id, result.name, result.kind) == (
        BindOutcome.BOUND,
        elder,
        "王秀英",
        "self",
    )
    assert "王秀英" not in repr(result)

    # The code is used up: issue_codes gives the elder a new one, for a helper.
    assert await service.issue_codes([elder]) == 1
    helper_code = await unused_code(uow_factory, vault, elder)
    helped = await service.bind(2002, 2002, ELDER, helper_code, "helper")
    assert (helped.outcome, helped.kind) == (BindOutcome.BOUND, "helper")

    assert [(b.retiree_id, b.name, b.kind) for b in await service.bindings_for(2001)] == [
        (elder, "王秀英", "self")
    ]
    audit = await audit_entries(uow_factory, elder)
    assert [action for action, _, _ in audit] == ["binding_created", "binding_created"]
    assert {actor for _, actor, _ in audit} == {"user:2001", "user:2002"}


async def test_a_helper_binds_several_elders(uow_factory, vault):
    service, _, elder, other = await _setup(uow_factory, vault)
    for number, rid in ((ELDER, elder), (OTHER, other)):
        code = await unused_code(uow_factory, vault, rid)
        assert (await service.bind(3001, 3001, number, code, "helper")).outcome is BindOutcome.BOUND
    assert sorted(b.name for b in await service.bindings_for(3001)) == ["李桂兰", "王秀英"]


async def test_wrong_id_wrong_code_and_used_code_give_one_and_the_same_answer(uow_factory, vault):
    service, _, elder, other = await _setup(uow_factory, vault)
    elder_code = await unused_code(uow_factory, vault, elder)
    other_code = await unused_code(uow_factory, vault, other)
    assert (await service.bind(4000, 4000, ELDER, elder_code, "self")).outcome is BindOutcome.BOUND

    wrong_id = await service.bind(4001, 4001, NOT_ON_FILE, other_code, "self")
    wrong_code = await service.bind(4002, 4002, OTHER, "ABCD2345", "self")
    someone_elses_code = await service.bind(4003, 4003, OTHER, elder_code, "self")
    used_code = await service.bind(4004, 4004, ELDER, elder_code, "helper")
    results = [wrong_id, wrong_code, someone_elses_code, used_code]
    assert all(result.outcome is BindOutcome.NO_MATCH for result in results)
    assert len(set(results)) == 1  # every field equal: nothing tells the cases apart
    assert wrong_id.name is None and wrong_id.retiree_id is None and wrong_id.tries_left == 4
    async with uow_factory() as uow:
        failures = (await uow.session.execute(select(func.count()).select_from(BindingFailure))).scalar_one()
    assert failures == 4


async def test_a_malformed_id_number_is_explained_and_not_counted(uow_factory, vault):
    service, _, elder, _ = await _setup(uow_factory, vault)
    code = await unused_code(uow_factory, vault, elder)
    bad_check = ELDER[:17] + ("0" if ELDER[17] != "0" else "1")
    cases = {
        "12345": IdReason.WRONG_LENGTH,
        bad_check: IdReason.BAD_CHECK_DIGIT,
        ELDER[:10] + "1399" + ELDER[14:]: IdReason.BAD_BIRTH_DATE,
    }
    for typed, reason in cases.items():
        result = await service.bind(5001, 5001, typed, code, "self")
        assert (result.outcome, result.id_problem) == (BindOutcome.MALFORMED_ID, reason)
        assert service.id_number_problem(typed) is reason
    assert service.id_number_problem("１１" + ELDER[2:]) is None  # full-width digits are fine
    assert (await service.bind(5001, 5001, ELDER, "AB", "self")).outcome is BindOutcome.MALFORMED_CODE
    assert (await service.lock_state(5001)).tries_left == 5
    assert (await service.bind(5001, 5001, ELDER, code, "self")).outcome is BindOutcome.BOUND


async def test_five_failures_lock_for_24_hours_after_the_oldest(uow_factory, vault):
    service, clock, elder, _ = await _setup(uow_factory, vault)
    code = await unused_code(uow_factory, vault, elder)
    first = clock.now
    for attempt in range(5):
        result = await service.bind(6001, 6001, NOT_ON_FILE, code, "self")
        assert result.outcome is BindOutcome.NO_MATCH and result.tries_left == 4 - attempt
        clock.advance(minutes=10)
    assert result.locked_until == first + timedelta(hours=24)

    locked = await service.bind(6001, 6001, ELDER, code, "self")  # even the right pair waits
    assert (locked.outcome, locked.locked_until) == (BindOutcome.LOCKED, first + timedelta(hours=24))
    assert (await service.bind(6002, 6002, ELDER, code, "self")).outcome is BindOutcome.BOUND  # per account

    clock.now = first + timedelta(hours=24) - timedelta(seconds=1)
    assert (await service.bind(6001, 6001, NOT_ON_FILE, code, "self")).outcome is BindOutcome.LOCKED
    clock.now = first + timedelta(hours=24, seconds=1)
    state = await service.lock_state(6001)
    assert not state.locked and state.tries_left == 1


async def test_self_taken_offers_helper_and_the_code_stays_usable(uow_factory, vault):
    service, _, elder, _ = await _setup(uow_factory, vault)
    await service.bind(7001, 7001, ELDER, await unused_code(uow_factory, vault, elder), "self")
    await service.issue_codes([elder])
    second = await unused_code(uow_factory, vault, elder)
    taken = await service.bind(7002, 7002, ELDER, second, "self")
    assert (taken.outcome, taken.name) == (BindOutcome.SELF_TAKEN, "王秀英")
    assert (await service.lock_state(7002)).tries_left == 5  # a correct pair is no failure
    helper = await service.bind(7002, 7002, ELDER, second, "helper")
    assert (helper.outcome, helper.kind) == (BindOutcome.BOUND, "helper")


async def test_binding_again_and_unbinding(uow_factory, vault):
    service, _, elder, _ = await _setup(uow_factory, vault)
    await service.bind(8001, 8001, ELDER, await unused_code(uow_factory, vault, elder), "self")
    await service.issue_codes([elder])
    spare = await unused_code(uow_factory, vault, elder)
    again = await service.bind(8001, 8001, ELDER, spare, "self")
    assert (again.outcome, again.already) == (BindOutcome.BOUND, True)
    assert await unused_code(uow_factory, vault, elder) == spare  # not spent on a repeat

    [bound] = await service.bindings_for(8001)
    assert not await service.unbind(8999, bound.binding_id)  # not theirs
    assert await service.unbind(8001, bound.binding_id)
    assert await service.bindings_for(8001) == []
    rebound = await service.bind(8001, 8001, ELDER, spare, "self")  # the same row comes back
    assert (rebound.outcome, rebound.binding_id, rebound.already) == (
        BindOutcome.BOUND,
        bound.binding_id,
        False,
    )
    actions = [action for action, _, _ in await audit_entries(uow_factory)]
    assert actions.count("binding_revoked") == 1


async def test_issuing_codes_in_batches_is_fast(uow_factory, vault):
    from storage.models import Retiree
    from tests.binding.helpers import T0

    rows = [
        {
            "id_number_hash": f"{n:064d}",
            "id_number_encrypted": b"x",
            "name": "测试",
            "birth_date": T0.date(),
            "pension_region": "110105",
            "residence_region": "110105",
            "pension_start": T0.date(),
            "payment_state": "active",
            "created_at": T0,
            "updated_at": T0,
        }
        for n in range(5_000)
    ]
    async with uow_factory() as uow:
        await uow.session.execute(Retiree.__table__.insert(), rows)
        await uow.commit()
    service = BindingService(uow_factory, vault, FakeClock())
    started = time.perf_counter()
    assert await service.issue_codes() == 5_000
    assert time.perf_counter() - started < 10
    async with uow_factory() as uow:
        count = (
            await uow.session.execute(select(func.count(func.distinct(BindingCode.code_hash))))
        ).scalar_one()
    assert count == 5_000


def test_typed_codes_are_normalised():
    assert normalise_code(" abcd-efgh ") == "ABCDEFGH"
    assert normalise_code("ＡＢＣＤ　２３４５") == "ABCD2345"  # full-width, as a Chinese input method types


async def test_one_account_is_self_of_one_person_only(uow_factory, vault):
    service, _, elder, other = await _setup(uow_factory, vault)
    await service.bind(9001, 9001, ELDER, await unused_code(uow_factory, vault, elder), "self")
    second = await service.bind(9001, 9001, OTHER, await unused_code(uow_factory, vault, other), "self")
    assert (second.outcome, second.kind) == (BindOutcome.BOUND, "helper")
