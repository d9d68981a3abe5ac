"""Generated video notes: genuine takes animated from one real photo, and the attacks on them.

We have real face photos but no real videos of people performing actions on request, so a
genuine take is one photo animated with landmark-driven warps (eyelids, jaw, a 2.5-D head
turn), filmed by a simulated hand-held phone (shake, breathing, light drift, sensor noise).
The attacks are what a fraudster can send instead: the photo held up, a print, a screen
replay, an earlier video sent again. `evaluation_set` labels a mix of all of them for
`pension-bot eval liveness`; the tests use the same renderers on short, small takes.

The modules, in the order they build on each other: `sampler` (resampling), `photo` (the
face photo, found and framed), `timing` (when the face moves), `warps` (the face rig),
`camera` (the phone), `takes` (genuine takes), `attacks`, `media` (MP4 in and out, special
files) and `labelled` (the labelled evaluation set).
"""

from verification.liveness.synthesis.attacks import (
    render_print_attack,
    render_screen_replay,
    render_still_photo_attack,
    render_two_people,
)
from verification.liveness.synthesis.labelled import LabelledVideo, evaluation_set
from verification.liveness.synthesis.media import (
    audio_only_mp4,
    encode_mp4,
    long_video,
    reencode,
    zero_length_mp4,
)
from verification.liveness.synthesis.photo import load_face_photo
from verification.liveness.synthesis.takes import render_genuine

__all__ = [
    "LabelledVideo",
    "audio_only_mp4",
    "encode_mp4",
    "evaluation_set",
    "load_face_photo",
    "long_video",
    "reencode",
    "render_genuine",
    "render_print_attack",
    "render_screen_replay",
    "render_still_photo_attack",
    "render_two_people",
    "zero_length_mp4",
]
