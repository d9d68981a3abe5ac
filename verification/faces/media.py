"""Safe decoding of an untrusted picture into 8-bit RGB pixels of a working size.

Everything a stranger uploads passes through `decode_image`. It refuses, with a reason code,
whatever is not a still JPEG/PNG/WebP/GIF/BMP picture of sensible size, and it never decodes a
picture before knowing from its header how many pixels that would make: a small file can
announce a 20,000 x 20,000 image (a "decompression bomb").
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from verification.faces.reasons import Reason

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    # Telegram sends a "photo" re-encoded at <= 2560 px (a few hundred KB); a picture sent as a
    # file keeps its original size, and phone cameras write 3-12 MB JPEGs. 15 MB leaves room
    # for those and refuses anything larger before any parsing.
    max_bytes: int = 15 * MB
    # 50 MP admits the 48/50 MP modes of current phones. The header is checked before decoding,
    # so a bomb costs nothing; a genuine 50 MP PNG would cost ~200 MB while decoding, which is
    # the most we accept to spend in one worker (JPEGs are decoded at reduced scale, far less).
    max_pixels: int = 50_000_000
    # A face needs ~80 px across to be encoded usefully; a picture whose short side is under
    # 100 px cannot hold one together with any context.
    min_side: int = 100
    # Pixels are scaled down to this long side before any face work: dlib encodes a 150 px
    # face chip, so more pixels only cost time (a 12 MP photo would take seconds to scan).
    working_long_side: int = 1280


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # H x W x 3, uint8, RGB, upright, at most working_long_side on its long side
    format: str  # "jpeg", "png", "webp", "gif" or "bmp"
    original_size: tuple[int, int]  # (width, height) as stored in the file, before rotation
    exif_orientation: int  # 1 = upright; 2..8 were applied to the pixels
    original_mode: str  # Pillow mode of the file (e.g. "CMYK", "I;16", "RGBA"), for the record

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of `pixels`."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


class MediaRejected(Exception):
    """The bytes are not a usable picture; `reason` says why (a code, not a user text)."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


# Formats are sniffed from the first bytes, never trusted from a file name or a MIME type.
# Only these Pillow plugins may ever parse untrusted bytes here (a smaller attack surface).
# BMP is there because archive reference photos come as BMP (even named .jpg: one of the shared
# test photos is). TIFF and HEIF are recognised only to say "unsupported" rather than "not an
# image": TIFF's many-page, many-codec plugin is more parser than a selfie needs.
_PILLOW_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "bmp": "BMP"}
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")


def sniff_format(data: bytes) -> str | None:
    """ "jpeg", "png", "webp", "gif", "heif" (recognised but not supported) or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:2] == b"BM" and len(data) >= 26:
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "heif"
    return None


def decode_image(data: bytes, limits: MediaLimits | None = None) -> DecodedImage:
    """Decode untrusted bytes to upright 8-bit RGB pixels, or raise `MediaRejected`."""
    limits = limits or MediaLimits()
    if len(data) > limits.max_bytes:
        raise MediaRejected(Reason.TOO_LARGE_BYTES, f"{len(data)} bytes > {limits.max_bytes}")
    kind = sniff_format(data)
    if kind is None:
        raise MediaRejected(Reason.NOT_AN_IMAGE, "no known image signature")
    if kind not in _PILLOW_FORMAT:
        # HEIC/AVIF: iPhones' own format; Telegram converts photos to JPEG, so only a picture
        # sent "as a file" arrives like this. The bot can ask for it to be sent as a photo.
        # TIFF: scanners' format; staff can re-save a reference scan as JPEG or PNG.
        raise MediaRejected(Reason.UNSUPPORTED_FORMAT, kind)

    try:
        return _decode(data, kind, limits)
    except MediaRejected:
        raise
    except Exception as error:
        # Malformed files make Pillow's parsers fail in many ways (struct.error, IndexError,
        # ZeroDivisionError...). None of them may escape as a crash: the file is damaged.
        raise MediaRejected(Reason.CORRUPT, f"{type(error).__name__}: {error}") from error


def _decode(data: bytes, kind: str, limits: MediaLimits) -> DecodedImage:
    image = _open_header_only(data, kind, limits)
    original_size = image.size
    original_mode = image.mode
    if getattr(image, "is_animated", False):
        # Which frame would be "the selfie"? Choosing one invites replaying a clip; refuse.
        raise MediaRejected(Reason.ANIMATED, f"{getattr(image, 'n_frames', '?')} frames")

    if kind == "jpeg":
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale straight away when the picture is much
        # larger than the working size: a 12 MP photo then costs a fraction of its full decode.
        image.draft("RGB", _draft_size(image.size, limits.working_long_side))
    _load(image)

    orientation, image = _apply_exif_orientation(image)
    image = _to_rgb8(image)
    image = _shrink(image, limits.working_long_side)
    pixels = np.asarray(image, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3:  # pragma: no cover - _to_rgb8 guarantees this
        raise MediaRejected(Reason.CORRUPT, f"unexpected pixel shape {pixels.shape}")
    return DecodedImage(pixels, kind, original_size, orientation, original_mode)


def _open_header_only(data: bytes, kind: str, limits: MediaLimits) -> Image.Image:
    """Parse the header (Pillow opens lazily) and check the announced size before any decoding."""
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own global limit (~89 MP) and raises above twice that;
            # our own explicit limit below is the one that decides, so its warning is noise.
            # It also warns about damaged EXIF while reading a JPEG header: noise as well.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)
            image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[kind]])
    except Image.DecompressionBombError as error:
        raise MediaRejected(Reason.TOO_MANY_PIXELS, str(error)) from error
    except UnidentifiedImageError as error:
        # The signature looked right but the header is not parseable.
        raise MediaRejected(Reason.CORRUPT, str(error)) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise MediaRejected(_classify_decode_error(error), str(error)) from error

    width, height = image.size
    if width * height > limits.max_pixels:
        raise MediaRejected(Reason.TOO_MANY_PIXELS, f"{width}x{height} > {limits.max_pixels} pixels")
    if min(width, height) < limits.min_side:
        raise MediaRejected(Reason.TOO_SMALL, f"{width}x{height}, short side < {limits.min_side}")
    return image


def _load(image: Image.Image) -> None:
    # face_recognition sets Pillow's global LOAD_TRUNCATED_IMAGES on import (it would accept a
    # half-uploaded JPEG and fill the rest with grey). verification.faces.dlib_engine puts it
    # back; if some other import has set it, a truncated picture must still be refused here.
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # pragma: no cover - defended by dlib_engine
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        image.load()
    except Image.DecompressionBombError as error:  # pragma: no cover - size was checked already
        raise MediaRejected(Reason.TOO_MANY_PIXELS, str(error)) from error
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as error:
        raise MediaRejected(_classify_decode_error(error), str(error)) from error


def _classify_decode_error(error: BaseException) -> Reason:
    message = str(error).lower()
    if isinstance(error, EOFError) or "truncated" in message or "premature end" in message:
        return Reason.TRUNCATED
    return Reason.CORRUPT


def _draft_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, long_side / max(width, height))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _apply_exif_orientation(image: Image.Image) -> tuple[int, Image.Image]:
    """Rotate the pixels as the EXIF Orientation tag says, as every phone gallery shows them.

    Phones store the sensor's pixels and only *tag* the rotation: without this, a selfie held
    upright arrives lying on its side and the (upright-only) face detector finds nothing.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about each damaged EXIF block
            orientation = int(image.getexif().get(0x0112, 1) or 1)
    except Exception:  # broken EXIF is common and must not sink the picture
        return 1, image
    if orientation == 1 or orientation not in range(2, 9):
        return 1, image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return orientation, ImageOps.exif_transpose(image)
    except Exception:  # same as above: keep the pixels as stored
        return 1, image


def _to_rgb8(image: Image.Image) -> Image.Image:
    """Any still-image mode Pillow produces for our formats, as 8-bit RGB."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("L", "1", "CMYK", "YCbCr"):
        return image.convert("RGB")
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _high_bit_depth_to_rgb8(image)
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        if not has_alpha:
            return image
        mode = "RGBA"
    if mode in ("RGBA", "LA", "La", "RGBa"):
        # Transparent pixels carry arbitrary colour (often black); lay them on white paper,
        # which is how any viewer shows such a picture.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as error:
        raise MediaRejected(Reason.UNSUPPORTED_FORMAT, f"pixel mode {mode}") from error


def _high_bit_depth_to_rgb8(image: Image.Image) -> Image.Image:
    # Pillow's own convert("RGB") clips 16-bit values at 255 (a white picture); scale instead.
    values = np.asarray(image).astype(np.float32)
    if image.mode.startswith("I;16") or (image.mode == "I" and values.max(initial=0) > 255):
        values = values / 257.0  # 0..65535 -> 0..255
    grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _shrink(image: Image.Image, long_side: int) -> Image.Image:
    width, height = image.size
    if max(width, height) <= long_side:
        return image
    scale = long_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # reducing_gap: a fast integer box reduction first, then a bilinear finish; the quality
    # is that of a plain bilinear resize of the whole picture at a fraction of the time.
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
