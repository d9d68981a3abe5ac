"""Fingerprints: a re-encoded copy of a note is the same recording; a new take is not."""

from __future__ import annotations

import numpy as np
import pytest

from verification.liveness.fingerprints import (
    Recording,
    band_keys,
    dhash,
    hamming,
    recording_of,
    same_recording,
)
from verification.liveness.video import decode_video

from .conftest import ASKED, FPS, SIZE, Take


def _recording(data: bytes) -> Recording:
    return recording_of(decode_video(data).frames)


def test_dhash_is_64_bits_and_brightness_proof() -> None:
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (80, 90, 3), dtype=np.uint8)
    h = dhash(picture)
    assert 0 <= h < 2**64
    brighter = np.clip(picture.astype(int) + 20, 0, 255).astype(np.uint8)
    assert hamming(h, dhash(brighter)) <= 4
    assert hamming(h, dhash(picture[:, ::-1])) > 16  # a mirrored picture is another picture


def test_hamming_and_bands() -> None:
    assert hamming(0, 0) == 0 and hamming(0b1011, 0b0001) == 2 and hamming(0, 2**64 - 1) == 64
    h = 0x0123_4567_89AB_CDEF
    assert band_keys(h) == (0x0123, 0x4567, 0x89AB, 0xCDEF)
    # within hamming 3, at least one band is shared (one flipped bit in each of three bands)
    near = h ^ (1 << 63) ^ (1 << 40) ^ (1 << 20)
    assert hamming(h, near) == 3
    assert sum(a == b for a, b in zip(band_keys(h), band_keys(near), strict=True)) >= 1


def test_same_recording_edge_cases() -> None:
    rng = np.random.default_rng(1)
    frames = Recording(
        tuple(int(x) for x in rng.integers(0, 2**63, 30)), tuple(rng.bytes(36) for _ in range(30))
    )
    assert not same_recording(Recording((), ()), frames) and not same_recording(frames, Recording((), ()))
    assert same_recording(frames, frames)
    cut = Recording(frames.hashes[5:25], frames.grids[5:25])
    assert same_recording(cut, frames)  # a cut from the earlier one
    assert not same_recording(Recording(frames.hashes[::-1], frames.grids[::-1]), frames)
    assert Recording.from_json(frames.to_json()) == frames


@pytest.fixture(scope="module")
def genuine_recording(genuine: Take) -> Recording:
    return _recording(genuine.data)


def test_take_of_someone_else_is_not(faces, genuine_recording) -> None:
    from liveness_lab.synthesis import encode_mp4, load_face_photo, render_genuine

    from .conftest import OTHER

    other = load_face_photo(faces / OTHER, size=SIZE)
    frames = render_genuine(other, ASKED, size=SIZE, fps=FPS, seed=11, natural_blinks=False)
    assert not same_recording(_recording(encode_mp4(frames, FPS)), genuine_recording)


def test_reencoded_copy_is_the_same_recording(genuine: Take, genuine_recording) -> None:
    from liveness_lab.synthesis import reencode

    for crop, scale, crf in ((0.03, 0.9, 30), (0.06, 0.8, 32)):
        copy = reencode(genuine.data, crop=crop, scale=scale, crf=crf)
        assert copy != genuine.data
        assert same_recording(_recording(copy), genuine_recording), (crop, scale)


def test_new_take_framed_identically_is_not(photo, genuine_recording) -> None:
    from liveness_lab.synthesis import encode_mp4, render_genuine

    # the same photo, framing and background: reversed order, the same order, one action
    for actions, seed in ((ASKED[::-1], 12), (ASKED, 13), (ASKED[:1], 14)):
        again = render_genuine(photo, actions, size=SIZE, fps=FPS, seed=seed, natural_blinks=False)
        new = _recording(encode_mp4(again, FPS))
        assert not same_recording(new, genuine_recording), actions
        assert not same_recording(genuine_recording, new), actions
