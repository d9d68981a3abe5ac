"""Repositories of publicity: subscriptions, campaigns, deliveries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BotUser, Retiree
from storage.models.certification import Binding
from storage.models.publicity import (
    CampaignStatus,
    PublicityCampaign,
    PublicityDelivery,
    PublicitySubscription,
)
from storage.repositories import affected_rows


class PublicityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # Subscriptions
    async def topics_of(self, telegram_user_id: int) -> set[str]:
        query = select(PublicitySubscription.topic).where(
            PublicitySubscription.telegram_user_id == telegram_user_id
        )
        return set((await self._session.execute(query)).scalars())

    async def subscribe(self, telegram_user_id: int, topic: str) -> None:
        if topic not in await self.topics_of(telegram_user_id):
            self._session.add(PublicitySubscription(telegram_user_id=telegram_user_id, topic=topic))
            await self._session.flush()

    async def unsubscribe(self, telegram_user_id: int, topic: str | None = None) -> int:
        query = delete(PublicitySubscription).where(
            PublicitySubscription.telegram_user_id == telegram_user_id
        )
        if topic is not None:
            query = query.where(PublicitySubscription.topic == topic)
        return affected_rows(await self._session.execute(query)) or 0

    # Campaigns
    def add_campaign(self, campaign: PublicityCampaign) -> None:
        self._session.add(campaign)

    async def campaign(self, campaign_id: int) -> PublicityCampaign | None:
        return await self._session.get(PublicityCampaign, campaign_id)

    async def campaigns(self, limit: int = 10) -> Sequence[PublicityCampaign]:
        query = select(PublicityCampaign).order_by(PublicityCampaign.id.desc()).limit(limit)
        return (await self._session.execute(query)).scalars().all()

    async def set_status(self, campaign_id: int, status: str, allowed_from: Iterable[str]) -> bool:
        query = (
            update(PublicityCampaign)
            .where(PublicityCampaign.id == campaign_id, PublicityCampaign.status.in_(list(allowed_from)))
            .values(status=status)
        )
        return bool(affected_rows(await self._session.execute(query)))

    async def due_campaigns(self, now: datetime) -> Sequence[PublicityCampaign]:
        query = (
            select(PublicityCampaign)
            .where(
                or_(
                    PublicityCampaign.status == CampaignStatus.RUNNING,
                    (PublicityCampaign.status == CampaignStatus.SCHEDULED)
                    & (PublicityCampaign.send_at <= now),
                )
            )
            .order_by(PublicityCampaign.send_at, PublicityCampaign.id)
        )
        return (await self._session.execute(query)).scalars().all()

    async def audience(
        self,
        topic: str,
        *,
        role: str | None = None,
        language: str | None = None,
        region: str | None = None,
        due_by: date | None = None,
        not_certified_by: date | None = None,
    ) -> list[tuple[int, int, str]]:
        """(telegram user id, chat id, language) of the topic's subscribers in the segment."""
        query = (
            select(BotUser.telegram_user_id, BotUser.chat_id, BotUser.language)
            .join(PublicitySubscription, PublicitySubscription.telegram_user_id == BotUser.telegram_user_id)
            .where(PublicitySubscription.topic == topic)
            .order_by(BotUser.telegram_user_id)
        )
        if role:
            query = query.where(BotUser.role == role)
        if language:
            query = query.where(BotUser.language == language)
        retiree_conditions = []
        if region:
            retiree_conditions.append(Retiree.residence_region == region)
        if due_by is not None:
            retiree_conditions.append(Retiree.due_on <= due_by)
        if not_certified_by is not None:
            retiree_conditions.append(
                or_(Retiree.last_certified_on.is_(None), Retiree.due_on <= not_certified_by)
            )
        if retiree_conditions:
            bound = (
                select(Binding.id)
                .join(Retiree, Retiree.id == Binding.retiree_id)
                .where(
                    Binding.telegram_user_id == BotUser.telegram_user_id,
                    Binding.revoked_at.is_(None),
                    *retiree_conditions,
                )
            )
            query = query.where(exists(bound))
        return [
            (user_id, chat_id, language) for user_id, chat_id, language in await self._session.execute(query)
        ]

    # Deliveries
    def add_deliveries(self, campaign_id: int, recipients: Iterable[tuple[int, int, str]]) -> None:
        self._session.add_all(
            PublicityDelivery(
                campaign_id=campaign_id, telegram_user_id=user_id, chat_id=chat_id, language=lang
            )
            for user_id, chat_id, lang in recipients
        )

    async def pending(self, campaign_id: int, limit: int) -> Sequence[PublicityDelivery]:
        query = (
            select(PublicityDelivery)
            .where(PublicityDelivery.campaign_id == campaign_id, PublicityDelivery.status == "pending")
            .order_by(PublicityDelivery.id)
            .limit(limit)
        )
        return (await self._session.execute(query)).scalars().all()

    async def claim(self, delivery_id: int, now: datetime) -> bool:
        """pending -> sending; False when someone else had it already."""
        query = (
            update(PublicityDelivery)
            .where(PublicityDelivery.id == delivery_id, PublicityDelivery.status == "pending")
            .values(status="sending", claimed_at=now, attempts=PublicityDelivery.attempts + 1)
        )
        return bool(affected_rows(await self._session.execute(query)))

    async def finish(self, delivery_id: int, status: str, now: datetime, error: str | None = None) -> None:
        query = (
            update(PublicityDelivery)
            .where(PublicityDelivery.id == delivery_id)
            .values(status=status, error=error, sent_at=now if status == "sent" else None)
        )
        await self._session.execute(query)

    async def release(self, delivery_id: int) -> None:
        query = (
            update(PublicityDelivery)
            .where(PublicityDelivery.id == delivery_id, PublicityDelivery.status == "sending")
            .values(status="pending")
        )
        await self._session.execute(query)

    async def recover_expired(self, claimed_before: datetime, max_claims: int) -> tuple[int, int]:
        """Rows `sending` since before `claimed_before` (their sender died, was cancelled, or
        lost the database between claim and mark): back to `pending`, to be sent again (they
        may have reached the chat: at least once, never silently lost), or `uncertain` once
        claimed `max_claims` times. A campaign marked done meanwhile runs again.
        Returns (requeued, given up)."""
        expired = (PublicityDelivery.status == "sending") & or_(
            PublicityDelivery.claimed_at.is_(None), PublicityDelivery.claimed_at < claimed_before
        )
        given_up = (
            affected_rows(
                await self._session.execute(
                    update(PublicityDelivery)
                    .where(expired, PublicityDelivery.attempts >= max_claims)
                    .values(status="uncertain", error="interrupted")
                )
            )
            or 0
        )
        campaigns = list(
            (await self._session.execute(select(PublicityDelivery.campaign_id).where(expired).distinct()))
            .scalars()
            .all()
        )
        if not campaigns:
            return 0, given_up
        requeued = (
            affected_rows(
                await self._session.execute(
                    update(PublicityDelivery).where(expired).values(status="pending", error="lease expired")
                )
            )
            or 0
        )
        await self._session.execute(
            update(PublicityCampaign)
            .where(PublicityCampaign.id.in_(campaigns), PublicityCampaign.status == CampaignStatus.DONE)
            .values(status=CampaignStatus.RUNNING, finished_at=None)
        )
        return requeued, given_up

    async def in_flight(self, campaign_id: int) -> int:
        """Deliveries of the campaign claimed and not yet marked."""
        query = select(func.count()).where(
            PublicityDelivery.campaign_id == campaign_id, PublicityDelivery.status == "sending"
        )
        return (await self._session.execute(query)).scalar_one()

    async def counts(self, campaign_id: int) -> dict[str, int]:
        query = (
            select(PublicityDelivery.status, func.count())
            .where(PublicityDelivery.campaign_id == campaign_id)
            .group_by(PublicityDelivery.status)
        )
        return {status: count for status, count in (await self._session.execute(query)).all()}
