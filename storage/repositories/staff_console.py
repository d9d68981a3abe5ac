"""Repositories of the staff console: its sign-in links, and the retiree's file (what the
verification records, helpers and consent say of one retiree)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.certification import Binding, Consent
from storage.models.console import ConsoleSignInLink
from storage.models.records import ReceivedRecord, VerificationRecord


class SignInLinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, link: ConsoleSignInLink) -> None:
        self._session.add(link)

    async def by_token_hash_for_update(self, token_hash: str) -> ConsoleSignInLink | None:
        """The link, locked until the transaction ends: two tabs redeeming it at once sign in once."""
        query = select(ConsoleSignInLink).where(ConsoleSignInLink.token_hash == token_hash).with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()


class RetireeFileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def records(self, retiree_hash: str, limit: int = 200) -> Sequence[VerificationRecord]:
        """This region's verification records about the retiree, newest first."""
        query = (
            select(VerificationRecord)
            .where(VerificationRecord.retiree_hash == retiree_hash)
            .order_by(VerificationRecord.occurred_at.desc(), VerificationRecord.id.desc())
            .limit(limit)
        )
        return (await self._session.execute(query)).scalars().all()

    async def received(self, retiree_hash: str, limit: int = 200) -> Sequence[ReceivedRecord]:
        """Records other regions sent about the retiree, newest first."""
        query = (
            select(ReceivedRecord)
            .where(ReceivedRecord.retiree_hash == retiree_hash)
            .order_by(ReceivedRecord.occurred_at.desc(), ReceivedRecord.id.desc())
            .limit(limit)
        )
        return (await self._session.execute(query)).scalars().all()

    async def bindings(self, retiree_id: int) -> Sequence[Binding]:
        """Every account ever bound to the retiree (the retiree, family, helpers), oldest first."""
        query = select(Binding).where(Binding.retiree_id == retiree_id).order_by(Binding.id)
        return (await self._session.execute(query)).scalars().all()

    async def latest_consent(self, retiree_id: int) -> Consent | None:
        query = select(Consent).where(Consent.retiree_id == retiree_id).order_by(Consent.id.desc()).limit(1)
        return (await self._session.execute(query)).scalar_one_or_none()
