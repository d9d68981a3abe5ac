"""Subscriptions and campaigns: what the bot's handlers and the sender call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from content.publicity.articles import TOPICS
from kernel.clock import utc_now
from kernel.permissions import NotStaff
from storage.models.publicity import CampaignStatus, PublicityCampaign
from storage.uow import UnitOfWorkFactory

STATES = ("sent", "failed", "blocked", "uncertain", "pending")

# What staff may still pause, and still cancel.
PAUSABLE = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING)
UNFINISHED = (CampaignStatus.DRAFT, *PAUSABLE, CampaignStatus.PAUSED)


@dataclass(frozen=True)
class Segment:
    """Who, among a topic's subscribers, a campaign goes to (None: anyone)."""

    role: str | None = None
    region: str | None = None
    language: str | None = None
    due_within_days: int | None = None
    not_certified: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> Segment:
        data = data or {}
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


@dataclass(frozen=True)
class CampaignStats:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    uncertain: int = 0
    pending: int = 0  # includes a delivery being sent right now

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> CampaignStats:
        return cls(
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            blocked=counts.get("blocked", 0),
            uncertain=counts.get("uncertain", 0),
            pending=counts.get("pending", 0) + counts.get("sending", 0),
        )

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.blocked + self.uncertain + self.pending


@dataclass(frozen=True)
class CampaignView:
    id: int
    topic: str
    text: str
    photo: str | None
    segment: Segment
    status: CampaignStatus
    send_at: datetime | None
    audience: int | None = None  # how many would receive it now (preview)
    stats: CampaignStats = field(default_factory=CampaignStats)


class UnknownTopic(ValueError):
    pass


class PublicityService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._uow = self.uow_factory = uow_factory
        self._zone = self.zone = ZoneInfo(timezone)
        self._clock = clock

    def today(self) -> date:
        return self._clock().astimezone(self._zone).date()

    def local_time(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self._zone)

    def now(self) -> datetime:
        return self._clock()

    # Subscriptions
    async def topics_of(self, telegram_user_id: int) -> set[str]:
        async with self._uow() as uow:
            return await uow.publicity.topics_of(telegram_user_id)

    async def toggle(self, telegram_user_id: int, topic: str) -> bool:
        """Subscribe or unsubscribe with one tap; True when now subscribed."""
        if topic not in TOPICS:
            raise UnknownTopic(topic)
        async with self._uow() as uow:
            if topic in await uow.publicity.topics_of(telegram_user_id):
                await uow.publicity.unsubscribe(telegram_user_id, topic)
                subscribed = False
            else:
                await uow.publicity.subscribe(telegram_user_id, topic)
                subscribed = True
            await uow.commit()
        return subscribed

    async def subscribe(self, telegram_user_id: int, topic: str) -> None:
        async with self._uow() as uow:
            await uow.publicity.subscribe(telegram_user_id, topic)
            await uow.commit()

    # Campaigns (staff only)
    async def _staff(self, uow, telegram_user_id: int):
        staff = await uow.staff.by_telegram_user(telegram_user_id)
        if staff is None:
            raise NotStaff(telegram_user_id)
        return staff

    async def is_staff(self, telegram_user_id: int) -> bool:
        async with self._uow() as uow:
            return await uow.staff.by_telegram_user(telegram_user_id) is not None

    async def staff_region(self, telegram_user_id: int) -> str:
        async with self._uow() as uow:
            return (await self._staff(uow, telegram_user_id)).region_code

    async def create(
        self, staff_user_id: int, topic: str, text: str, segment: Segment, photo: str | None = None
    ) -> int:
        if topic not in TOPICS:
            raise UnknownTopic(topic)
        async with self._uow() as uow:
            staff = await self._staff(uow, staff_user_id)
            campaign = PublicityCampaign(
                topic=topic,
                text=text,
                photo=photo,
                segment=segment.as_dict(),
                status=CampaignStatus.DRAFT,
                created_by=staff.id,
            )
            uow.publicity.add_campaign(campaign)
            await uow.flush()
            await uow.commit()
            return campaign.id

    async def update_draft(self, staff_user_id: int, campaign_id: int, topic: str, segment: Segment) -> bool:
        async with self._uow() as uow:
            await self._staff(uow, staff_user_id)
            campaign = await uow.publicity.campaign(campaign_id)
            if campaign is None or campaign.status != CampaignStatus.DRAFT:
                return False
            campaign.topic, campaign.segment = topic, segment.as_dict()
            await uow.commit()
            return True

    async def preview(self, staff_user_id: int, campaign_id: int) -> CampaignView | None:
        async with self._uow() as uow:
            await self._staff(uow, staff_user_id)
            campaign = await uow.publicity.campaign(campaign_id)
            if campaign is None:
                return None
            audience = await self._audience(uow, campaign.topic, Segment.from_dict(campaign.segment))
            counts = await uow.publicity.counts(campaign_id)
            return _view(campaign, counts, audience=len(audience))

    async def _audience(self, uow, topic: str, segment: Segment) -> list[tuple[int, int, str]]:
        today = self.today()
        return await uow.publicity.audience(
            topic,
            role=segment.role,
            language=segment.language,
            region=segment.region,
            due_by=None
            if segment.due_within_days is None
            else today + timedelta(days=segment.due_within_days),
            not_certified_by=today if segment.not_certified else None,
        )

    async def schedule(self, staff_user_id: int, campaign_id: int, at: datetime | None = None) -> bool:
        async with self._uow() as uow:
            await self._staff(uow, staff_user_id)
            campaign = await uow.publicity.campaign(campaign_id)
            if campaign is None or campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.PAUSED):
                return False
            if campaign.status == CampaignStatus.PAUSED and campaign.recipients_ready:
                campaign.status = CampaignStatus.RUNNING
            else:
                campaign.status = CampaignStatus.SCHEDULED
                campaign.send_at = at or self._clock()
            await uow.commit()
            return True

    async def pause(self, staff_user_id: int, campaign_id: int) -> bool:
        return await self._set(staff_user_id, campaign_id, CampaignStatus.PAUSED, PAUSABLE)

    async def cancel(self, staff_user_id: int, campaign_id: int) -> bool:
        return await self._set(staff_user_id, campaign_id, CampaignStatus.CANCELLED, UNFINISHED)

    async def _set(
        self,
        staff_user_id: int,
        campaign_id: int,
        status: CampaignStatus,
        allowed: tuple[CampaignStatus, ...],
    ) -> bool:
        async with self._uow() as uow:
            await self._staff(uow, staff_user_id)
            changed = await uow.publicity.set_status(campaign_id, status, allowed)
            await uow.commit()
            return changed

    async def campaigns(self, staff_user_id: int, limit: int = 10) -> list[CampaignView]:
        async with self._uow() as uow:
            await self._staff(uow, staff_user_id)
            return [
                _view(campaign, await uow.publicity.counts(campaign.id))
                for campaign in await uow.publicity.campaigns(limit)
            ]

    async def stats(self, campaign_id: int) -> CampaignStats:
        async with self._uow() as uow:
            return CampaignStats.from_counts(await uow.publicity.counts(campaign_id))

    # For the sender
    async def start_due(self) -> list[int]:
        """Campaigns whose time has come: their recipients fixed (once, in the same
        transaction as the move to `running`), then the ids of every running campaign."""
        async with self._uow() as uow:
            running = []
            for campaign in await uow.publicity.due_campaigns(self._clock()):
                if not campaign.recipients_ready:
                    audience = await self._audience(uow, campaign.topic, Segment.from_dict(campaign.segment))
                    uow.publicity.add_deliveries(campaign.id, audience)
                    campaign.recipients_ready = True
                campaign.status = CampaignStatus.RUNNING
                running.append(campaign.id)
            await uow.commit()
            return running


def _view(campaign: PublicityCampaign, counts: dict[str, int], audience: int | None = None) -> CampaignView:
    return CampaignView(
        id=campaign.id,
        topic=campaign.topic,
        text=campaign.text,
        photo=campaign.photo,
        segment=Segment.from_dict(campaign.segment),
        status=CampaignStatus(campaign.status),
        send_at=campaign.send_at,
        audience=audience,
        stats=CampaignStats.from_counts(counts),
    )
