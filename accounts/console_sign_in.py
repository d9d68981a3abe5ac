"""Signing staff in to the web console with a link the bot sends them (🔑).

No password to forget: a staff member signed in to the bot asks for a link; it is good for
`LINK_MINUTES` and once. Only the keyed hash of the token is stored. Redeeming it gives a
`ConsoleStaff`, which the console keeps in its encrypted session cookie and checks again on
every request (`current`): a staff member made inactive, or whose Telegram account was
linked to someone else, is signed out at the next click.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from kernel.clock import Clock, as_utc, utc_now
from kernel.permissions import NotStaff
from kernel.regions import covers
from storage.errors import record_error
from storage.models.certification import AuditEntry, StaffMember, StaffRole
from storage.models.console import ConsoleSignInLink
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWorkFactory

LINK_MINUTES = 10
# A URL-safe token of 32 random bytes: 43 characters, far beyond guessing.
TOKEN_BYTES = 32


class LinkRefused(StrEnum):
    """Why a sign-in link did not sign anyone in (each is an error record, never a crash)."""

    UNKNOWN = "unknown"  # never issued, mistyped or forged
    EXPIRED = "expired"
    USED = "used"
    STAFF_INACTIVE = "staff_inactive"


@dataclass(frozen=True)
class IssuedLink:
    url: str = field(repr=False)  # the console's sign-in page for this link
    expires_at: datetime
    minutes: int = LINK_MINUTES


@dataclass(frozen=True)
class ConsoleStaff:
    """Who is signed in to the console: what the session cookie holds, nothing personal."""

    staff_id: int
    telegram_user_id: int = field(repr=False)
    region_code: str
    role: str = StaffRole.STAFF.value

    @property
    def is_supervisor(self) -> bool:
        return self.role == StaffRole.SUPERVISOR.value

    def covers(self, region: str) -> bool:
        return covers(self.region_code, region)

    def as_session(self) -> dict[str, object]:
        return {"staff_id": self.staff_id, "telegram_user_id": self.telegram_user_id}


def _console_staff(member: StaffMember) -> ConsoleStaff:
    assert member.telegram_user_id is not None
    return ConsoleStaff(member.id, member.telegram_user_id, member.region_code, member.role)


class ConsoleSignInService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        clock: Clock = utc_now,
        *,
        console_url: str = "http://127.0.0.1:8080/console",
    ) -> None:
        self._uow_factory = uow_factory
        self._vault = vault
        self._clock = clock
        self._console_url = console_url.rstrip("/")

    def _hash(self, token: str) -> str:
        return self._vault.keyed_digest("console-sign-in", token).hex()

    async def issue(self, telegram_user_id: int) -> IssuedLink:
        """A new link for the staff member signed in to the bot with this account (NotStaff
        for anyone else). Earlier links of theirs that were not used stay valid until they
        expire: a staff member may open the console on a tablet and a desk at once."""
        now = self._clock()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        async with self._uow_factory() as uow:
            member = await uow.staff.acting(telegram_user_id)
            expires_at = now + timedelta(minutes=LINK_MINUTES)
            uow.sign_in_links.add(
                ConsoleSignInLink(
                    token_hash=self._hash(token), staff_id=member.id, created_at=now, expires_at=expires_at
                )
            )
            uow.audit.add(
                AuditEntry(at=now, actor=f"staff:{member.id}", action="console_link_issued", detail={})
            )
            await uow.commit()
        return IssuedLink(f"{self._console_url}/sign-in/{token}", expires_at)

    async def redeem(self, token: str) -> ConsoleStaff | LinkRefused:
        """The staff member the link signs in, once; or why it does not (recorded)."""
        now = self._clock()
        refused: LinkRefused | None = None
        async with self._uow_factory() as uow:
            link = await uow.sign_in_links.by_token_hash_for_update(self._hash(token.strip()))
            member = await uow.staff.get(link.staff_id) if link is not None else None
            if link is None:
                refused = LinkRefused.UNKNOWN
            elif link.used_at is not None:
                refused = LinkRefused.USED
            elif as_utc(link.expires_at) <= now:
                refused = LinkRefused.EXPIRED
            elif member is None or not member.active or member.telegram_user_id is None:
                refused = LinkRefused.STAFF_INACTIVE
            else:
                link.used_at = now
                uow.audit.add(
                    AuditEntry(
                        at=now,
                        actor=f"staff:{member.id}",
                        action="console_signed_in",
                        detail={"link": link.id},
                    )
                )
                await uow.commit()
                return _console_staff(member)
        await record_error(
            self._uow_factory,
            "console",
            f"sign_in_link_{refused.value}",
            context={"staff_id": link.staff_id} if link is not None else {},
        )
        return refused

    async def current(self, staff_id: int, telegram_user_id: int) -> ConsoleStaff:
        """The staff member a session names, as they are now; NotStaff if they are no longer
        active or their account now belongs to someone else."""
        async with self._uow_factory() as uow:
            member = await uow.staff.get(staff_id)
        if member is None or not member.active or member.telegram_user_id != telegram_user_id:
            raise NotStaff(telegram_user_id)
        return _console_staff(member)


class ConsoleAuditTrail:
    """The audit entries of what staff looked at in the console (lists, exports, reports),
    beside those the services write for a retiree's file and a case's evidence."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def looked(self, staff: ConsoleStaff, action: str, detail: dict[str, object]) -> None:
        async with self._uow_factory() as uow:
            uow.audit.add(
                AuditEntry(at=self._clock(), actor=f"staff:{staff.staff_id}", action=action, detail=detail)
            )
            await uow.commit()
