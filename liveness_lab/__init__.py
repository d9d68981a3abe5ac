"""The liveness lab: an evaluation tool that renders attacks on the liveness check. Never installed.

It animates one photo of a person into a video note doing the actions asked (照片活化, the
commonest real attack on face certification), and renders the other attacks (the photo held
up, a print, a screen replay, an earlier note sent again). The product must refuse all of them,
so a renderer of such notes has no place in it: this folder is not in pyproject.toml's
`[tool.setuptools.packages.find] include`, nothing in the installed packages imports it at
start-up, and the `pension-bot` command offers no renderer. It is used, from a checkout only, by

- `synthesis/`: the renderers (`python -m liveness_lab sample …` writes one animated take);
- `evaluation.py`: `pension-bot eval liveness` (APCER on rendered attacks, BPCER on real
  recordings, verification/liveness/real_clips.py);
- `benchmark.py`: `pension-bot bench liveness` (time to judge a 10-s note on one core);
- the tests.
"""
