"""Durable updates: the PTB Application marks each update in the inbox once it was handled.

An update reaches the bot only after it was stored in the inbox (storage/repositories/inbox.py;
the poll loop in app/inbox_poller.py and the webhook in web/webhook.py store it first). After
its handlers ran it is marked "done"; when a handler failed because the database or the
network was away (a transient failure) it stays "pending" with one more try counted, and the
sweep hands it to the bot again later; any other failure marks it "failed". A crash between
storing and marking leaves it "pending" too: handled again at the next start. Effects are
therefore written at least once, and the effects a handler writes are idempotent where a
second run could duplicate them (a certification attempt and an employer question carry the
key of the message that caused them, "tg:<chat id>:<message id>").
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter, Application

from kernel.clock import Clock, utc_now
from storage.errors import is_database_outage
from storage.models.durability import InboxUpdate
from storage.repositories.inbox import DONE, FAILED, IncomingUpdate
from storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)

DEFAULT_MAX_TRIES = 10


def is_transient(error: BaseException) -> bool:
    """A failure that goes away by itself: the database or the network was away for a while.
    Looks along the chain of causes (SQLAlchemy wraps the driver's error)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if is_database_outage(current) or isinstance(current, asyncio.TimeoutError | TimeoutError | OSError):
            return True
        if isinstance(current, NetworkError) and not isinstance(current, BadRequest):
            return True
        current = current.__cause__ or current.__context__
    return False


def chat_of(update: Update) -> int | None:
    chat = update.effective_chat
    return chat.id if chat else None


class UpdateInbox:
    """The inbox as the bot uses it: store, mark, list what is pending; and, in this process,
    which updates are being handled now (so that the sweep never hands one over twice)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        max_tries: int = DEFAULT_MAX_TRIES,
        sweep_seconds: float = 30.0,
        retention_days: float = 7.0,
        clock: Clock = utc_now,
    ) -> None:
        self._uow_factory = uow_factory
        self.max_tries = max_tries
        self.sweep_seconds = sweep_seconds
        self.retention_days = retention_days
        self._clock = clock
        self.in_flight: set[int] = set()
        self._watchers: list[set[int]] = []
        self._apologised: set[int] = set()

    async def store(self, updates: Sequence[Update], payloads: Sequence[dict] | None = None) -> set[int]:
        """Stores the updates in one transaction; returns the ids not stored before.
        Raises when the database is away: then nothing was stored."""
        items = [
            IncomingUpdate(
                update.update_id,
                chat_of(update),
                payloads[index] if payloads is not None else update.to_dict(),
            )
            for index, update in enumerate(updates)
        ]
        async with self._uow_factory() as uow:
            fresh = await uow.inbox.store(items, self._clock())
            await uow.commit()
        return fresh

    async def hand_over(self, application: Application, update: Update) -> None:
        """Queues a stored update for the application's handlers."""
        self.in_flight.add(update.update_id)
        await application.update_queue.put(update)

    def release(self, update_id: int) -> None:
        self.in_flight.discard(update_id)
        for watcher in self._watchers:
            watcher.add(update_id)

    async def finish(self, update_id: int, error: BaseException | None) -> str:
        """Marks the update after its handlers ran: done, pending again, or failed."""
        at = self._clock()
        async with self._uow_factory() as uow:
            if error is None:
                await uow.inbox.mark_done(update_id, at)
                state = DONE
            elif is_transient(error):
                state = await uow.inbox.mark_retry(update_id, type(error).__name__, at, self.max_tries)
            else:
                await uow.inbox.mark_failed(update_id, type(error).__name__, at)
                state = FAILED
            await uow.commit()
        if state != "pending":
            self._apologised.discard(update_id)
        return state

    async def state(self, update_id: int) -> str | None:
        """The update's state in the inbox (pending, done, failed), None when not stored."""
        async with self._uow_factory() as uow:
            row = await uow.inbox.get(update_id)
            return row.state if row is not None else None

    async def mark_failed(self, update_id: int, error_kind: str) -> None:
        async with self._uow_factory() as uow:
            await uow.inbox.mark_failed(update_id, error_kind, self._clock())
            await uow.commit()

    async def pending_not_in_flight(self, limit: int = 100) -> list[InboxUpdate]:
        """Pending updates (tries below the limit), oldest first, that this process is not
        handling now and did not finish while they were being read."""
        finished_meanwhile: set[int] = set()
        self._watchers.append(finished_meanwhile)
        try:
            async with self._uow_factory() as uow:
                rows = await uow.inbox.pending(self.max_tries, limit)
        finally:
            self._watchers.remove(finished_meanwhile)
        return [
            row
            for row in rows
            if row.update_id not in self.in_flight and row.update_id not in finished_meanwhile
        ]

    async def purge(self) -> int:
        async with self._uow_factory() as uow:
            count = await uow.inbox.purge_done(self._clock(), self.retention_days)
            await uow.commit()
        return count

    def first_apology(self, update_id: int) -> bool:
        """True once per update: a retried update does not apologise again."""
        if update_id in self._apologised:
            return False
        if len(self._apologised) > 10_000:  # a bound, not a policy: never reached in practice
            self._apologised.clear()
        self._apologised.add(update_id)
        return True


async def admit(
    application: Application,
    inbox: UpdateInbox,
    updates: Sequence[Update],
    payloads: Sequence[dict] | None = None,
) -> None:
    """Stores a batch (polled, or one webhook update), then hands the new ones to the bot.

    Raises when the store failed for a transient reason: the caller lets Telegram deliver the
    batch again (an update stored meanwhile is found by the sweep). An update the database
    refuses for another reason is handed over unstored rather than blocking every later
    update (it is then handled at most once)."""
    try:
        fresh = await inbox.store(updates, payloads)
    except Exception as error:
        if is_transient(error):
            raise
        fresh = set()
        for index, update in enumerate(updates):
            try:
                fresh |= await inbox.store([update], None if payloads is None else [payloads[index]])
            except Exception as single:
                if is_transient(single):
                    raise
                logger.error(
                    "update %s could not be stored (%s); handled without the inbox",
                    update.update_id,
                    type(single).__name__,
                )
                await application.update_queue.put(update)
    for update in updates:
        if update.update_id in fresh:
            await inbox.hand_over(application, update)


class ReplayTolerantRateLimiter(AIORateLimiter):
    """PTB's rate limiter, except that answering a button press Telegram no longer accepts
    (older than ~15 s, or answered already: an update handled again after a crash or an
    outage) is not an error. The answer only stops the button's spinner; failing there
    would stop the handler before the work the press asked for.

    With `shared` (a scaled-out deployment: broker/token_bucket.py), the overall limit is
    the deployment's, taken from a bucket every process draws from, instead of this
    process's own; the per-group limits stay here (a chat's updates are one worker's)."""

    def __init__(self, *, max_retries: int = 0, shared: Callable[[], Awaitable[None]] | None = None) -> None:
        if shared is None:
            super().__init__(max_retries=max_retries)
        else:
            super().__init__(overall_max_rate=0, max_retries=max_retries)
        self._shared = shared

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if self._shared is not None and data and data.get("chat_id") is not None:
            await self._shared()  # what PTB's overall limit covers: requests to a chat
        try:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        except BadRequest as error:
            if endpoint == "answerCallbackQuery" and "query is too old" in str(error).lower():
                return True
            raise


@dataclass
class _Handling:
    update: Update
    errors: list[BaseException] = field(default_factory=list)


_HANDLING: contextvars.ContextVar[_Handling | None] = contextvars.ContextVar("inbox_handling", default=None)


class InboxApplication(Application):
    """The PTB Application, marking each update in the inbox after its handlers ran.

    PTB calls `process_error` inline from `process_update` when a handler raises; the error
    is noted for the update being handled (a context variable: one per update task)."""

    def __init__(self, *, inbox: UpdateInbox | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.inbox = inbox

    async def process_update(self, update: object) -> None:
        inbox = self.inbox
        if inbox is None or not isinstance(update, Update):
            await super().process_update(update)
            return
        handling = _Handling(update)
        try:
            token = _HANDLING.set(handling)
            try:
                await super().process_update(update)
            finally:
                _HANDLING.reset(token)
            # Cancelled (the process stops) before this point: not marked, handled again later.
            error = handling.errors[0] if handling.errors else None
            try:
                state = await inbox.finish(update.update_id, error)
            except Exception as failure:  # noqa: BLE001 - the database may be away again
                logger.warning(
                    "update %s: could not mark it handled (%s); it will be handled again",
                    update.update_id,
                    type(failure).__name__,
                )
            else:
                if state != DONE:
                    kind = type(error).__name__
                    logger.warning("update %s left %s after %s", update.update_id, state, kind)
        finally:
            inbox.release(update.update_id)

    async def process_error(self, update, error, job=None, coroutine=None) -> bool:
        handling = _HANDLING.get()
        if handling is not None and job is None and update is handling.update:
            handling.errors.append(error)
        return await super().process_error(update, error, job, coroutine)


def apology_key(application: Application, update: object, error: BaseException | None) -> str | None:
    """What the error handler tells the person: "error.transient" (what they sent is kept
    and will be handled once the service is back), "error.generic" (it failed; try again),
    or None (they were told already, on an earlier try of this update)."""
    inbox = getattr(application, "inbox", None)
    handling = _HANDLING.get()
    stored = (
        inbox is not None
        and isinstance(update, Update)
        and handling is not None
        and handling.update is update
    )
    if not stored:
        return "error.generic"
    if not inbox.first_apology(update.update_id):
        return None
    return "error.transient" if error is not None and is_transient(error) else "error.generic"
