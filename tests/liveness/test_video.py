"""decode_video: every kind of bad input is refused with its reason, never a crash."""

from __future__ import annotations

import os

import numpy as np
import pytest

from liveness_lab import synthesis
from verification.liveness.video import VideoLimits, VideoReason, VideoRejected, decode_video


def _gradient_video(seconds: float, size: int = 96, fps: int = 15) -> bytes:
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    frames = [
        np.broadcast_to(((ramp + 6 * i) % 256).astype(np.uint8)[None, :, None], (size, size, 3)).copy()
        for i in range(round(seconds * fps))
    ]
    return synthesis.encode_mp4(frames, fps, audio=False)


@pytest.fixture(scope="module")
def short_video() -> bytes:
    return _gradient_video(3.0)


def _reason(data: bytes, limits: VideoLimits | None = None) -> VideoReason:
    with pytest.raises(VideoRejected) as caught:
        decode_video(data, limits)
    return caught.value.reason


def test_a_good_video_is_sampled(short_video: bytes) -> None:
    video = decode_video(short_video)
    assert video.size == (96, 96) and video.decoded_frames == 45
    assert video.duration == pytest.approx(3.0, abs=0.1) and video.fps == pytest.approx(15, abs=0.5)
    # ~10 samples a second, times rising from 0
    assert 25 <= len(video.frames) <= 32 and video.times[0] == 0.0
    assert all(b > a for a, b in zip(video.times, video.times[1:], strict=False))
    assert video.frames[0].shape == (96, 96, 3) and video.frames[0].dtype == np.uint8
    assert video.luma and video.luma[0][1].shape == (96, 96)


def test_random_bytes_are_not_a_video() -> None:
    assert _reason(os.urandom(5000)) is VideoReason.NOT_A_VIDEO
    assert _reason(b"") is VideoReason.NOT_A_VIDEO


def test_truncated_mp4_is_corrupt(short_video: bytes) -> None:
    assert _reason(short_video[: len(short_video) // 2]) is VideoReason.CORRUPT


def test_mp4_signature_with_garbage_is_corrupt() -> None:
    assert _reason(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000)) is VideoReason.CORRUPT


def test_zero_second_video_is_too_short() -> None:
    # One frame: a video stream that lasts a 15th of a second.
    assert _reason(_gradient_video(1 / 15)) is VideoReason.TOO_SHORT
    # A video stream without any frame.
    assert _reason(synthesis.zero_length_mp4()) is VideoReason.TOO_SHORT


def test_under_the_minimum_is_too_short() -> None:
    assert _reason(_gradient_video(1.0)) is VideoReason.TOO_SHORT


def test_sixty_second_video_is_too_long() -> None:
    assert _reason(synthesis.long_video(60.0)) is VideoReason.TOO_LONG


def test_the_duration_limit_is_the_policys() -> None:
    assert _reason(_gradient_video(4.0), VideoLimits(max_seconds=3.0)) is VideoReason.TOO_LONG
    assert decode_video(_gradient_video(4.0), VideoLimits(max_seconds=5.0)).duration > 3.5


def test_audio_only_is_refused() -> None:
    assert _reason(synthesis.audio_only_mp4(3.0)) is VideoReason.AUDIO_ONLY


def test_size_limits(short_video: bytes) -> None:
    assert _reason(short_video, VideoLimits(max_bytes=100)) is VideoReason.TOO_LARGE
    assert _reason(short_video, VideoLimits(max_pixels=64 * 64)) is VideoReason.TOO_MANY_PIXELS
