"""Fixtures for the liveness tests: small generated takes (320 px, 15 fps) of a real photo.

The photos come from the shared faces folder beside the repository (never copied into it);
tests needing them skip with the reason where it is absent. Takes are rendered once per
session: rendering costs a few seconds each.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import faces_dir
from verification.liveness.actions import Action

SIZE, FPS = 320, 15
# One identity animated, another photo of it as the reference (the pair the face tests use).
PERSON = ("people/cn_101_chen_weiting/11.jpg", "people/cn_101_chen_weiting/13.jpg")
OTHER = "people/cn_007_a_bao/3.jpg"
ASKED = (Action.TURN_LEFT, Action.OPEN_MOUTH, Action.BLINK)


@dataclass(frozen=True)
class Take:
    data: bytes
    asked: tuple[Action, ...]


@pytest.fixture(scope="session")
def faces() -> Path:
    return faces_dir()


@pytest.fixture(scope="session")
def photo(faces: Path):
    from liveness_lab.synthesis import load_face_photo

    return load_face_photo(faces / PERSON[0], size=SIZE)


@pytest.fixture(scope="session")
def reference(faces: Path):
    from verification.faces.pipeline import encode_reference

    return encode_reference((faces / PERSON[1]).read_bytes()).template


@pytest.fixture(scope="session")
def genuine(photo) -> Take:
    """A take doing ASKED in order, without involuntary blinks (so the order is unambiguous)."""
    from liveness_lab.synthesis import encode_mp4, render_genuine

    frames = render_genuine(photo, ASKED, size=SIZE, fps=FPS, seed=11, natural_blinks=False)
    return Take(encode_mp4(frames, FPS), ASKED)


@pytest.fixture(scope="session")
def still_photo(photo) -> bytes:
    from liveness_lab.synthesis import encode_mp4, render_still_photo_attack

    return encode_mp4(render_still_photo_attack(photo, seconds=4.0, fps=FPS, size=SIZE, seed=3), FPS)
