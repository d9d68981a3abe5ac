"""`pension-bot bench scale` with tiny numbers: it runs the roles as processes, prints every
figure, and counts nothing lost, doubled or out of order."""

from __future__ import annotations

import pytest

from app.scale_bench import run_scale_bench
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.serial


async def test_bench_scale_counts_and_prints_every_figure(host_clock, rabbitmq_url, redis_url, topology):
    if not POSTGRES_URL:
        pytest.skip("bench scale needs TEST_POSTGRES_URL (CI sets it to the local server)")
    lines: list[str] = []
    result = await run_scale_bench(
        employers=2,
        questions=2,
        face_checks=2,
        reminded=3,
        admin_url=POSTGRES_URL,
        broker_url=rabbitmq_url,
        redis_url=redis_url,
        progress=lines.append,
    )
    assert [u.sent for u in result.updates] == [4, 4] and result.sound
    assert result.updates[1].killed and all(u.latencies for u in result.updates)
    text = "\n".join(result.lines())
    assert "updates/s" in text and "per-chat order violations 0" in text
    reminders = result.reminders
    assert reminders is not None and reminders.schedulers == 3
    # The bench's region keeps no quiet hours: measured at any hour of the night in Shanghai too.
    # (The schedulers are processes on the host's clock: so is the test, `host_clock`, or the
    # retirees it makes due would not be due on the schedulers' date.)
    assert (reminders.received_once, reminders.received_twice) == (3, 0)
    assert "reminders" in text
    if result.faces:  # the real recordings and photos are beside the project
        assert [(run.workers, run.killed, run.verdicts) for run in result.faces] == [
            (1, False, 2),
            (2, False, 2),
            (2, True, 2),
        ]
        assert "speed-up from the second face worker" in text
    else:
        assert "faces: skipped" in text
