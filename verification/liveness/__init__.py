"""Liveness: proof that a live person is in front of the camera now, not a photo or a recording.

A challenge asks for a few actions in a random order (`actions`); the person films a round
video note doing them; `judge` decodes it, follows the face, and checks the actions, the
order, the identity on several frames, and cues of a screen or a print or of one photo
animated into the actions (`animation`). `fingerprints` catch a video (or photo) that was sent
before. `real_clips` reads the labels of the real recordings used to measure all this. The
renderers of attacks the evaluation and the tests use are not here: they are the liveness lab
(liveness_lab/ in a checkout), never installed.
"""
