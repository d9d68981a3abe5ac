"""Fixtures for the face pipeline tests.

Real photos come from the shared faces folder beside the repository (never copied into it):
`<repo>/../shared/faces`, or wherever PENSION_BOT_FACES_DIR points. Tests that need it skip
with the reason where it is absent; everything else builds its pictures in memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FACES_DIR = Path(os.environ.get("PENSION_BOT_FACES_DIR") or REPO_ROOT / ".." / "shared" / "faces")

# East Asian pairs (reference, selfie) measured with this pipeline: the same person in photos
# from different shoots, distance ~0.31 (threshold 0.45) ...
GENUINE_PAIR = ("people/cn_101_chen_weiting/13.jpg", "people/cn_101_chen_weiting/11.jpg")
# ... and two different Chinese people, distance ~0.67.
IMPOSTOR_PAIR = ("people/cn_101_chen_weiting/13.jpg", "people/cn_007_a_bao/3.jpg")
# The genuine selfie: a sharp, frontal, 2000 x 1333 JPEG, from which rotated, CMYK and
# 16-bit test pictures are derived (each still compared with GENUINE_PAIR's reference).
FACE_PHOTO = GENUINE_PAIR[1]
TWO_FACES = "group/two_people.jpg"
# Standing full-length: its lower half is a real photograph with no face in it.
FULL_FIGURE = "people/obama/3.jpg"


@pytest.fixture(scope="session")
def faces_root() -> Path:
    if not (FACES_DIR / "manifest.csv").is_file():
        pytest.skip(f"real face photos not found at {FACES_DIR.resolve()} (set PENSION_BOT_FACES_DIR)")
    return FACES_DIR


@pytest.fixture(scope="session")
def read_photo(faces_root: Path):
    def read(relative: str) -> bytes:
        return (faces_root / relative).read_bytes()

    return read


@pytest.fixture(scope="session")
def engine():
    from verification.faces.pipeline import default_engine

    return default_engine()


@pytest.fixture(scope="session")
def genuine_reference(read_photo, engine):
    from verification.faces.pipeline import encode_reference

    result = encode_reference(read_photo(GENUINE_PAIR[0]), engine=engine)
    assert result.ok, result.reason
    return result.template
