"""`pension-bot bench faults` with tiny parameters: the bot as a subprocess on the stand-in,
employers' questions, two retirees' video notes and two campaigns to 50 subscribers, one
SIGKILL of the bot (just after a video note), one of the campaign sender, and a short
database outage (PostgreSQL through the bench's TCP proxy) with campaign 2 part-way."""

from __future__ import annotations

import pytest

from app.fault_bench import faces_folder, run_fault_bench
from tests.conftest import FACES_DIR, POSTGRES_URL


# Alone: a kill timed within a busy machine's longer window between a reply and its update's
# "done" repeats that reply (at least once, as the README says), which this run counts as a defect.
@pytest.mark.serial
@pytest.mark.skipif(not POSTGRES_URL, reason="the fault bench needs PostgreSQL (TEST_POSTGRES_URL)")
async def test_the_fault_bench_counts_nothing_lost_or_handled_twice(tmp_path, host_clock):
    result = await run_fault_bench(
        updates=10,
        users=2,
        video_notes=2,
        campaign_recipients=50,
        lease_seconds=2,
        kills=1,
        kill_seconds=4,
        outage_seconds=3,
        settle_seconds=60,
        sweep_seconds=1,
        seed=7,
        database_url=POSTGRES_URL,
        workdir=tmp_path,
        progress=lambda line: None,
    )
    table = "\n".join(result.lines())
    with_faces = faces_folder() is not None
    assert result.kills == 1 and result.kills_after_notes == (1 if with_faces else 0), table
    assert result.sent == 10 + result.notes_sent, table

    # Employers' updates: each handled once, none lost. A reply is at least once, not exactly
    # once: a kill, or the database going away, between Telegram taking a reply and the inbox
    # marking its update done sends that reply again when the update is handled again
    # (Telegram has no idempotency key; README, "Durable updates"). Each fault repeats at most
    # the reply it interrupted: here one kill and one cut. The question is stored once always.
    assert result.questions_expected > 0 and result.replies_expected == 10, table
    assert (result.questions_lost, result.questions_duplicated) == (0, 0), table
    assert result.replies_lost == 0 and result.replies_duplicated <= result.kills + 1, table

    # Campaigns: everyone reached but the subscriber who blocked the bot, whose delivery is
    # marked blocked (a true reason; campaign 2 is for them only if it started before that
    # mark unsubscribed them).
    campaigns = result.campaigns
    assert campaigns is not None and campaigns.kills == 1, table
    assert [c.received for c in campaigns.campaigns] == [49, 49], table
    assert campaigns.campaigns[0].blocked == 1, table
    assert campaigns.lost == 0, table
    # At least once, not exactly once: a kill or the cut landing between Telegram's answer and
    # the delivery's mark sends that one message again (Telegram has no idempotency key). One
    # sender, one delivery in flight: at most one duplicate per fault, never more.
    assert [c.duplicated <= 1 for c in campaigns.campaigns] == [True, True], table
    assert 0 < campaigns.campaigns[1].before_cut < 49, "campaign 2 was not part-way at the cut\n" + table

    # Nothing lost at all; nothing handled twice but those campaign messages.
    assert (result.lost, result.handled) == (0, result.sent), table
    assert result.duplicated == campaigns.duplicated + result.replies_duplicated, table

    # Retirees' video notes: each judged once and told once, pass or fail alike.
    if not with_faces:
        pytest.skip(
            f"the other parts passed; video notes not sent: real face photos not found at "
            f"{FACES_DIR} (set PENSION_BOT_FACES_DIR)"
        )
    assert result.notes_sent == 2 and result.notes_judged == 2, table
    assert (result.notes_lost, result.notes_duplicated) == (0, 0), table
