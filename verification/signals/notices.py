"""The notices feeds, cases and staff answers leave for people's chats (storage/models/
signals.py ChatNotice): which are owed, and marking them sent or undeliverable. A notice names
what it tells (a retiree, an employer's question) and is worded when it is sent, from the rows
it names. The bot's notice job sends them (bot/notices.py); this module knows nothing of
Telegram."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from kernel.clock import Clock, utc_now
from storage.models import ErrorRecord
from storage.models.signals import EMPLOYER_QUESTION_PARAM
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
    # (question, answer) of the employer's question a staff answer notice names (params
    # EMPLOYER_QUESTION_PARAM); None for other notices, or when the question is gone
    staff_answer: tuple[str, str] | None = field(default=None, repr=False)


class NoticeService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now, *, default_language: str = "zh_Hans"
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._default_language = default_language

    async def owed(self, limit: int = 100) -> list[OwedNotice]:
        async with self._uow_factory() as uow:
            pending = [
                (n, dict(n.params or {}), name, language)
                for n, name, language in await uow.notices.pending(limit)
            ]
            answered = await uow.employer_questions.answered(
                [
                    asked
                    for _, params, _, _ in pending
                    if isinstance(asked := params.get(EMPLOYER_QUESTION_PARAM), int)
                ]
            )
            owed = []
            for n, params, name, language in pending:
                staff_answer = None
                if (asked := answered.get(params.get(EMPLOYER_QUESTION_PARAM, -1))) is not None:
                    # worded in the language the employer asked in
                    staff_answer, language = (asked.question, asked.answer or ""), asked.language
                owed.append(
                    OwedNotice(
                        n.id,
                        n.chat_id,
                        n.kind,
                        n.for_helper,
                        params,
                        name,
                        language or self._default_language,
                        staff_answer,
                    )
                )
            return owed

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
