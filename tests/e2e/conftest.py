from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.e2e.harness import running_bot

# The bot runs in this process and reads the wall clock; the flows name dates (a cycle valid
# to "2027年11月", a death on 2026-11-26), so they run from a fixed morning that ticks on.
E2E_MORNING = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.fixture
def e2e_morning():
    with time_machine.travel(E2E_MORNING, tick=True):
        yield E2E_MORNING


@pytest.fixture
async def bot_stack(e2e_morning, database_url, tmp_path):
    async with running_bot(database_url, tmp_path / "var") as stack:
        yield stack
