"""Real recordings of people doing challenge actions, and what each contains.

The clips themselves are not part of the project: `../shared/liveness/real/<name>.mp4` beside
a checkout (MIT-licensed selfie-style clips, used at run time for measurement and the demo,
never copied into the repository). What each shows was labelled by hand in
`data/real_clips.toml`: the challenge actions in the order they happen (turns named as the bot
reads a mirrored note) and a calm frontal moment to cut out as the person's reference photo.

Used by `pension-bot eval liveness` (BPCER on real recordings), the demo (a demo retiree whose
reference is a frame of a clip, asked for what the clip shows) and the tests.
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass
from pathlib import Path

import av

from verification.liveness.actions import Action

LABELS_FILE = Path(__file__).with_name("data") / "real_clips.toml"


@dataclass(frozen=True)
class RealClip:
    """A real recording and what it contains (data/real_clips.toml)."""

    name: str
    path: Path
    actions: tuple[Action, ...]  # the challenge actions it shows, in order (may be none)
    reference_at_s: float  # a calm frontal frame, cut out as the person's reference photo
    setting: str
    notes: str

    def reference_photo(self) -> bytes:
        """The clip's frame at `reference_at_s`, as a JPEG: the person's reference photo."""
        return reference_frame(self.path.read_bytes(), self.reference_at_s)


def real_clips(real_dir: Path, labels: Path = LABELS_FILE) -> list[RealClip]:
    """The labelled clips present in `real_dir` (../shared/liveness/real), by name; none
    when the folder is absent."""
    with open(labels, "rb") as handle:
        data = tomllib.load(handle)
    clips = []
    for name, label in sorted(data.items(), key=lambda item: (len(item[0]), item[0])):
        path = Path(real_dir) / f"{name}.mp4"
        if path.is_file():
            clips.append(
                RealClip(
                    name,
                    path,
                    tuple(Action(a) for a in label["actions"]),
                    float(label["reference_at_s"]),
                    label.get("setting", ""),
                    label.get("notes", ""),
                )
            )
    return clips


def real_clip(real_dir: Path, name: str) -> RealClip | None:
    """One labelled clip of `real_dir`, or None when it is not there."""
    return next((clip for clip in real_clips(real_dir) if clip.name == name), None)


def reference_frame(data: bytes, at_s: float) -> bytes:
    """The clip's frame at `at_s` seconds (or its last one), as a JPEG: a reference photo."""
    with av.open(io.BytesIO(data), "r") as container:
        chosen = None
        for frame in container.decode(video=0):
            chosen = frame
            if frame.time is not None and frame.time >= at_s - 1e-6:
                break
    if chosen is None:
        raise ValueError("no decodable frame")
    buffer = io.BytesIO()
    chosen.to_image().save(buffer, "JPEG", quality=95)
    return buffer.getvalue()
