"""The broker tests run on a real RabbitMQ (TEST_RABBITMQ_URL; CI sets it to the local server),
each on queues of its own that are deleted afterwards."""

from __future__ import annotations

import os
import uuid

import aio_pika
import pytest

from broker.topology import UpdateTopology
from tests.conftest import postgres_database

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
async def rabbitmq_url() -> str:
    if not RABBITMQ_URL:
        pytest.skip("broker tests need TEST_RABBITMQ_URL (CI sets it to the local RabbitMQ)")
    return RABBITMQ_URL


@pytest.fixture
async def topology(rabbitmq_url):
    topology = UpdateTopology(partitions=4, prefix=f"test-{uuid.uuid4().hex[:10]}")
    yield topology
    connection = await aio_pika.connect_robust(rabbitmq_url)
    try:
        await topology.remove(connection)
    finally:
        await connection.close()


@pytest.fixture
async def postgres_url(migrated_postgres_template):
    """A migrated PostgreSQL database of the test's own: several processes share it."""
    async with postgres_database(migrated_postgres_template, "the multi-process tests") as url:
        yield url


@pytest.fixture
async def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("the face task queue tests need TEST_REDIS_URL (CI sets it to the local Redis)")
    return REDIS_URL
