"""Telegram's overall limit shared by every sending process (issue 18): a token bucket in the
local Redis, drawn from by PTB's rate limiter in each bot worker and scheduler."""

from __future__ import annotations

import asyncio
import time
import uuid

from telegram.ext import ApplicationBuilder

from bot.inbox import ReplayTolerantRateLimiter
from broker.token_bucket import RedisTokenBucket
from demo.standin.client import StandinClient
from demo.standin.server import running_standin
from tests.e2e.harness import TOKEN


async def test_two_processes_together_keep_to_the_rate(redis_url):
    key = f"test-rate-{uuid.uuid4().hex[:8]}"
    buckets = [RedisTokenBucket.from_url(redis_url, key, rate=20, burst=1) for _ in range(2)]
    try:
        started = time.monotonic()

        async def send(bucket: RedisTokenBucket, count: int) -> None:
            for _ in range(count):
                await bucket.take()

        await asyncio.gather(send(buckets[0], 15), send(buckets[1], 15))
        elapsed = time.monotonic() - started
        # 30 tokens at 20 a second, one there at the start: at least 29/20 s between them,
        # where each process alone would have taken 15 at its own pace in 0.7 s. (A lower
        # bound only: a slow machine can only make it longer.)
        assert elapsed >= 29 / 20 * 0.9, elapsed
    finally:
        for bucket in buckets:
            await bucket.close()


async def test_ptb_draws_a_token_for_each_message_to_a_chat():
    taken: list[float] = []

    async def shared() -> None:
        taken.append(time.monotonic())

    async with running_standin([TOKEN]) as standin, StandinClient(standin.base_url) as client:
        await client.send_text(4242, "你好")  # the chat exists once its person wrote
        application = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(standin.bot_base_url)
            .rate_limiter(ReplayTolerantRateLimiter(shared=shared))
            .updater(None)
            .build()
        )
        async with application:  # getMe: no chat, no token
            assert taken == []
            for n in range(3):
                await application.bot.send_message(4242, f"第{n}条")
        assert len(taken) == 3
