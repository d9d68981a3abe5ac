from __future__ import annotations

import pytest

from tests.e2e.harness import running_bot


@pytest.fixture
async def bot_stack(e2e_morning, database_url, tmp_path):
    async with running_bot(database_url, tmp_path / "var") as stack:
        yield stack
