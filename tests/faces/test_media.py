"""Untrusted bytes in, 8-bit upright RGB out, or a reason code: never a crash."""

from __future__ import annotations

import resource
import time

import numpy as np
import pytest
from PIL import Image, ImageFile

from tests.faces import samples
from verification.faces.media import MediaLimits, MediaRejected, decode_image, sniff_format
from verification.faces.reasons import Reason


def rejected(data: bytes, limits: MediaLimits | None = None) -> Reason:
    with pytest.raises(MediaRejected) as caught:
        decode_image(data, limits)
    return caught.value.reason


@pytest.mark.parametrize(
    "data",
    [
        b"",
        np.random.default_rng(7).bytes(4096),
        "领取养老金资格认证\nThis is a text file, not a photo.\n".encode(),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
    ],
    ids=["empty", "random-bytes", "text-file", "pdf"],
)
def test_not_an_image(data: bytes) -> None:
    assert rejected(data) is Reason.NOT_AN_IMAGE


def test_heic_and_tiff_are_recognised_but_unsupported() -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
    assert sniff_format(heic) == "heif"
    assert rejected(heic) is Reason.UNSUPPORTED_FORMAT
    tiff = samples.encoded(samples.two_tone(), "TIFF")
    assert rejected(tiff) is Reason.UNSUPPORTED_FORMAT


def test_too_large_bytes_is_refused_before_parsing() -> None:
    data = samples.encoded(samples.noise_rgb(400, 300), "PNG")
    assert rejected(data, MediaLimits(max_bytes=len(data) - 1)) is Reason.TOO_LARGE_BYTES
    assert decode_image(data, MediaLimits(max_bytes=len(data))).size == (400, 300)


def test_20000_by_20000_png_is_refused_quickly_without_decoding(monkeypatch) -> None:
    bomb = samples.png_of_one_colour(20_000, 20_000)
    assert len(bomb) < 1_000_000  # a small file announcing 400 million pixels

    def no_decoding(self, *args, **kwargs):  # any pixel decoding would come through here
        raise AssertionError("the bomb's pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.perf_counter()
    assert rejected(bomb) is Reason.TOO_MANY_PIXELS
    assert time.perf_counter() - started < 1.0
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 50  # decoding would need 400 MB or more


def test_our_pixel_limit_applies_below_pillows_own() -> None:
    # 8000 x 8000 = 64 MP: under Pillow's global bomb limit, over our 50 MP.
    big = samples.png_of_one_colour(8_000, 8_000)
    assert rejected(big) is Reason.TOO_MANY_PIXELS
    assert rejected(samples.png_of_one_colour(1_000, 1_000), MediaLimits(max_pixels=999_999)) is (
        Reason.TOO_MANY_PIXELS
    )


def test_truncated_jpeg_is_refused_even_after_face_recognition_is_imported() -> None:
    # face_recognition turns Pillow's LOAD_TRUNCATED_IMAGES on when imported; the engine
    # module must turn it back off, or half an upload would decode with grey filling.
    import verification.faces.dlib_engine  # noqa: F401 - imported for its side effect

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    whole = samples.encoded(samples.noise_rgb(640, 480), "JPEG", quality=90)
    assert decode_image(whole).size == (640, 480)
    for cut in (0.5, 0.9, 0.999):
        assert rejected(whole[: int(len(whole) * cut)]) is Reason.TRUNCATED


def test_truncated_png_is_refused() -> None:
    whole = samples.encoded(samples.noise_rgb(300, 200), "PNG")
    assert rejected(whole[: len(whole) // 2]) in (Reason.TRUNCATED, Reason.CORRUPT)


def test_broken_header_is_corrupt() -> None:
    assert rejected(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4) is Reason.CORRUPT


def test_animated_gif_and_webp_are_refused() -> None:
    assert rejected(samples.animated_gif()) is Reason.ANIMATED
    frames = [Image.new("RGB", (120, 120), colour) for colour in ("red", "blue")]
    webp = samples.encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)
    assert rejected(webp) is Reason.ANIMATED


def test_still_gif_webp_and_bmp_decode() -> None:
    for fmt in ("GIF", "WEBP", "BMP"):
        decoded = decode_image(samples.encoded(samples.two_tone(), fmt))
        assert decoded.format == fmt.lower()
        assert decoded.pixels.shape == (120, 200, 3) and decoded.pixels.dtype == np.uint8


def test_ten_by_ten_is_too_small() -> None:
    assert rejected(samples.encoded(Image.new("RGB", (10, 10), "white"), "PNG")) is Reason.TOO_SMALL
    assert rejected(samples.encoded(Image.new("RGB", (1000, 40), "white"), "JPEG")) is Reason.TOO_SMALL


def test_cmyk_jpeg_becomes_rgb_with_its_colours() -> None:
    data = samples.encoded(Image.new("RGB", (200, 150), (200, 30, 30)).convert("CMYK"), "JPEG", quality=95)
    decoded = decode_image(data)
    assert decoded.original_mode == "CMYK"
    assert decoded.pixels.shape == (150, 200, 3)
    assert np.allclose(decoded.pixels.reshape(-1, 3).mean(axis=0), (200, 30, 30), atol=20)


def test_16_bit_png_is_scaled_not_clipped() -> None:
    ramp = np.tile(np.linspace(0, 65535, 256, dtype=np.uint16), (120, 1))
    decoded = decode_image(samples.encoded(Image.fromarray(ramp), "PNG"))
    assert decoded.original_mode.startswith("I")
    row = decoded.pixels[0, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255 and abs(row[128] - 128) <= 1  # clipping would make it 255


def test_transparent_pixels_are_laid_on_white() -> None:
    rgba = Image.new("RGBA", (160, 120), (0, 0, 0, 0))  # fully transparent black
    rgba.paste((10, 200, 10, 255), (40, 40, 120, 80))  # an opaque green patch
    pixels = decode_image(samples.encoded(rgba, "PNG")).pixels
    assert tuple(pixels[5, 5]) == (255, 255, 255)
    assert tuple(pixels[60, 80]) == (10, 200, 10)

    palette = Image.new("P", (160, 120), 0)
    palette.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    palette.paste(1, (40, 40, 120, 80))
    pixels = decode_image(samples.encoded(palette, "PNG", transparency=0)).pixels
    assert tuple(pixels[5, 5]) == (255, 255, 255) and tuple(pixels[60, 80]) == (10, 200, 10)


def test_greyscale_and_one_bit_become_three_channels() -> None:
    for mode in ("L", "1"):
        decoded = decode_image(samples.encoded(Image.new(mode, (150, 100), 1), "PNG"))
        assert decoded.pixels.shape == (100, 150, 3)


def test_exif_orientation_is_applied() -> None:
    upright = samples.two_tone(200, 120)
    decoded = decode_image(samples.exif_rotated_jpeg(upright))
    assert decoded.exif_orientation == 6
    assert decoded.original_size == (120, 200)  # stored lying on its side
    assert decoded.size == (200, 120)  # shown upright
    left, right = decoded.pixels[60, 20], decoded.pixels[60, 180]
    assert left[0] > 150 > left[2] and right[2] > 150 > right[0]  # red left, blue right, as shot


def test_large_photo_is_scaled_to_the_working_size() -> None:
    data = samples.encoded(samples.noise_rgb(4000, 3000), "JPEG", quality=80)
    decoded = decode_image(data)
    assert decoded.original_size == (4000, 3000)
    assert decoded.size == (1280, 960)
    assert decode_image(data, MediaLimits(working_long_side=640)).size == (640, 480)


def test_damaged_files_never_crash() -> None:
    """Bytes flipped and cut at random in valid files: a picture or a reason, nothing else."""
    rng = np.random.default_rng(2024)
    originals = [
        samples.encoded(samples.noise_rgb(160, 120), "JPEG"),
        samples.encoded(samples.two_tone(), "PNG"),
        samples.encoded(samples.two_tone(), "WEBP"),
        samples.encoded(samples.two_tone(), "BMP"),
        samples.animated_gif(),
        samples.exif_rotated_jpeg(samples.two_tone()),
    ]
    outcomes = set()
    for original in originals:
        for _ in range(60):
            data = bytearray(original)
            for position in rng.integers(0, len(data), size=int(rng.integers(1, 12))):
                data[position] = int(rng.integers(0, 256))
            if rng.random() < 0.3:
                data = data[: int(rng.integers(1, len(data)))]
            try:
                decode_image(bytes(data))
                outcomes.add("decoded")
            except MediaRejected as rejection:
                outcomes.add(rejection.reason)
    assert "decoded" in outcomes and len(outcomes) > 2
