"""协查 (assistance requests): another region asks this one to check on a retiree who lives
here. States: open -> in_progress -> answered; a request not answered by its due time is
overdue (and can still be answered). Incoming requests arrive signed, like records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from storage.models import Retiree
from storage.records_models import AssistanceRequest
from verification.exchange import ExchangeError

ASSISTANCE_PATH = "/v1/assistance"
ANSWER_WITHIN = timedelta(days=15)
STATES = ("open", "in_progress", "answered", "overdue")
MOVES = {"start": {"open", "overdue"}, "answer": {"open", "in_progress", "overdue"}}


class IllegalTransition(ValueError):
    pass


@dataclass(frozen=True)
class Opened:
    request_id: int
    created: bool  # False: the same request again (counted once)


def parse_request(body: bytes) -> tuple[str, str, str]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ExchangeError(400, "malformed_body", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise ExchangeError(400, "malformed_body", "the body must be an object")
    values = [data.get(name) for name in ("request_id", "retiree_hash", "question")]
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise ExchangeError(
            400, "malformed_body", "request_id, retiree_hash and question are required strings"
        )
    request_id, retiree_hash, question = values
    if len(request_id) > 36 or len(retiree_hash) != 64 or len(question) > 2000:
        raise ExchangeError(
            400, "malformed_body", "request_id ≤ 36, retiree_hash = 64, question ≤ 2000 chars"
        )
    return request_id, retiree_hash, question


class AssistanceService:
    def __init__(self, uow_factory, own_region: str, clock) -> None:
        self._uow_factory, self._region, self._clock = uow_factory, own_region, clock

    async def open(self, origin: str, body: bytes) -> Opened:
        """An authenticated request from `origin` (see ExchangeReceiver.authenticate)."""
        request_id, retiree_hash, question = parse_request(body)
        now = self._clock()
        async with self._uow_factory() as uow:
            resident = await uow.session.execute(
                select(Retiree.id).where(
                    Retiree.id_number_hash == retiree_hash, Retiree.residence_region == self._region
                )
            )
            if resident.first() is None:
                raise ExchangeError(422, "not_our_resident", f"region {self._region} has no such resident")
            existing = await self._find(uow, origin, request_id)
            if existing is not None:
                return Opened(existing.id, False)
            request = AssistanceRequest(
                origin_region=origin, request_uid=request_id, retiree_hash=retiree_hash, question=question,
                state="open", opened_at=now, due_at=now + ANSWER_WITHIN,
            )  # fmt: skip
            uow.session.add(request)
            try:
                await uow.commit()
            except IntegrityError:  # the same request arrived concurrently
                await uow.rollback()
                return Opened((await self._find(uow, origin, request_id)).id, False)
            return Opened(request.id, True)

    @staticmethod
    async def _find(uow, origin: str, request_id: str):
        statement = select(AssistanceRequest).where(
            AssistanceRequest.origin_region == origin, AssistanceRequest.request_uid == request_id
        )
        return (await uow.session.execute(statement)).scalar_one_or_none()

    async def start(self, request_id: int, staff_id: int) -> AssistanceRequest:
        return await self._move(request_id, "start", state="in_progress", staff_id=staff_id)

    async def answer(self, request_id: int, staff_id: int, answer: str) -> AssistanceRequest:
        if not answer.strip():
            raise ValueError("an answer needs text")
        return await self._move(
            request_id,
            "answer",
            state="answered",
            staff_id=staff_id,
            answer=answer[:2000],
            answered_at=self._clock(),
        )

    async def _move(self, request_id: int, move: str, **values) -> AssistanceRequest:
        async with self._uow_factory() as uow:
            request = await uow.session.get(AssistanceRequest, request_id, with_for_update=True)
            if request is None:
                raise LookupError(request_id)
            if request.state not in MOVES[move]:
                raise IllegalTransition(f"cannot {move} a request that is {request.state}")
            for name, value in values.items():
                setattr(request, name, value)
            await uow.commit()
            return request

    async def sweep_overdue(self) -> int:
        """Mark open and in-progress requests past their due time overdue; returns how many."""
        async with self._uow_factory() as uow:
            result = await uow.session.execute(
                update(AssistanceRequest)
                .where(
                    AssistanceRequest.state.in_(["open", "in_progress"]),
                    AssistanceRequest.due_at < self._clock(),
                )
                .values(state="overdue")
                .execution_options(synchronize_session=False)
            )
            await uow.commit()
            return result.rowcount or 0
