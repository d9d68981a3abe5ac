"""Binding a Telegram account to a retiree on the roster: the ID number plus the one-time
code printed on the notice letter.

What a binding attempt may reveal is kept to the minimum. A malformed ID number is
explained (it says nothing about who is on file). Everything else that is wrong — an ID
number not on file, a wrong code, a code already used, a code of another person — gives
the same answer, counts as one failure, and five failures in 24 hours lock the account
(accounts/lockout.py). The retiree's name is shown only after a correct pair.

A retiree has at most one "self" binding (their own account); any number of helpers
(family members, community workers) may bind too, each with a code of their own. A
helper may bind several elders.

Nothing here logs or prints an ID number, a code or a name.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from accounts.codes import BINDING_CODE_LENGTH, grouped, is_well_formed, new_codes, normalise_code
from accounts.lockout import LockState, lock_state, record_failure
from kernel.clock import Clock, as_utc, utc_now
from kernel.idnumber import IdReason, ValidIdNumber, check_id_number, mask_id_number
from storage.errors import record_error
from storage.models.certification import AuditEntry, Binding
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWorkFactory

KINDS = ("self", "helper")
# Codes are issued in batches: one transaction and one round of hash checks per batch.
ISSUE_BATCH = 5_000
# Named retirees are looked up this many ids at a time.
_ID_CHUNK = 5_000


class BindOutcome(StrEnum):
    BOUND = "bound"
    MALFORMED_ID = "malformed_id"
    MALFORMED_CODE = "malformed_code"
    NO_MATCH = "no_match"
    LOCKED = "locked"
    SELF_TAKEN = "self_taken"


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    retiree_id: int | None = None
    name: str | None = field(default=None, repr=False)  # only after a correct ID number and code
    kind: str | None = None
    binding_id: int | None = None
    already: bool = False  # this account was bound to this retiree before: nothing changed
    id_problem: IdReason | None = None  # malformed_id: what is wrong with the number
    tries_left: int | None = None  # no_match: tries before the lock
    locked_until: datetime | None = None  # locked (or no_match that caused the lock), aware UTC


@dataclass(frozen=True)
class BoundRetiree:
    binding_id: int
    retiree_id: int
    name: str = field(repr=False)
    kind: str


@dataclass(frozen=True)
class NoticeLetterRow:
    """One line of the notice-letter export."""

    name: str = field(repr=False)
    masked_id_number: str = field(repr=False)
    residence_region: str
    code: str = field(repr=False)  # grouped, "ABCD EFGH"
    issued_on: date


async def bound_retirees(uow, telegram_user_id: int, *, kind: str | None = None) -> list[tuple[int, str]]:
    """(retiree id, name) of the retirees this account is bound to now (of one kind, if
    given), in the order they were bound: whom it may act for."""
    return [
        (binding.retiree_id, (await uow.retirees.existing(binding.retiree_id)).name)
        for binding in await uow.bindings.active_for_user(telegram_user_id)
        if kind is None or binding.kind == kind
    ]


async def count_wrong_try(
    uow, uow_factory: UnitOfWorkFactory, telegram_user_id: int, now: datetime, flow: str
) -> LockState:
    """One more wrong try towards the lock this account shares across flows (binding, life
    events: accounts/lockout.py), committed; the error record names the flow, never what was
    typed."""
    state = await record_failure(uow, telegram_user_id, now)
    await uow.commit()
    await record_error(uow_factory, flow, "no_match", context={"locked": state.locked})
    return state


def normalise_id_input(raw: str) -> str:
    """What was typed, as the ID check expects it: full-width digits (a Chinese input method)
    become ASCII, and spaces inside ("110105 19491231 002X") are dropped."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(character for character in text if not character.isspace())


class BindingService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        clock: Clock = utc_now,
        *,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self._uow_factory = uow_factory
        self._vault = vault
        self._clock = clock
        self._zone = ZoneInfo(timezone)

    # ------------------------------------------------------------------ codes

    async def issue_codes(
        self, retiree_ids: Sequence[int] | None = None, *, issued_by: str = "roster_import"
    ) -> int:
        """Give a binding code to every retiree (all, or those named) that holds no unused
        code; returns how many were issued.

        Fast for a whole roster: codes are made, hashed and encrypted for the next batch in a
        worker thread while the database writes the current one."""
        missing = await self._without_unused_code(retiree_ids)
        batches = [missing[start : start + ISSUE_BATCH] for start in range(0, len(missing), ISSUE_BATCH)]
        if not batches:
            return 0
        upcoming = asyncio.ensure_future(asyncio.to_thread(self._prepare_codes, len(batches[0])))
        try:
            for index, batch in enumerate(batches):
                prepared = await upcoming
                if index + 1 < len(batches):
                    upcoming = asyncio.ensure_future(
                        asyncio.to_thread(self._prepare_codes, len(batches[index + 1]))
                    )
                async with self._uow_factory() as uow:
                    rows = await self._code_rows(uow, batch, prepared, issued_by)
                    await uow.bindings.add_codes(rows)
                    await uow.commit()
        finally:
            if not upcoming.done():  # a failed batch: let the worker finish, quietly
                await asyncio.gather(upcoming, return_exceptions=True)
        return len(missing)

    async def _without_unused_code(self, retiree_ids: Sequence[int] | None) -> list[int]:
        async with self._uow_factory() as uow:
            if retiree_ids is None:
                return await uow.bindings.retirees_without_unused_code()
            wanted = sorted(set(retiree_ids))
            missing: list[int] = []
            # Id ranges of sorted chunks do not overlap, so the rows read never exceed the
            # table; the new retirees of an import have consecutive ids: one range each.
            for start in range(0, len(wanted), _ID_CHUNK):
                chunk = wanted[start : start + _ID_CHUNK]
                found = await uow.bindings.retirees_without_unused_code(chunk[0], chunk[-1])
                missing += sorted(set(found).intersection(chunk))
            return missing

    async def reissue_code(self, retiree_id: int, *, issued_by: str) -> str:
        """A new code for one retiree (a lost letter): older unused codes stop working.
        Returns the code, to be printed; it is not shown again except through the export."""
        async with self._uow_factory() as uow:
            if await uow.retirees.get(retiree_id) is None:
                raise LookupError(f"no retiree {retiree_id}")
            invalidated = await uow.bindings.delete_unused_codes(retiree_id)
            [row] = await self._code_rows(uow, [retiree_id], self._prepare_codes(1), issued_by)
            code = self._vault.decrypt_text(row["code_encrypted"])
            await uow.bindings.add_codes([row])
            uow.audit.add(
                AuditEntry(
                    at=row["issued_at"],
                    actor=issued_by,
                    action="binding_code_reissued",
                    retiree_id=retiree_id,
                    detail={"invalidated": invalidated},
                )
            )
            await uow.commit()
        return code

    def _prepare_codes(self, count: int) -> dict[str, tuple[str, bytes]]:
        """`count` new codes: {hash: (code, encrypted code)}, distinct hashes. CPU only."""
        prepared: dict[str, tuple[str, bytes]] = {}
        while len(prepared) < count:
            for code in new_codes(count - len(prepared), BINDING_CODE_LENGTH):
                prepared.setdefault(self._vault.lookup_hash(code), (code, b""))
        return {code_hash: (code, self._vault.encrypt(code)) for code_hash, (code, _) in prepared.items()}

    async def _code_rows(
        self, uow, retiree_ids: Sequence[int], prepared: dict[str, tuple[str, bytes]], issued_by: str
    ) -> list[dict]:
        """Rows for `retiree_ids`, using the prepared codes that no stored code already has.
        (31^8 possible codes: a clash is rare, but the unique index must never fail.)"""
        codes = dict(prepared)
        while True:
            for taken in await uow.bindings.existing_code_hashes(list(codes)):
                del codes[taken]
            if len(codes) >= len(retiree_ids):
                break
            extra = self._prepare_codes(len(retiree_ids) - len(codes))
            codes.update((h, value) for h, value in extra.items() if h not in codes)
        now = self._clock()
        return [
            {
                "retiree_id": retiree_id,
                "code_hash": code_hash,
                "code_encrypted": encrypted,
                "issued_at": now,
                "issued_by": issued_by,
                "used_at": None,
            }
            for retiree_id, (code_hash, (_, encrypted)) in zip(retiree_ids, codes.items(), strict=False)
        ]

    async def notice_letters(self) -> list[NoticeLetterRow]:
        """The newest unused code of every retiree that has one, for the notice letters."""
        async with self._uow_factory() as uow:
            rows = await uow.bindings.letters()
        return [
            NoticeLetterRow(
                name=name,
                masked_id_number=mask_id_number(self._vault.decrypt_text(id_encrypted)),
                residence_region=region,
                code=grouped(self._vault.decrypt_text(code_encrypted)),
                issued_on=as_utc(issued_at).astimezone(self._zone).date(),
            )
            for name, id_encrypted, region, code_encrypted, issued_at in rows
        ]

    # ------------------------------------------------------------------ binding

    def id_number_problem(self, raw: str) -> IdReason | None:
        """Why a typed ID number cannot be right (GB 11643), or None. Reveals nothing about
        who is on file, so the conversation can say it at once, before asking for the code."""
        checked = check_id_number(normalise_id_input(raw), today=self._today())
        return None if isinstance(checked, ValidIdNumber) else checked.reason

    async def lock_state(self, telegram_user_id: int) -> LockState:
        async with self._uow_factory() as uow:
            return await lock_state(uow, telegram_user_id, self._clock())

    async def bind(
        self, telegram_user_id: int, chat_id: int, id_number: str, code: str, kind: str
    ) -> BindResult:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        now = self._clock()
        async with self._uow_factory() as uow:
            state = await lock_state(uow, telegram_user_id, now)
            if state.locked:
                return BindResult(BindOutcome.LOCKED, locked_until=state.locked_until)
            checked = check_id_number(normalise_id_input(id_number), today=self._today())
            if not isinstance(checked, ValidIdNumber):
                return BindResult(BindOutcome.MALFORMED_ID, id_problem=checked.reason)
            typed_code = normalise_code(code)
            if not is_well_formed(typed_code, BINDING_CODE_LENGTH):
                return BindResult(BindOutcome.MALFORMED_CODE)

            retiree = await uow.retirees.by_id_hash(self._vault.lookup_hash(checked.number))
            stored = await uow.bindings.code_by_hash(self._vault.lookup_hash(typed_code))
            if (
                retiree is None
                or stored is None
                or stored.retiree_id != retiree.id
                or stored.used_at is not None
            ):
                return await self._no_match(uow, telegram_user_id, now)

            mine = await uow.bindings.for_user_and_retiree(telegram_user_id, retiree.id)
            if mine is not None and mine.revoked_at is None:
                # Bound already (a second letter, a repeated tap): keep the code for someone else.
                return BindResult(
                    BindOutcome.BOUND, retiree.id, retiree.name, mine.kind, mine.id, already=True
                )
            if kind == "self" and any(
                other.kind == "self" and other.retiree_id != retiree.id
                for other in await uow.bindings.active_for_user(telegram_user_id)
            ):
                kind = "helper"  # one account is one person's own: for anyone else it helps
            if kind == "self":
                holder = await uow.bindings.active_self(retiree.id)
                if holder is not None and holder.telegram_user_id != telegram_user_id:
                    return BindResult(BindOutcome.SELF_TAKEN, retiree.id, retiree.name, kind)
            if not await uow.bindings.use_code(stored.id, now):  # used a moment ago by another tap
                return await self._no_match(uow, telegram_user_id, now)

            if mine is None:
                mine = Binding(telegram_user_id=telegram_user_id, retiree_id=retiree.id)
                uow.bindings.add(mine)
            mine.chat_id, mine.kind, mine.created_at, mine.revoked_at = chat_id, kind, now, None
            await uow.flush()
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor=f"user:{telegram_user_id}",
                    action="binding_created",
                    retiree_id=retiree.id,
                    detail={"binding_id": mine.id, "kind": kind, "code_id": stored.id},
                )
            )
            await uow.commit()
            return BindResult(BindOutcome.BOUND, retiree.id, retiree.name, kind, mine.id)

    async def _no_match(self, uow, telegram_user_id: int, now: datetime) -> BindResult:
        state = await count_wrong_try(uow, self._uow_factory, telegram_user_id, now, "binding")
        return BindResult(BindOutcome.NO_MATCH, tries_left=state.tries_left, locked_until=state.locked_until)

    async def bindings_for(self, telegram_user_id: int) -> list[BoundRetiree]:
        async with self._uow_factory() as uow:
            result = []
            for binding in await uow.bindings.active_for_user(telegram_user_id):
                retiree = await uow.retirees.existing(binding.retiree_id)
                result.append(BoundRetiree(binding.id, binding.retiree_id, retiree.name, binding.kind))
            return result

    async def unbind(self, telegram_user_id: int, binding_id: int) -> bool:
        """End one of this account's bindings; False if it is not theirs or already ended.
        Binding again later needs a new code."""
        now = self._clock()
        async with self._uow_factory() as uow:
            binding = await uow.bindings.get(binding_id)
            if binding is None or binding.telegram_user_id != telegram_user_id or binding.revoked_at:
                return False
            binding.revoked_at = now
            uow.audit.add(
                AuditEntry(
                    at=now,
                    actor=f"user:{telegram_user_id}",
                    action="binding_revoked",
                    retiree_id=binding.retiree_id,
                    detail={"binding_id": binding.id, "kind": binding.kind},
                )
            )
            await uow.commit()
            return True

    def _today(self) -> date:
        return self._clock().astimezone(self._zone).date()
