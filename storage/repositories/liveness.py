"""Repositories of liveness challenges and media fingerprints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.liveness import FrameBand, LivenessChallenge, MediaFingerprint
from storage.repositories import affected_rows


class ChallengeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, challenge: LivenessChallenge) -> None:
        self._session.add(challenge)

    async def get(self, challenge_id: int) -> LivenessChallenge | None:
        return await self._session.get(LivenessChallenge, challenge_id)

    async def open_for(self, retiree_id: int, telegram_user_id: int) -> LivenessChallenge | None:
        """The newest challenge not yet used (it may have expired: the caller checks)."""
        query = (
            select(LivenessChallenge)
            .where(
                LivenessChallenge.retiree_id == retiree_id,
                LivenessChallenge.telegram_user_id == telegram_user_id,
                LivenessChallenge.used_at.is_(None),
            )
            .order_by(LivenessChallenge.id.desc())
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def replace_open(self, retiree_id: int, now: datetime) -> None:
        """A new challenge voids any earlier one still open: only the newest can be answered."""
        await self._session.execute(
            update(LivenessChallenge)
            .where(LivenessChallenge.retiree_id == retiree_id, LivenessChallenge.used_at.is_(None))
            .values(used_at=now, outcome="replaced")
        )

    async def claim(
        self,
        challenge_id: int,
        step: int,
        now: datetime,
        *,
        last_step: bool,
        expires_at: datetime | None = None,
    ) -> bool:
        """Takes step `step` of the challenge, once: False when another video took it first
        (compare-and-set, so two video notes racing for one challenge cannot both use it).
        `expires_at`: a new end for the steps still to film (each gets the full lifetime)."""
        values = {"step": step + 1} | ({"used_at": now} if last_step else {})
        if expires_at is not None and not last_step:
            values["expires_at"] = expires_at
        result = await self._session.execute(
            update(LivenessChallenge)
            .where(
                LivenessChallenge.id == challenge_id,
                LivenessChallenge.step == step,
                LivenessChallenge.used_at.is_(None),
            )
            .values(**values)
        )
        return affected_rows(result) == 1


class FingerprintRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, fingerprint: MediaFingerprint, bands: Sequence[tuple[int, int]]) -> None:
        """The fingerprint and its band index rows: (band number, 16-bit value) pairs."""
        self._session.add(fingerprint)
        await self._session.flush()
        self._session.add_all(
            FrameBand(fingerprint_id=fingerprint.id, band=band, value=value) for band, value in set(bands)
        )

    async def by_sha256(self, sha256: str) -> MediaFingerprint | None:
        query = select(MediaFingerprint).where(MediaFingerprint.sha256 == sha256).limit(1)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def sharing_a_band(
        self, kind: str, bands: Sequence[tuple[int, int]], limit: int = 50
    ) -> Sequence[MediaFingerprint]:
        """Earlier fingerprints of `kind` with at least one frame band equal to one of `bands`,
        most shared first: the candidates worth a full comparison."""
        by_band: dict[int, set[int]] = {}
        for band, value in bands:
            by_band.setdefault(band, set()).add(value)
        if not by_band:
            return []
        matches = or_(
            *(and_(FrameBand.band == b, FrameBand.value.in_(sorted(v))) for b, v in by_band.items())
        )
        candidates = (
            select(FrameBand.fingerprint_id)
            .where(matches)
            .group_by(FrameBand.fingerprint_id)
            .order_by(func.count().desc())
            .limit(limit)
        )
        query = select(MediaFingerprint).where(
            MediaFingerprint.id.in_(candidates), MediaFingerprint.kind == kind
        )
        return (await self._session.execute(query)).scalars().all()
