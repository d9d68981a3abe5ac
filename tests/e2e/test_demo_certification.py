"""The demo's retiree certifies with the real recording, end to end: the demo's own seeding
(`seed_demo`: her reference photo a frame of ../shared/liveness/real/d3.mp4, her challenges
scripted to what the clip shows) on a fresh database, the real bot and judge on the stand-in;
she binds with the guide's code, consents, taps ✅, and the clip as the video note certifies
her. Skips with the reason where the real recordings are absent (the demo then says so too)."""

from __future__ import annotations

import pytest

from app.demo import guide_text, page_recording, personas_for
from app.shared_data import real_clips_dir
from demo.seed import seed_demo
from verification.liveness.real_clips import real_clip

CHAT = 710001  # the demo page's retiree persona


async def test_the_demo_retiree_certifies_with_the_real_recording(bot_stack, tmp_path):
    runtime = bot_stack.runtime
    guide = await seed_demo(runtime, tmp_path / "demo")
    if guide.recording is None:
        pytest.skip(f"the demo has no recording: {guide.no_recording}")
    retiree, clip = guide.recording.retiree, guide.recording.clip
    code = dict((r.name, c) for r, c in guide.retirees)[retiree.name]
    # What the visitor is told: the console guide and the page both name the real recording.
    assert str(clip.path) in guide_text(guide) and "real person's recording" in guide_text(guide)
    assert "真人录像" in personas_for(guide)[0]["description"]
    assert f"{clip.name}.mp4" in page_recording(guide).note and retiree.name in page_recording(guide).note

    user = bot_stack.user(CHAT)
    await user.say("/bind")
    await user.tap("👤 给我自己")
    await user.say(retiree.id_number)
    [bound] = await user.say(code)  # as printed, in groups
    assert "绑定成功" in bound["text"]
    await user.tap("✅ 开始认证")
    await user.tap("✅ 同意")
    [challenge] = await user.tap("✅ 开始认证")
    assert f"请为{retiree.name}录一段圆形小视频" in challenge["text"]
    async with runtime.uow_factory() as uow:
        found = await uow.retirees.by_id_hash(runtime.vault.lookup_hash(retiree.id_number))
        asked = await uow.challenges.open_for(found.id, CHAT)
    assert (tuple(asked.actions), asked.mode) == (tuple(clip.actions), "together")  # what the clip shows

    sent = await bot_stack.client.send_video_note(CHAT, clip.path.read_bytes(), duration=12)
    [reply] = await user.replies(sent["message"]["message_id"], wait=90)
    assert "认证成功" in reply["text"], reply["text"]
    async with runtime.uow_factory() as uow:
        certification = await uow.certifications.latest(found.id)
    assert certification is not None and certification.method == "self_video"

    # Seeding again (the next start of the demo) changes nothing and scripts her again.
    again = await seed_demo(runtime, tmp_path / "demo")
    assert again.recording == guide.recording and again.staff_code == guide.staff_code


async def test_without_the_real_recordings_the_demo_runs_and_says_what_video_needs(
    bot_stack, tmp_path, monkeypatch
):
    monkeypatch.setenv("PENSION_BOT_LIVENESS_DIR", str(tmp_path / "nowhere"))
    guide = await seed_demo(bot_stack.runtime, tmp_path / "demo")
    assert guide.recording is None and str(tmp_path / "nowhere" / "real") in guide.no_recording
    assert "Certification by video note cannot be tried" in guide_text(guide)
    assert "../shared/liveness/real" in personas_for(guide)[0]["description"]
    assert page_recording(guide) is None
    # The recordings turn up later: the roster seeded without them keeps its reference photo,
    # and the demo says how to seed again rather than offer a recording that cannot match.
    monkeypatch.delenv("PENSION_BOT_LIVENESS_DIR")
    later = await seed_demo(bot_stack.runtime, tmp_path / "demo")
    assert later.recording is None
    if real_clip(real_clips_dir(), "d3") is not None:
        assert "seeded without the recording d3.mp4" in later.no_recording
        assert "delete the demo's var/" in later.no_recording
