"""Reason codes: what the face pipeline says instead of user texts.

The bot (elsewhere) turns each code into a kind sentence in the person's language; the
attempt record stores the code as it is. Codes are `StrEnum` members, so they compare equal
to, pickle as and JSON-encode as their plain string value.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # --- the uploaded file (verification.faces.media) ---
    NOT_AN_IMAGE = "not_an_image"  # bytes are no image format at all (text, random bytes, PDF...)
    UNSUPPORTED_FORMAT = "unsupported_format"  # an image, but not JPEG/PNG/WebP/GIF/BMP (HEIC, TIFF)
    TOO_LARGE_BYTES = "too_large_bytes"  # file over the byte limit
    TOO_MANY_PIXELS = "too_many_pixels"  # header announces more pixels than we agree to decode
    TOO_SMALL = "too_small"  # fewer pixels than a face needs (e.g. 10 x 10)
    ANIMATED = "animated"  # GIF/WebP/APNG with several frames: we do not guess which frame counts
    TRUNCATED = "truncated"  # the file ends before the image data does (interrupted upload)
    CORRUPT = "corrupt"  # the decoder failed for another reason

    # --- the capture (verification.faces.quality) ---
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    TOO_FAR = "too_far"  # face too small in the picture
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    TOO_BLURRY = "too_blurry"
    NOT_FRONTAL = "not_frontal"  # head turned to the side
    EYES_CLOSED = "eyes_closed"

    # --- the comparison (verification.faces.pipeline) ---
    MATCH = "match"  # verdict "pass"
    NO_MATCH = "no_match"  # verdict "fail": a good capture of someone else (or a very changed face)


# Everything the person can put right by sending another picture. A verdict with one of these
# is "retry", never "fail": a bad capture says nothing about who is in it.
RETRYABLE: frozenset[Reason] = frozenset(Reason) - {Reason.MATCH, Reason.NO_MATCH}
