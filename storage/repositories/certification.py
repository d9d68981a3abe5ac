"""Repositories of remote certification. Each area keeps its queries in its own class."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, Row, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.permissions import NotStaff
from storage.models import Base, BotUser, Retiree
from storage.models.certification import (
    AuditEntry,
    Binding,
    BindingCode,
    BindingFailure,
    Certification,
    CertificationAttempt,
    Consent,
    Evidence,
    PassAudit,
    ReferenceFace,
    Reminder,
    ReviewCase,
    StaffMember,
    Suspension,
)
from storage.repositories import affected_rows

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, row: Base) -> None:
        self._session.add(row)


class BindingRepository(_Repository):
    async def active_for_user(self, telegram_user_id: int) -> Sequence[Binding]:
        query = select(Binding).where(
            Binding.telegram_user_id == telegram_user_id, Binding.revoked_at.is_(None)
        )
        return (await self._session.execute(query.order_by(Binding.id))).scalars().all()

    async def active_for_retiree(self, retiree_id: int) -> Sequence[Binding]:
        query = select(Binding).where(Binding.retiree_id == retiree_id, Binding.revoked_at.is_(None))
        return (await self._session.execute(query.order_by(Binding.id))).scalars().all()

    async def code_by_hash(self, code_hash: str) -> BindingCode | None:
        result = await self._session.execute(select(BindingCode).where(BindingCode.code_hash == code_hash))
        return result.scalar_one_or_none()

    async def failures_since(self, telegram_user_id: int, since: datetime) -> int:
        query = select(BindingFailure).where(
            BindingFailure.telegram_user_id == telegram_user_id, BindingFailure.at >= since
        )
        return len((await self._session.execute(query)).scalars().all())

    # --- binding and the shared code lock (accounts/binding.py, accounts/lockout.py)

    async def get(self, binding_id: int) -> Binding | None:
        return await self._session.get(Binding, binding_id)

    async def for_user_and_retiree(self, telegram_user_id: int, retiree_id: int) -> Binding | None:
        """The row of this account and retiree, active or revoked (there is at most one)."""
        query = select(Binding).where(
            Binding.telegram_user_id == telegram_user_id, Binding.retiree_id == retiree_id
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def retirees_of_user(self, telegram_user_id: int) -> set[int]:
        """Every retiree this account is or was bound to (revoked bindings too)."""
        query = select(Binding.retiree_id).where(Binding.telegram_user_id == telegram_user_id).distinct()
        return set((await self._session.execute(query)).scalars().all())

    async def active_self(self, retiree_id: int) -> Binding | None:
        query = select(Binding).where(
            Binding.retiree_id == retiree_id, Binding.kind == "self", Binding.revoked_at.is_(None)
        )
        return (await self._session.execute(query.order_by(Binding.id).limit(1))).scalar_one_or_none()

    async def use_code(self, code_id: int, at: datetime) -> bool:
        """Mark a code used, only if it is still unused: two binds at once use it once."""
        result = await self._session.execute(
            update(BindingCode)
            .where(BindingCode.id == code_id, BindingCode.used_at.is_(None))
            .values(used_at=at)
        )
        return affected_rows(result) == 1

    async def failure_times_since(self, telegram_user_id: int, since: datetime, limit: int) -> list[datetime]:
        """Times of the newest failed code entries after `since`, newest first."""
        query = (
            select(BindingFailure.at)
            .where(BindingFailure.telegram_user_id == telegram_user_id, BindingFailure.at > since)
            .order_by(BindingFailure.at.desc())
            .limit(limit)
        )
        return list((await self._session.execute(query)).scalars().all())

    async def retirees_without_unused_code(
        self, first_id: int | None = None, last_id: int | None = None
    ) -> list[int]:
        """Ids of retirees (all, or those with first_id <= id <= last_id) holding no unused
        binding code, in id order."""
        unused = (
            select(BindingCode.id)
            .where(BindingCode.retiree_id == Retiree.id, BindingCode.used_at.is_(None))
            .exists()
        )
        query = select(Retiree.id).where(~unused)
        if first_id is not None:
            query = query.where(Retiree.id >= first_id)
        if last_id is not None:
            query = query.where(Retiree.id <= last_id)
        return list((await self._session.execute(query.order_by(Retiree.id))).scalars().all())

    async def existing_code_hashes(self, code_hashes: Sequence[str]) -> set[str]:
        query = select(BindingCode.code_hash).where(BindingCode.code_hash.in_(list(code_hashes)))
        return set((await self._session.execute(query)).scalars().all())

    async def add_codes(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many codes at once (Core executemany: no ORM objects for a large batch)."""
        if rows:
            connection = await self._session.connection()
            await connection.execute(insert(BindingCode.__table__), [dict(row) for row in rows])

    async def delete_unused_codes(self, retiree_id: int) -> int:
        result = await self._session.execute(
            delete(BindingCode).where(BindingCode.retiree_id == retiree_id, BindingCode.used_at.is_(None))
        )
        return affected_rows(result) or 0

    async def letters(self) -> Sequence[Row[str, bytes, str, bytes, datetime]]:
        """For each retiree holding an unused code, the newest one, with what a notice letter
        needs: rows of (name, id_number_encrypted, residence_region, code_encrypted, issued_at),
        ordered by region of residence (letters go out per community), then roster order."""
        newest = (
            select(func.max(BindingCode.id))
            .where(BindingCode.used_at.is_(None))
            .group_by(BindingCode.retiree_id)
        )
        query = (
            select(
                Retiree.name,
                Retiree.id_number_encrypted,
                Retiree.residence_region,
                BindingCode.code_encrypted,
                BindingCode.issued_at,
            )
            .join(BindingCode, BindingCode.retiree_id == Retiree.id)
            .where(BindingCode.id.in_(newest))
            .order_by(Retiree.residence_region, Retiree.id)
        )
        return (await self._session.execute(query)).all()


class ConsentRepository(_Repository):
    async def current(self, retiree_id: int) -> Consent | None:
        query = (
            select(Consent)
            .where(Consent.retiree_id == retiree_id, Consent.withdrawn_at.is_(None))
            .order_by(Consent.id.desc())
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def latest(self, retiree_id: int) -> Consent | None:
        """The newest decision, withdrawn or not."""
        query = select(Consent).where(Consent.retiree_id == retiree_id).order_by(Consent.id.desc()).limit(1)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def withdraw_all(self, retiree_id: int, at: datetime) -> int:
        result = await self._session.execute(
            update(Consent)
            .where(Consent.retiree_id == retiree_id, Consent.withdrawn_at.is_(None))
            .values(withdrawn_at=at)
        )
        return affected_rows(result) or 0


class StaffRepository(_Repository):
    async def get(self, staff_id: int) -> StaffMember | None:
        return await self._session.get(StaffMember, staff_id)

    async def by_code_hash(self, code_hash: str) -> StaffMember | None:
        result = await self._session.execute(
            select(StaffMember).where(StaffMember.staff_code_hash == code_hash)
        )
        return result.scalar_one_or_none()

    async def acting(self, telegram_user_id: int) -> StaffMember:
        """The active staff member behind this Telegram account; NotStaff for anyone else."""
        staff = await self.by_telegram_user(telegram_user_id)
        if staff is None:
            raise NotStaff(telegram_user_id)
        return staff

    async def by_telegram_user(self, telegram_user_id: int) -> StaffMember | None:
        query = select(StaffMember).where(
            StaffMember.telegram_user_id == telegram_user_id, StaffMember.active.is_(True)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def by_number(self, staff_number: str) -> StaffMember | None:
        result = await self._session.execute(
            select(StaffMember).where(StaffMember.staff_number == staff_number)
        )
        return result.scalar_one_or_none()

    async def any_by_telegram_user(self, telegram_user_id: int) -> StaffMember | None:
        """Active or not: the account can be linked to one staff member only."""
        result = await self._session.execute(
            select(StaffMember).where(StaffMember.telegram_user_id == telegram_user_id)
        )
        return result.scalar_one_or_none()


class FaceRepository(_Repository):
    async def references(self, retiree_id: int) -> Sequence[ReferenceFace]:
        query = select(ReferenceFace).where(ReferenceFace.retiree_id == retiree_id).order_by(ReferenceFace.id)
        return (await self._session.execute(query)).scalars().all()

    async def delete_for_retiree(self, retiree_id: int) -> int:
        result = await self._session.execute(
            delete(ReferenceFace).where(ReferenceFace.retiree_id == retiree_id)
        )
        return affected_rows(result) or 0

    async def count_for_retiree(self, retiree_id: int) -> int:
        query = select(func.count()).select_from(ReferenceFace).where(ReferenceFace.retiree_id == retiree_id)
        return (await self._session.execute(query)).scalar_one()

    async def retirees_waiting(self) -> list[int]:
        """Ids of the retirees with a roster photo and no reference face yet, in id order."""
        has_reference = select(ReferenceFace.retiree_id)
        query = select(Retiree.id).where(
            Retiree.reference_photo_path.is_not(None), Retiree.id.not_in(has_reference)
        )
        return list((await self._session.execute(query.order_by(Retiree.id))).scalars())

    async def newest_of_region(
        self, region: str, engine: str, *, excluding: int, limit: int
    ) -> Sequence[Row[int, bytes]]:
        """(retiree_id, template_encrypted) of the newest `limit` references made by `engine`
        of retirees living in `region`, other than retiree `excluding`."""
        query = (
            select(ReferenceFace.retiree_id, ReferenceFace.template_encrypted)
            .join(Retiree, Retiree.id == ReferenceFace.retiree_id)
            .where(
                Retiree.residence_region == region,
                ReferenceFace.retiree_id != excluding,
                ReferenceFace.engine == engine,
            )
            .order_by(ReferenceFace.id.desc())
            .limit(limit)
        )
        return (await self._session.execute(query)).all()


class AttemptRepository(_Repository):
    async def get(self, attempt_id: int) -> CertificationAttempt | None:
        return await self._session.get(CertificationAttempt, attempt_id)

    async def by_key(self, idempotency_key: str) -> CertificationAttempt | None:
        query = select(CertificationAttempt).where(CertificationAttempt.idempotency_key == idempotency_key)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def since(self, retiree_id: int, since: datetime) -> Sequence[CertificationAttempt]:
        query = (
            select(CertificationAttempt)
            .where(CertificationAttempt.retiree_id == retiree_id, CertificationAttempt.at >= since)
            .order_by(CertificationAttempt.id)
        )
        return (await self._session.execute(query)).scalars().all()

    async def for_case(self, review_case_id: int) -> Sequence[CertificationAttempt]:
        query = (
            select(CertificationAttempt)
            .where(CertificationAttempt.review_case_id == review_case_id)
            .order_by(CertificationAttempt.id)
        )
        return (await self._session.execute(query)).scalars().all()

    async def count_for_retiree(self, retiree_id: int) -> int:
        query = (
            select(func.count())
            .select_from(CertificationAttempt)
            .where(CertificationAttempt.retiree_id == retiree_id)
        )
        return (await self._session.execute(query)).scalar_one()

    async def for_challenge(self, challenge_id: int) -> Sequence[CertificationAttempt]:
        query = (
            select(CertificationAttempt)
            .where(CertificationAttempt.challenge_id == challenge_id)
            .order_by(CertificationAttempt.id)
        )
        return (await self._session.execute(query)).scalars().all()

    async def retirees_tried_by(self, telegram_user_id: int) -> set[int]:
        """Every retiree an attempt was made for from this Telegram account."""
        query = (
            select(CertificationAttempt.retiree_id)
            .where(CertificationAttempt.telegram_user_id == telegram_user_id)
            .distinct()
        )
        return set((await self._session.execute(query)).scalars().all())


class EvidenceRepository(_Repository):
    async def for_attempt(self, attempt_id: int) -> Evidence | None:
        result = await self._session.execute(select(Evidence).where(Evidence.attempt_id == attempt_id))
        return result.scalar_one_or_none()

    async def delete_for_retiree(self, retiree_id: int) -> int:
        result = await self._session.execute(delete(Evidence).where(Evidence.retiree_id == retiree_id))
        return affected_rows(result) or 0

    async def count_for_retiree(self, retiree_id: int) -> int:
        query = select(func.count()).select_from(Evidence).where(Evidence.retiree_id == retiree_id)
        return (await self._session.execute(query)).scalar_one()


class CertificationRepository(_Repository):
    async def latest(self, retiree_id: int) -> Certification | None:
        query = (
            select(Certification)
            .where(Certification.retiree_id == retiree_id)
            .order_by(Certification.certified_at.desc(), Certification.id.desc())
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def count_for_retiree(self, retiree_id: int) -> int:
        query = select(func.count()).select_from(Certification).where(Certification.retiree_id == retiree_id)
        return (await self._session.execute(query)).scalar_one()

    async def history(self, retiree_id: int) -> list[tuple[date, str]]:
        """(certified_on, method) of every certification of the retiree, oldest first."""
        query = (
            select(Certification.certified_on, Certification.method)
            .where(Certification.retiree_id == retiree_id)
            .order_by(Certification.certified_on, Certification.id)
        )
        return [(day, method) for day, method in (await self._session.execute(query)).all()]

    async def retirees_certified_by(
        self, telegram_user_id: int, since: datetime, methods: Collection[str]
    ) -> set[int]:
        """The retirees certified (by one of `methods`) since `since` with an attempt sent
        from this Telegram account."""
        query = (
            select(Certification.retiree_id)
            .join(CertificationAttempt, CertificationAttempt.id == Certification.attempt_id)
            .where(
                CertificationAttempt.telegram_user_id == telegram_user_id,
                Certification.certified_at >= since,
                Certification.method.in_(list(methods)),
            )
            .distinct()
        )
        return set((await self._session.execute(query)).scalars().all())


class ReviewRepository(_Repository):
    async def get(self, case_id: int) -> ReviewCase | None:
        return await self._session.get(ReviewCase, case_id)

    async def pending(self, limit: int = 20) -> Sequence[ReviewCase]:
        query = select(ReviewCase).where(ReviewCase.status == "pending").order_by(ReviewCase.id).limit(limit)
        return (await self._session.execute(query)).scalars().all()

    async def open_for_retiree(
        self, retiree_id: int, because: Collection[str] | None = None
    ) -> ReviewCase | None:
        """A pending case of the retiree (opened for one of `because`, when given)."""
        query = select(ReviewCase).where(ReviewCase.retiree_id == retiree_id, ReviewCase.status == "pending")
        if because is not None:
            query = query.where(ReviewCase.opened_because.in_(list(because)))
        return (await self._session.execute(query.limit(1))).scalar_one_or_none()

    async def open_for_retiree_because(self, retiree_id: int, opened_because: str) -> ReviewCase | None:
        query = select(ReviewCase).where(
            ReviewCase.retiree_id == retiree_id,
            ReviewCase.status == "pending",
            ReviewCase.opened_because == opened_because,
        )
        return (await self._session.execute(query.limit(1))).scalar_one_or_none()


class PassAuditRepository(_Repository):
    async def get(self, audit_id: int) -> PassAudit | None:
        return await self._session.get(PassAudit, audit_id)

    async def open_oldest(self, limit: int = 500) -> Sequence[PassAudit]:
        """Open audits of every region, oldest first (the caller keeps those it covers)."""
        query = (
            select(PassAudit)
            .where(PassAudit.state == "open")
            .order_by(PassAudit.created_at, PassAudit.id)
            .limit(limit)
        )
        return (await self._session.execute(query)).scalars().all()

    async def for_attempt(self, attempt_id: int) -> PassAudit | None:
        query = select(PassAudit).where(PassAudit.attempt_id == attempt_id)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def by_review_case(self, case_id: int) -> PassAudit | None:
        query = select(PassAudit).where(PassAudit.review_case_id == case_id)
        return (await self._session.execute(query.limit(1))).scalar_one_or_none()

    async def decide(
        self, audit_id: int, state: str, staff_id: int, at: datetime, *, review_case_id: int | None = None
    ) -> bool:
        """Moves an open audit to `state`, once: False when it was decided meanwhile (a
        colleague's tap got there first; compare-and-set on the state)."""
        result = await self._session.execute(
            update(PassAudit)
            .where(PassAudit.id == audit_id, PassAudit.state == "open")
            .values(state=state, decided_by=staff_id, decided_at=at, review_case_id=review_case_id)
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result) == 1


class ReminderRepository(_Repository):
    async def exists(self, retiree_id: int, due_on: date, days_before: int, chat_id: int) -> Reminder | None:
        query = select(Reminder).where(
            Reminder.retiree_id == retiree_id,
            Reminder.due_on == due_on,
            Reminder.days_before == days_before,
            Reminder.chat_id == chat_id,
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    # A reminder's key: (retiree_id, due_on, days_before, chat_id), the table's unique constraint.
    # A row with sent_at NULL is claimed by a sweep (being sent) or failed (e.g. a blocked chat).

    async def recorded_for(
        self, retiree_ids: Sequence[int], since: date
    ) -> Sequence[Row[int, date, int, int]]:
        """(retiree_id, due_on, days_before, chat_id) of the reminders recorded for these
        retirees' due dates on or after `since`, sent or not."""
        query = select(Reminder.retiree_id, Reminder.due_on, Reminder.days_before, Reminder.chat_id).where(
            Reminder.retiree_id.in_(list(retiree_ids)), Reminder.due_on >= since
        )
        return (await self._session.execute(query)).all()

    async def claim(self, keys: Sequence[tuple[int, date, int, int]]) -> set[tuple[int, date, int, int]]:
        """Insert unsent rows for these keys; returns the keys this call inserted (a key
        another sweep already holds is left out: the unique constraint decides)."""
        if not keys:
            return set()
        dialect = self._session.get_bind().dialect.name
        insert: Callable[[type[Reminder]], postgresql.Insert | sqlite.Insert]
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

            insert = postgresql_insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            insert = sqlite_insert
        else:  # pragma: no cover - only the two supported databases
            raise NotImplementedError(f"claiming reminders is not implemented for {dialect}")
        claimed: set[tuple[int, date, int, int]] = set()
        for start in range(0, len(keys), 500):
            rows = [
                {"retiree_id": r, "due_on": d, "days_before": b, "chat_id": c}
                for r, d, b, c in keys[start : start + 500]
            ]
            statement = (
                insert(Reminder)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["retiree_id", "due_on", "days_before", "chat_id"])
                .returning(Reminder.retiree_id, Reminder.due_on, Reminder.days_before, Reminder.chat_id)
            )
            claimed |= {(r, d, b, c) for r, d, b, c in await self._session.execute(statement)}
        return claimed

    def _key_is(self, key: tuple[int, date, int, int]) -> ColumnElement[bool]:
        retiree_id, due_on, days_before, chat_id = key
        return and_(
            Reminder.retiree_id == retiree_id,
            Reminder.due_on == due_on,
            Reminder.days_before == days_before,
            Reminder.chat_id == chat_id,
        )

    async def mark_sent(self, key: tuple[int, date, int, int], at: datetime) -> None:
        """Record the reminder as sent (keeps the first sending time when called again)."""
        await self.claim([key])
        await self._session.execute(
            update(Reminder)
            .where(self._key_is(key), Reminder.sent_at.is_(None))
            .values(sent_at=at)
            .execution_options(synchronize_session=False)
        )

    async def release(self, key: tuple[int, date, int, int]) -> None:
        """Drop an unsent claim, so that the next sweep tries again."""
        await self._session.execute(
            delete(Reminder)
            .where(self._key_is(key), Reminder.sent_at.is_(None))
            .execution_options(synchronize_session=False)
        )


class SuspensionRepository(_Repository):
    async def open_for_retiree(self, retiree_id: int) -> Suspension | None:
        query = select(Suspension).where(Suspension.retiree_id == retiree_id, Suspension.resumed_on.is_(None))
        return (await self._session.execute(query.limit(1))).scalar_one_or_none()

    async def latest_for_retiree(self, retiree_id: int) -> Suspension | None:
        query = (
            select(Suspension)
            .where(Suspension.retiree_id == retiree_id)
            .order_by(Suspension.suspended_on.desc(), Suspension.id.desc())
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()


class AuditRepository(_Repository):
    async def for_retiree(self, retiree_id: int) -> Sequence[AuditEntry]:
        query = select(AuditEntry).where(AuditEntry.retiree_id == retiree_id).order_by(AuditEntry.id)
        return (await self._session.execute(query)).scalars().all()


class ExportQueries(_Repository):
    """What the payment agency's lists read: retirees with their certifications, due dates
    and suspensions over a date range, oldest first."""

    async def certified_between(
        self, date_from: date, date_to: date
    ) -> Sequence[Row[Retiree, Certification]]:
        """(retiree, certification) of the certifications made in [date_from, date_to]."""
        statement = (
            select(Retiree, Certification)
            .join(Certification, Certification.retiree_id == Retiree.id)
            .where(Certification.certified_on.between(date_from, date_to))
            .order_by(Certification.certified_on, Certification.id)
        )
        return (await self._session.execute(statement)).all()

    async def due_between(self, date_from: date, date_to: date) -> Sequence[Retiree]:
        statement = (
            select(Retiree)
            .where(Retiree.due_on.between(date_from, date_to))
            .order_by(Retiree.due_on, Retiree.id)
        )
        return (await self._session.execute(statement)).scalars().all()

    async def suspensions_between(
        self, date_from: date, date_to: date, *, resumed: bool
    ) -> Sequence[Row[Retiree, Suspension]]:
        """(retiree, suspension) of the suspensions made (resumed: ended) in [date_from, date_to]."""
        column = Suspension.resumed_on if resumed else Suspension.suspended_on
        statement = (
            select(Retiree, Suspension)
            .join(Suspension, Suspension.retiree_id == Retiree.id)
            .where(column.between(date_from, date_to))
            .order_by(column, Suspension.id)
        )
        return (await self._session.execute(statement)).all()


class CycleQueries(_Repository):
    """Retiree queries of the certification cycle: due dates, reminders, suspensions.

    Column tuples rather than ORM objects: the sweeps read many rows and need few columns.
    """

    async def due_date_inputs(
        self, after_id: int, limit: int
    ) -> Sequence[Row[int, date, str, date | None, date | None, str]]:
        """(id, birth_date, pension_region, last_certified_on, due_on, payment_state) of the
        next `limit` retirees after `after_id`, in id order."""
        query = (
            select(
                Retiree.id,
                Retiree.birth_date,
                Retiree.pension_region,
                Retiree.last_certified_on,
                Retiree.due_on,
                Retiree.payment_state,
            )
            .where(Retiree.id > after_id)
            .order_by(Retiree.id)
            .limit(limit)
        )
        return (await self._session.execute(query)).all()

    async def move_due_dates(self, values: Sequence[tuple[int, date]]) -> None:
        """Set due dates (retiree id, due_on); a stored due date never moves back."""
        if not values:
            return
        table = Retiree.__table__
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("b_id"),
                table.c.due_on.is_(None) | (table.c.due_on < bindparam("b_due_on")),
            )
            .values(due_on=bindparam("b_due_on"))
        )
        await self._session.execute(statement, [{"b_id": i, "b_due_on": d} for i, d in values])

    async def reminder_candidates(
        self, first: date, last: date
    ) -> Sequence[Row[int, str, str, date, int, str, str | None]]:
        """(retiree_id, name, pension_region, due_on, chat_id, kind, language) for every active
        binding of a retiree due between `first` and `last` whose payment is not suspended and
        who has no review case pending."""
        query = (
            select(
                Retiree.id,
                Retiree.name,
                Retiree.pension_region,
                Retiree.due_on,
                Binding.chat_id,
                Binding.kind,
                BotUser.language,
            )
            .join(Binding, and_(Binding.retiree_id == Retiree.id, Binding.revoked_at.is_(None)))
            .outerjoin(BotUser, BotUser.telegram_user_id == Binding.telegram_user_id)
            .where(Retiree.due_on >= first, Retiree.due_on <= last, Retiree.payment_state != "suspended")
            # A retiree whose certification waits for staff has done their part: a "please
            # certify" reminder would tell them the opposite.
            .where(
                ~select(ReviewCase.id)
                .where(ReviewCase.retiree_id == Retiree.id, ReviewCase.status == "pending")
                .exists()
            )
            .order_by(Retiree.due_on, Retiree.id, Binding.id)
        )
        rows = (await self._session.execute(query)).all()
        # due_on is within [first, last], so not NULL; the language is NULL for a chat whose
        # account is not a bot user (the outer join), which SQLAlchemy's row type does not say.
        return cast("Sequence[Row[int, str, str, date, int, str, str | None]]", rows)

    async def overdue(self, due_before: date, after_id: int, limit: int) -> Sequence[Row[int, str, date]]:
        """(id, pension_region, due_on) of retirees due before `due_before`, not suspended."""
        query = (
            select(Retiree.id, Retiree.pension_region, Retiree.due_on)
            .where(
                Retiree.due_on < due_before,
                Retiree.payment_state != "suspended",
                Retiree.id > after_id,
            )
            .order_by(Retiree.id)
            .limit(limit)
        )
        rows = (await self._session.execute(query)).all()
        return cast("Sequence[Row[int, str, date]]", rows)  # due_on < due_before: not NULL

    async def suspend_if_unchanged(self, retiree_id: int, due_on: date) -> bool:
        """Suspend payment unless the retiree certified (or was suspended) meanwhile."""
        table = Retiree.__table__
        result = await self._session.execute(
            update(table)
            .where(
                table.c.id == retiree_id,
                table.c.due_on == due_on,
                table.c.payment_state != "suspended",
            )
            .values(payment_state="suspended")
        )
        return affected_rows(result) == 1
