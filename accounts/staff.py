"""Staff members (community or agency) and the staff code that links their Telegram account.

`create` makes a staff member and returns a new staff code, shown once: only its keyed hash
is stored. Signing in with the code links the Telegram account to the staff member (one
account per staff member, one staff member per account). Wrong codes count towards the same
lock as binding codes (accounts/lockout.py): five in 24 hours and the account waits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from accounts.codes import STAFF_CODE_LENGTH, grouped, is_well_formed, new_code, normalise_code
from accounts.lockout import lock_state, record_failure
from kernel.clock import Clock, utc_now
from kernel.idnumber import is_valid_region_code
from storage.errors import record_error
from storage.models.certification import AuditEntry, StaffMember, StaffRole
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWorkFactory


class StaffExists(ValueError):
    """A staff member with this staff number is already on file."""


class SignInLocked(PermissionError):
    """Too many wrong codes: no code is checked until `until` (aware UTC)."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"code entry locked until {until.isoformat()}")
        self.until = until


@dataclass(frozen=True)
class StaffProfile:
    staff_id: int
    staff_number: str = field(repr=False)
    name: str = field(repr=False)
    region_code: str
    telegram_user_id: int | None = field(repr=False)


def _profile(member: StaffMember) -> StaffProfile:
    return StaffProfile(
        member.id, member.staff_number, member.name, member.region_code, member.telegram_user_id
    )


class StaffService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        clock: Clock = utc_now,
    ) -> None:
        self._uow_factory = uow_factory
        self._vault = vault
        self._clock = clock

    async def create(
        self, staff_number: str, name: str, region_code: str, role: StaffRole = StaffRole.STAFF
    ) -> str:
        """A new staff member; returns their staff code, grouped ("ABCD EFGH JKMN"), to be
        handed over once: it cannot be shown again. A supervisor decides write-offs; with a
        prefecture or province code they see every region below it."""
        staff_number, name = staff_number.strip(), name.strip()
        if not staff_number or not name:
            raise ValueError("staff number and name are required")
        if not is_valid_region_code(region_code):
            raise ValueError("region code must be a 6-digit administrative division code")
        now = self._clock()
        async with self._uow_factory() as uow:
            if await uow.staff.by_number(staff_number) is not None:
                raise StaffExists(staff_number)
            while True:
                code = new_code(STAFF_CODE_LENGTH)
                code_hash = self._vault.lookup_hash(code)
                if await uow.staff.by_code_hash(code_hash) is None:
                    break
            member = StaffMember(
                staff_number=staff_number,
                name=name,
                region_code=region_code,
                staff_code_hash=code_hash,
                active=True,
                role=role.value,
                created_at=now,
            )
            uow.staff.add(member)
            await uow.flush()
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor="system:cli",
                    action="staff_created",
                    detail={"staff_id": member.id, "role": role.value},
                )
            )
            try:
                await uow.commit()
            except IntegrityError as error:  # created by someone else at the same moment
                raise StaffExists(staff_number) from error
        return grouped(code)

    async def sign_in(self, telegram_user_id: int, code: str) -> StaffProfile | None:
        """Link this account to the staff member whose code this is. None for a wrong code
        (counted); raises SignInLocked after too many wrong codes."""
        now = self._clock()
        async with self._uow_factory() as uow:
            state = await lock_state(uow, telegram_user_id, now)
            if state.locked_until is not None:  # state.locked
                raise SignInLocked(state.locked_until)
            typed = normalise_code(code)
            member = None
            if is_well_formed(typed, STAFF_CODE_LENGTH):
                member = await uow.staff.by_code_hash(self._vault.lookup_hash(typed))
            if member is None or not member.active:
                state = await record_failure(uow, telegram_user_id, now)
                await uow.commit()
                await record_error(
                    self._uow_factory, "staff", "wrong_staff_code", context={"locked": state.locked}
                )
                if state.locked_until is not None:  # state.locked
                    raise SignInLocked(state.locked_until)
                return None
            previous_account = member.telegram_user_id
            if previous_account != telegram_user_id:
                other = await uow.staff.any_by_telegram_user(telegram_user_id)
                if other is not None:  # this account signed in as someone else before
                    other.telegram_user_id = None
                    await uow.flush()
                member.telegram_user_id = telegram_user_id
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor=f"staff:{member.id}",
                    action="staff_signed_in",
                    detail={"telegram_user_id": telegram_user_id, "previous_account": previous_account},
                )
            )
            await uow.commit()
            return _profile(member)

    async def staff_for(self, telegram_user_id: int) -> StaffProfile | None:
        """The active staff member this account is signed in as, if any."""
        async with self._uow_factory() as uow:
            member = await uow.staff.by_telegram_user(telegram_user_id)
            return _profile(member) if member else None
