"""Containers: frames to MP4 (H.264 and AAC, like a phone's video note) and back, a
re-encoded copy, and the special files the video checks must refuse."""

from __future__ import annotations

import ctypes
import io
from collections.abc import Sequence
from fractions import Fraction

import av
import numpy as np

from liveness_lab.synthesis.sampler import _resize

AUDIO_RATE = 48000


def repeatable_encoding() -> None:
    """Make encode_mp4 give the same bytes for the same frames on every run.

    x264 as PyAV's wheels bundle it reads heap memory it never wrote: the same frames gave
    different bytes from run to run (and a rendered blink sitting on the judge's threshold
    was seen in one run and not in the next), and identical bytes once glibc fills fresh and
    freed memory with a fixed byte (M_PERTURB, what MALLOC_PERTURB_ sets). For tests only: it
    costs a memset per allocation (about 8 % on the liveness tests), so benchmarks do not."""
    try:
        ctypes.CDLL(None).mallopt(-6, 0x55)  # M_PERTURB = -6 in glibc's malloc.h
    except (OSError, AttributeError):  # not glibc: encodes may differ run to run
        pass


def encode_mp4(frames: Sequence[np.ndarray], fps: int = 30, *, audio: bool = True, crf: int = 23) -> bytes:
    """H.264 (yuv420p) in MP4, like a phone's video note; with a quiet AAC track when `audio`."""
    buffer = io.BytesIO()
    height, width = frames[0].shape[:2]
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": str(crf), "preset": "veryfast"}
        sound = container.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode())
        if sound is not None:
            _write_room_tone(container, sound, len(frames) / fps)
    return buffer.getvalue()


def _write_room_tone(container, stream, seconds: float) -> None:
    """Faint noise: a phone's microphone in a quiet room."""
    rng = np.random.default_rng(0)
    chunk = 1024
    for start in range(0, round(seconds * AUDIO_RATE), chunk):
        samples = rng.normal(0, 0.003, (1, chunk)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = AUDIO_RATE, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def decode_frames(data: bytes) -> tuple[list[np.ndarray], Fraction]:
    """All video frames of an MP4 as RGB uint8, and its frame rate."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or Fraction(30)
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)], rate


def reencode(data: bytes, *, crop: float = 0.03, scale: float = 0.9, crf: int = 28) -> bytes:
    """The same video decoded, cropped by `crop` on each side, rescaled and encoded again: a
    replay whose bytes (and exact hash) differ from the original's."""
    frames, rate = decode_frames(data)
    height, width = frames[0].shape[:2]
    dx, dy = round(width * crop), round(height * crop)
    new_w = round((width - 2 * dx) * scale) // 2 * 2
    new_h = round((height - 2 * dy) * scale) // 2 * 2
    resized = [
        _resize(np.ascontiguousarray(f[dy : height - dy, dx : width - dx]), new_w, new_h) for f in frames
    ]
    return encode_mp4(resized, fps=round(rate), crf=crf)


def audio_only_mp4(seconds: float = 3.0) -> bytes:
    """An MP4 with sound and no video stream at all."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        _write_room_tone(container, container.add_stream("aac", rate=AUDIO_RATE, layout="mono"), seconds)
    return buffer.getvalue()


def zero_length_mp4() -> bytes:
    """An MP4 with a video stream that holds no frames. The muxer writes nothing until the
    first packet unless told to start, and a plain moov without samples does not parse
    back, so the header is written up front (empty_moov) as a fragmented MP4 does."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4", options={"movflags": "empty_moov"}) as container:
        video = container.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        container.start_encoding()
    return buffer.getvalue()


def long_video(seconds: float = 60.0, size: int = 160) -> bytes:
    """A video whose container says it lasts `seconds`; cheap because it is small and runs at
    2 frames a second (a drifting gradient, no face)."""
    fps = 2
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    frames = []
    for i in range(round(seconds * fps)):
        shade = (ramp[None, :] + 4 * i) % 256
        frames.append(np.repeat(np.broadcast_to(shade, (size, size))[..., None], 3, axis=2).astype(np.uint8))
    return encode_mp4(frames, fps=fps, audio=False, crf=35)
