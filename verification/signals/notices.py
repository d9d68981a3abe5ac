"""The notices feeds and cases leave for people's chats (storage/models/signals.py ChatNotice):
which are owed, and marking them sent or undeliverable. The bot's notice job sends them
(bot/notices.py); this module knows nothing of Telegram."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from kernel.clock import Clock, utc_now
from storage.models import ErrorRecord
from storage.uow import UnitOfWorkFactory


@dataclass(frozen=True)
class OwedNotice:
    notice_id: int
    chat_id: int
    kind: str
    for_helper: bool
    params: dict[str, Any]
    retiree_name: str | None = field(repr=False)
    language: str  # the chat's, or the deployment's default


class NoticeService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now, *, default_language: str = "zh_Hans"
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._default_language = default_language

    async def owed(self, limit: int = 100) -> list[OwedNotice]:
        async with self._uow_factory() as uow:
            return [
                OwedNotice(
                    n.id,
                    n.chat_id,
                    n.kind,
                    n.for_helper,
                    dict(n.params or {}),
                    name,
                    language or self._default_language,
                )
                for n, name, language in await uow.notices.pending(limit)
            ]

    async def sent(self, notice_ids: Collection[int]) -> None:
        async with self._uow_factory() as uow:
            await uow.notices.mark(notice_ids, "sent", self._clock())
            await uow.commit()

    async def undeliverable(self, notice: OwedNotice, reason: str) -> None:
        """Not sent and not to be tried again (a blocked chat): recorded for staff."""
        async with self._uow_factory() as uow:
            await uow.notices.mark([notice.notice_id], "failed", self._clock())
            uow.errors.add(
                ErrorRecord(
                    occurred_at=self._clock(),
                    source="chat_notice",
                    code=reason[:60],
                    context={"notice_id": notice.notice_id, "kind": notice.kind},
                    chat_id=notice.chat_id,
                )
            )
            await uow.commit()
