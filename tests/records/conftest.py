"""The two-region fixture: Shenzhen and Beijing, each with its own database and server."""

from __future__ import annotations

import pytest

from tests.certification.conftest import clock, cycle, face_pool, faces  # noqa: F401 (fixtures)
from tests.records.regions import BJ, BJ_PAID, SZ, SZ_PAID, add_retirees, open_region


@pytest.fixture
async def regions(tmp_path):
    sz = await open_region(SZ, tmp_path / "sz.db")
    bj = await open_region(BJ, tmp_path / "bj.db", clock=sz.clock)  # one time for both
    for region in (sz, bj):  # both rosters know everyone (the hash key is national)
        await add_retirees(region, BJ_PAID, BJ, SZ)
        await add_retirees(region, SZ_PAID, SZ, BJ)
    await sz.start([bj])
    await bj.start([sz])
    yield sz, bj
    await sz.close()
    await bj.close()
