"""Telegram's global limit (about 30 messages a second per bot) shared by every process that
sends: a token bucket in Redis, refilled at `rate` a second up to `burst`, kept by one Lua
script so that taking a token is atomic across processes and machines, and timed by the
Redis server's clock (the machines' clocks may disagree)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

TELEGRAM_RATE = 30.0

# Returns 0 when a token was taken, else the milliseconds until one will be there.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil or at == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
return wait
"""


class RedisTokenBucket:
    def __init__(self, redis: Redis, key: str, *, rate: float = TELEGRAM_RATE, burst: float = 1.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._redis = redis
        self._key = key
        self.rate = rate
        self.burst = burst
        self._take = redis.register_script(_TAKE)

    @classmethod
    def from_url(cls, url: str, key: str, **kwargs: float) -> RedisTokenBucket:
        return cls(Redis.from_url(url), key, **kwargs)

    async def take(self) -> None:
        """Returns once this process may send one message."""
        while True:
            wait_ms = int(await self._take(keys=[self._key], args=[self.rate, self.burst]))
            if wait_ms <= 0:
                return
            await asyncio.sleep(wait_ms / 1000)

    async def close(self) -> None:
        await self._redis.aclose()
