"""Fixtures: a stand-in on a free loopback port, a control client, and a real PTB Bot on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from demo.standin.client import StandinClient
from demo.standin.server import RunningStandin, running_standin
from tests.standin.helpers import CHAT_ID, TOKEN


@pytest.fixture
async def standin() -> AsyncIterator[RunningStandin]:
    async with running_standin(tokens=[TOKEN]) as running:
        yield running


@pytest.fixture
async def client(standin: RunningStandin) -> AsyncIterator[StandinClient]:
    async with StandinClient(standin.base_url) as control:
        yield control


@pytest.fixture
async def bot(standin: RunningStandin) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=standin.bot_base_url, base_file_url=standin.file_base_url) as real_bot:
        yield real_bot


@pytest.fixture
async def chat(client: StandinClient) -> int:
    """A chat the user has opened (the bot can only write to users who wrote first)."""
    await client.send_text(CHAT_ID, "hello")
    return CHAT_ID
