"""Real recordings for the tests that certify end to end: the clips of ../shared/liveness/real
(or $PENSION_BOT_LIVENESS_DIR/real; read at run time, never copied into the repository), what
each shows (verification/liveness/data/real_clips.toml), a frame of a clip as its person's
reference photo, and a challenge seeded with what the clip shows (it was filmed long before
any challenge). Tests skip with the reason where the clips are absent."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from app.shared_data import real_clips_dir, real_clips_missing
from verification.liveness.real_clips import RealClip, real_clip

REAL_DIR = real_clips_dir()


def clip(name: str) -> RealClip:
    """The labelled clip `name` (e.g. "d18"), or a skip that says where it was looked for."""
    found = real_clip(REAL_DIR, name)
    if found is None:
        pytest.skip(f"real recording {name}.mp4: {real_clips_missing(REAL_DIR)}")
    return found


async def seed_challenge(runtime, retiree_id: int, chat_id: int, actions: Sequence[str]) -> None:
    """The chat's open challenge for the retiree asks for `actions`, all in one note."""
    async with runtime.uow_factory() as uow:
        row = await uow.challenges.open_for(retiree_id, chat_id)
        assert row is not None, "no open challenge to seed"
        row.actions, row.mode, row.step = [str(a) for a in actions], "together", 0
        await uow.commit()
