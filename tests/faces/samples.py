"""Pictures made in memory for the tests: bad inputs, odd modes, rotated photos."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def png_of_one_colour(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of any size, written chunk by chunk.

    One colour compresses ~1000:1, so 20,000 x 20,000 px (400 MP) is a ~50 KB file made in a
    fraction of a second, without ever holding the pixels in memory: a decompression bomb.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes((width + 7) // 8)  # filter byte "none", then all-zero bits
    compressor = zlib.compressobj(1)
    rows_per_block = 1000
    block = row * rows_per_block
    parts = []
    for start in range(0, height, rows_per_block):
        n = min(rows_per_block, height - start)
        parts.append(compressor.compress(block if n == rows_per_block else row * n))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")
    )


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def noise_rgb(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def two_tone(width: int = 200, height: int = 120) -> Image.Image:
    """Left half red, right half blue: shows which way a picture was turned."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2] = (220, 20, 20)
    pixels[:, width // 2 :] = (20, 20, 220)
    return Image.fromarray(pixels)


def animated_gif(size: int = 120, frames: int = 3) -> bytes:
    images = [Image.new("RGB", (size, size), (40 * i, 80, 200 - 40 * i)) for i in range(frames)]
    return encoded(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def exif_rotated_jpeg(upright: Image.Image) -> bytes:
    """The pixels stored turned a quarter left, tagged Orientation 6 ("turn 90 degrees clockwise
    to show"): what a phone held upright writes. Every viewer shows it upright."""
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(stored, "JPEG", quality=92, exif=exif.tobytes())


def sixteen_bit_grey_png(image: Image.Image) -> bytes:
    """A 16-bit greyscale PNG of `image` (8-bit values spread to 0..65535)."""
    grey = np.asarray(image.convert("L"), dtype=np.uint16) * 257
    return encoded(Image.fromarray(grey), "PNG")
