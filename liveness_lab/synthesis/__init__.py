"""Rendered video notes for evaluation: one real photo animated into the actions asked, and
the other attacks on the liveness check. Part of the liveness lab (liveness_lab/): never
installed, never reachable from the bot or its console command.

A "genuine take" here (`render_genuine`, a historical name) is one photo animated with
landmark-driven warps (eyelids, jaw, a 2.5-D head turn), filmed by a simulated hand-held phone
(shake, breathing, light drift, sensor noise): exactly what an attacker makes of one photo of
the retiree (照片活化, an animated-photo attack), which the judge refuses (`animated_photo`).
With the animation check switched off it still exercises the action and match checks. The
other attacks are what a fraudster can send instead: the photo held up, a print, a screen
replay, an earlier video sent again. `evaluation_set` labels a mix of all of them for
`pension-bot eval liveness`; the tests use the same renderers on short, small takes. Genuine
recordings are real camera clips (verification/liveness/real_clips.py), never rendered.

The modules, in the order they build on each other: `sampler` (resampling), `photo` (the
face photo, found and framed), `timing` (when the face moves), `warps` (the face rig),
`camera` (the phone), `takes` (genuine takes), `attacks`, `media` (MP4 in and out, special
files) and `labelled` (the labelled evaluation set).
"""

from liveness_lab.synthesis.attacks import (
    render_print_attack,
    render_screen_replay,
    render_still_photo_attack,
    render_two_people,
)
from liveness_lab.synthesis.labelled import LabelledVideo, evaluation_set
from liveness_lab.synthesis.media import (
    audio_only_mp4,
    encode_mp4,
    long_video,
    reencode,
    zero_length_mp4,
)
from liveness_lab.synthesis.photo import load_face_photo
from liveness_lab.synthesis.takes import render_genuine

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
