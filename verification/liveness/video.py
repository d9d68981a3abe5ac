"""Safe decoding of an untrusted video note into a few sampled RGB frames.

Everything a stranger sends as a video passes through `decode_video`. Like
`verification.faces.media` for pictures, it refuses with a reason code whatever is not a
short MP4/WebM video of sensible size, checks what the container announces before decoding,
stops decoding once a limit is passed, and turns every decoder failure into a refusal.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

import av
import numpy as np

MB = 1024 * 1024


class VideoReason(StrEnum):
    NOT_A_VIDEO = "not_a_video"  # no known container signature (text, random bytes, a picture)
    CORRUPT = "corrupt"  # a container, but damaged or cut short
    AUDIO_ONLY = "audio_only"  # a container without a video stream (a voice message)
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    TOO_LARGE = "too_large"  # bytes
    TOO_MANY_PIXELS = "too_many_pixels"


class VideoRejected(Exception):
    """The bytes are not a usable video note; `reason` says why (a code, not a user text)."""

    def __init__(self, reason: VideoReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class VideoLimits:
    # Telegram keeps a video note under ~8 MB for its 60 s; 20 MiB leaves room for a phone
    # that sends a plain video instead, and refuses anything larger before any parsing.
    max_bytes: int = 20 * MB
    # A challenge of two or three actions takes a few seconds; under 1.5 s none can be done.
    min_seconds: float = 1.5
    # Refused at and above this: a note of 30-60 s is a person who misunderstood, or a long
    # recording looking for a good moment; it also bounds the decoding work per note.
    max_seconds: float = 30.0
    # Video notes are 384-640 px squares; 1440 x 1440 admits a plain phone video of up to
    # about 1080p, and bounds the cost of decoding each frame.
    max_pixels: int = 1440 * 1440
    # Frames looked at per second: a deliberate blink (200-400 ms) spans 2-4 of them. Every
    # sampled frame costs ~10 ms of conversion, landmarks and hashing on one core.
    sample_fps: float = 10.0
    # Sampled frames are scaled to this long side: a video-note face is then ~150-250 px
    # across, plenty for landmarks and for dlib's 150 px embedding chip.
    working_long_side: int = 480
    # Decoded frames at most (30 s at 60 fps): a file announcing a low frame rate yet
    # holding thousands of tiny frames stops here.
    max_decoded_frames: int = 1800
    # The video stream must cover at least this share of the duration it announces; less is
    # a file cut short (an interrupted upload) that still opens.
    min_covered_share: float = 0.8
    # Every this many sampled frames, one also keeps its luma at the stored size (about one
    # a second): the screen/print cue looks for patterns a few stored pixels fine, which
    # scaling to the working size would blur or alias.
    luma_every: int = 10


@dataclass(frozen=True)
class DecodedVideo:
    frames: tuple[np.ndarray, ...]  # sampled frames, H x W x 3 uint8 RGB, at the working size
    times: tuple[float, ...]  # seconds from the first frame, one per sampled frame
    duration: float  # seconds covered by the video stream's frames
    fps: float  # frames per second of the stream (decoded frames / duration)
    size: tuple[int, int]  # (width, height) as stored
    decoded_frames: int
    # (index into frames, H x W uint8 luma at the stored size) for every `luma_every`-th one
    luma: tuple[tuple[int, np.ndarray], ...] = ()

    @property
    def working_size(self) -> tuple[int, int]:
        height, width = self.frames[0].shape[:2]
        return width, height


# Containers are sniffed from the first bytes; only these FFmpeg demuxers may parse them.
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
_EBML = b"\x1a\x45\xdf\xa3"  # WebM / Matroska


def sniff_container(data: bytes) -> str | None:
    """The FFmpeg demuxer name for MP4/MOV or WebM bytes, else None."""
    if len(data) >= 8 and data[4:8] in _MP4_BOXES:
        return "mov,mp4,m4a,3gp,3g2,mj2"
    if data.startswith(_EBML):
        return "matroska,webm"
    return None


def decode_video(data: bytes, limits: VideoLimits | None = None) -> DecodedVideo:
    """Decode untrusted bytes to sampled frames, or raise `VideoRejected`."""
    limits = limits or VideoLimits()
    if len(data) > limits.max_bytes:
        raise VideoRejected(VideoReason.TOO_LARGE, f"{len(data)} bytes > {limits.max_bytes}")
    demuxer = sniff_container(data)
    if demuxer is None:
        raise VideoRejected(VideoReason.NOT_A_VIDEO, "no known video container signature")
    try:
        with av.open(io.BytesIO(data), "r", format=demuxer.split(",")[0]) as container:
            return _decode(container, limits)
    except VideoRejected:
        raise
    except Exception as error:
        # FFmpeg reports damaged files in many ways (InvalidDataError, EOFError, ValueError
        # from a nonsense header...). None may escape as a crash: the file is damaged.
        raise VideoRejected(VideoReason.CORRUPT, f"{type(error).__name__}: {error}") from error


def _decode(container: av.container.InputContainer, limits: VideoLimits) -> DecodedVideo:
    if not container.streams.video:
        kind = VideoReason.AUDIO_ONLY if container.streams.audio else VideoReason.CORRUPT
        raise VideoRejected(kind, "no video stream")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > limits.max_pixels:
        raise VideoRejected(VideoReason.TOO_MANY_PIXELS, f"{width}x{height} > {limits.max_pixels} pixels")
    announced = _announced_seconds(container, stream)
    if announced is not None:
        _check_duration(announced, limits)
    # One thread: the face worker is one process per core, and a thread pool per decode
    # would only fight the other workers for the same cores.
    stream.thread_type = "NONE"
    stream.thread_count = 1
    # No deblocking: a quarter of H.264's decoding time, and what it smooths (8 x 8 block
    # edges) is finer than anything the landmarks or the hashes look at.
    stream.codec_context.options = {"skip_loop_filter": "all"}
    working = _working_size(width, height, limits.working_long_side)

    frames: list[np.ndarray] = []
    times: list[float] = []
    luma: list[tuple[int, np.ndarray]] = []
    first: float | None = None
    last = 0.0
    decoded = 0
    next_sample = 0.0
    step = 1.0 / limits.sample_fps
    # Every frame is decoded (H.264 frames depend on each other); only sampled ones are
    # converted and scaled, which is most of the per-frame cost.
    for frame in container.decode(stream):
        decoded += 1
        if frame.time is None:
            continue
        first = frame.time if first is None else first
        last = frame.time - first
        if last >= limits.max_seconds or decoded > limits.max_decoded_frames:
            raise VideoRejected(VideoReason.TOO_LONG, f"still decoding at {last:.1f} s, frame {decoded}")
        if last + 1e-6 < next_sample:
            continue
        next_sample += step * max(1, int((last - next_sample) / step) + 1)
        if len(frames) % limits.luma_every == limits.luma_every // 2:
            luma.append((len(frames), _luma(frame)))
        frames.append(_pixels(frame, working))
        times.append(round(last, 4))
    if not frames:
        raise VideoRejected(VideoReason.CORRUPT, "no decodable frame")
    frame_seconds = 1.0 / float(stream.average_rate) if stream.average_rate else step
    duration = last + frame_seconds
    if announced is not None and duration < limits.min_covered_share * announced:
        raise VideoRejected(VideoReason.CORRUPT, f"frames cover {duration:.2f} s of {announced:.2f} s")
    _check_duration(duration, limits)
    fps = decoded / duration
    return DecodedVideo(
        tuple(frames), tuple(times), round(duration, 4), fps, (width, height), decoded, tuple(luma)
    )


def _announced_seconds(container: av.container.InputContainer, stream: av.video.VideoStream) -> float | None:
    """The video stream's duration as the container states it (None when it does not)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * Fraction(stream.time_base))
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _check_duration(seconds: float, limits: VideoLimits) -> None:
    if seconds >= limits.max_seconds:
        raise VideoRejected(VideoReason.TOO_LONG, f"{seconds:.2f} s >= {limits.max_seconds} s")
    if seconds < limits.min_seconds:
        raise VideoRejected(VideoReason.TOO_SHORT, f"{seconds:.2f} s < {limits.min_seconds} s")


def _working_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    scale = min(1.0, long_side / max(width, height))
    # Even sizes: swscale handles them without edge artefacts in the chroma planes.
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _luma(frame: av.VideoFrame) -> np.ndarray:
    pixels = frame.reformat(format="gray").to_ndarray()
    turns = round(frame.rotation / 90) % 4 if frame.rotation else 0
    return np.ascontiguousarray(np.rot90(pixels, turns) if turns else pixels)


def _pixels(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
    # FAST_BILINEAR: 1.2 ms a frame where AREA takes 2 (a tenth of the 2-s budget over a
    # 10-s note); the working size is at most a halving, where it aliases little.
    pixels = frame.reformat(
        width=size[0], height=size[1], format="rgb24", interpolation="FAST_BILINEAR"
    ).to_ndarray()
    # A phone may store the sensor's pixels and only tag the rotation, as JPEG EXIF does.
    # `rotation` is FFmpeg's display-matrix angle (counterclockwise, e.g. -90 for "show
    # turned clockwise"), in the same sense as np.rot90's turns.
    turns = round(frame.rotation / 90) % 4 if frame.rotation else 0
    # Contiguous always: FFmpeg pads each row of some widths (406 px, say), and dlib refuses
    # an array with such strides.
    return np.ascontiguousarray(np.rot90(pixels, turns) if turns else pixels)
