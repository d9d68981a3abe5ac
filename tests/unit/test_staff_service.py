"""The staff service's decisions on a unit of work held in memory (tests/unit/fakes.py): no
database, no Telegram, a few milliseconds each. The same service on SQLite and PostgreSQL is
in tests/binding/test_staff_service.py."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from accounts.lockout import MAX_FAILURES, WINDOW
from accounts.staff import SignInLocked, StaffExists, StaffService
from storage.protection import PersonalDataVault
from tests.binding.helpers import FakeClock
from tests.unit.fakes import FakeUnitOfWork

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
ACCOUNT, OTHER_ACCOUNT = 7001, 7002


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def staff(uow: FakeUnitOfWork, clock: FakeClock) -> StaffService:
    return StaffService(uow, PersonalDataVault(Fernet.generate_key(), os.urandom(32)), clock)


async def test_a_new_staff_member_gets_a_code_shown_once_and_only_its_hash_is_kept(staff, uow):
    code = await staff.create("S-001", "赵敏", "110105")
    assert len(code.replace(" ", "")) == 12 and code.count(" ") == 2  # ABCD EFGH JKMN
    [member] = uow.staff.rows
    assert code.replace(" ", "") not in repr(vars(member)) and len(member.staff_code_hash) == 64
    assert [entry.action for entry in uow.audited()] == ["staff_created"] and uow.commits == 1


@pytest.mark.parametrize(
    ("number", "name", "region", "refusal"),
    [
        ("S-001", "again", "110105", StaffExists),
        ("  ", "无名", "110105", ValueError),
        ("S-002", "钱七", "1101", ValueError),  # not a 6-digit division code
    ],
)
async def test_what_is_refused_when_a_staff_member_is_made(staff, uow, number, name, region, refusal):
    await staff.create("S-001", "赵敏", "110105")
    with pytest.raises(refusal):
        await staff.create(number, name, region)
    assert len(uow.staff.rows) == 1


async def test_signing_in_links_the_account_and_is_audited(staff, uow):
    code = await staff.create("S-001", "赵敏", "110105")
    profile = await staff.sign_in(ACCOUNT, code.lower())  # typed loosely: lower case, spaces
    assert profile is not None and profile.region_code == "110105"
    assert await staff.staff_for(ACCOUNT) == profile
    signed_in = uow.audited()[-1]
    assert signed_in.action == "staff_signed_in" and signed_in.detail["previous_account"] is None


async def test_one_account_one_staff_member_a_second_code_moves_the_account(staff, uow):
    first = await staff.create("S-001", "赵敏", "110105")
    second = await staff.create("S-002", "孙丽", "110105")
    await staff.sign_in(ACCOUNT, first)
    moved = await staff.sign_in(ACCOUNT, second)
    assert moved is not None and moved.name == "孙丽"
    by_number = {m.staff_number: m.telegram_user_id for m in uow.staff.rows}
    assert by_number == {"S-001": None, "S-002": ACCOUNT}


async def test_wrong_codes_count_and_the_fifth_locks_the_account_for_a_day(staff, uow, clock):
    code = await staff.create("S-001", "赵敏", "110105")
    for attempt in range(MAX_FAILURES - 1):
        assert await staff.sign_in(ACCOUNT, "WRONG CODE 12" if attempt % 2 else "short") is None
        clock.advance(minutes=1)
    with pytest.raises(SignInLocked) as locked:
        await staff.sign_in(ACCOUNT, "ABCD EFGH JKMN")
    assert locked.value.until == T0 + WINDOW  # 24 hours after the oldest of the five
    assert uow.error_codes() == ["wrong_staff_code"] * MAX_FAILURES
    with pytest.raises(SignInLocked):  # the right code waits too: guessing is what is stopped
        await staff.sign_in(ACCOUNT, code)
    assert await staff.sign_in(OTHER_ACCOUNT, code) is not None  # the lock is the account's
    clock.now = T0 + WINDOW + timedelta(seconds=1)
    assert await staff.sign_in(ACCOUNT, code) is not None


async def test_a_deactivated_member_cannot_sign_in(staff, uow):
    code = await staff.create("S-001", "赵敏", "110105")
    uow.staff.rows[0].active = False
    assert await staff.sign_in(ACCOUNT, code) is None
    assert await staff.staff_for(ACCOUNT) is None
