"""StaffService on SQLite and PostgreSQL: a staff code shown once, sign-in, the shared lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.codes import normalise_code
from accounts.staff import SignInLocked, StaffExists, StaffService
from storage.models.certification import StaffMember
from tests.binding.helpers import FakeClock, id_number


async def test_create_returns_a_code_stored_only_as_a_hash(uow_factory, vault):
    staff = StaffService(uow_factory, vault, FakeClock())
    code = await staff.create("S001", "周建国", "110105")
    assert len(normalise_code(code)) == 12
    async with uow_factory() as uow:
        [row] = (await uow.session.execute(select(StaffMember.staff_code_hash, StaffMember.name))).all()
    assert row == (vault.lookup_hash(normalise_code(code)), "周建国")
    with pytest.raises(StaffExists):
        await staff.create("S001", "另一个人", "110105")
    with pytest.raises(ValueError):
        await staff.create("S002", "吴德明", "999999")


async def test_sign_in_links_the_account_and_staff_for_finds_it(uow_factory, vault):
    staff = StaffService(uow_factory, vault, FakeClock())
    code = await staff.create("S001", "周建国", "110105")
    assert await staff.staff_for(7001) is None
    signed = await staff.sign_in(7001, code.lower())
    assert (signed.staff_number, signed.name, signed.region_code, signed.telegram_user_id) == (
        "S001",
        "周建国",
        "110105",
        7001,
    )
    assert (await staff.staff_for(7001)).staff_id == signed.staff_id
    # A new phone: the same code moves the staff member to the new account.
    assert (await staff.sign_in(7002, code)).telegram_user_id == 7002
    assert await staff.staff_for(7001) is None


async def test_wrong_codes_lock_sign_in_for_24_hours(uow_factory, vault):
    clock = FakeClock()
    staff = StaffService(uow_factory, vault, clock)
    code = await staff.create("S001", "周建国", "110105")
    start = clock.now
    for _ in range(4):
        assert await staff.sign_in(7101, "ABCD EFGH JKMN") is None
        clock.advance(minutes=1)
    with pytest.raises(SignInLocked) as fifth:
        await staff.sign_in(7101, "not a code")
    assert fifth.value.until == start + timedelta(hours=24)
    with pytest.raises(SignInLocked):
        await staff.sign_in(7101, code)  # even the right code waits
    clock.now = start + timedelta(hours=24, seconds=1)
    assert (await staff.sign_in(7101, code)).name == "周建国"


async def test_the_lock_is_shared_with_binding(uow_factory, vault):
    """One rule for every code typed into the bot: guesses of either kind add up."""
    from accounts.binding import BindingService, BindOutcome

    clock = FakeClock()
    staff = StaffService(uow_factory, vault, clock)
    binding = BindingService(uow_factory, vault, clock)
    for _ in range(4):
        assert await staff.sign_in(7201, "ABCD EFGH JKMN") is None
    fifth = await binding.bind(7201, 7201, id_number(1), "ABCD2345", "self")
    assert (fifth.outcome, fifth.tries_left) == (BindOutcome.NO_MATCH, 0)
    assert (await binding.bind(7201, 7201, id_number(1), "ABCD2345", "self")).outcome is BindOutcome.LOCKED
    with pytest.raises(SignInLocked):
        await staff.sign_in(7201, "ABCD EFGH JKMN")
