"""The pipeline on real photos (the shared faces folder): verdicts, reasons, figures."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from tests.faces import samples
from tests.faces.conftest import FACE_PHOTO, FULL_FIGURE, GENUINE_PAIR, IMPOSTOR_PAIR, TWO_FACES
from verification.faces.pipeline import (
    DEFAULT_MATCH_THRESHOLD,
    IncompatibleTemplate,
    ReferenceTemplate,
    VerifyPolicy,
    check_selfie,
    encode_reference,
)
from verification.faces.reasons import RETRYABLE, Reason

pytestmark = pytest.mark.faces


@pytest.fixture(scope="module")
def face_image(read_photo) -> Image.Image:
    return Image.open(io.BytesIO(read_photo(FACE_PHOTO))).convert("RGB")


def test_reference_template_is_a_float32_vector_with_its_engine(genuine_reference, engine) -> None:
    assert isinstance(genuine_reference, ReferenceTemplate)
    assert len(genuine_reference.vector) == 128 * 4
    assert genuine_reference.to_array().dtype == np.float32
    assert genuine_reference.engine == engine.name == "dlib-resnet-v1"
    assert "dlib" in genuine_reference.engine_version


def test_genuine_east_asian_pair_passes(genuine_reference, read_photo, engine) -> None:
    selfie = read_photo(GENUINE_PAIR[1])
    verdict = check_selfie(genuine_reference, selfie, engine=engine)
    assert (verdict.verdict, verdict.reason) == ("pass", Reason.MATCH)
    assert verdict.distance is not None and verdict.distance <= DEFAULT_MATCH_THRESHOLD
    assert verdict.evidence_sha256 == hashlib.sha256(selfie).hexdigest()
    assert verdict.quality["faces_found"] == 1 and verdict.quality["eye_aspect_ratio"] is not None
    assert verdict.timings["total_s"] >= verdict.timings["embed_s"] > 0


def test_impostor_east_asian_pair_fails(read_photo, engine) -> None:
    reference = encode_reference(read_photo(IMPOSTOR_PAIR[0]), engine=engine).template
    verdict = check_selfie(reference, read_photo(IMPOSTOR_PAIR[1]), engine=engine)
    assert (verdict.verdict, verdict.reason) == ("fail", Reason.NO_MATCH)
    assert verdict.distance > DEFAULT_MATCH_THRESHOLD
    assert verdict.failed_gates == ()


def test_threshold_comes_from_the_policy(genuine_reference, read_photo, engine) -> None:
    strict = VerifyPolicy(match_threshold=0.1)
    verdict = check_selfie(genuine_reference, read_photo(GENUINE_PAIR[1]), strict, engine=engine)
    assert (verdict.verdict, verdict.threshold) == ("fail", 0.1)


def test_photo_with_no_face(read_photo, engine, genuine_reference) -> None:
    standing = Image.open(io.BytesIO(read_photo(FULL_FIGURE))).convert("RGB")
    width, height = standing.size
    no_face = samples.encoded(standing.crop((0, height // 2, width, height)), "JPEG")  # suit and legs
    assert encode_reference(no_face, engine=engine).reason is Reason.NO_FACE
    verdict = check_selfie(genuine_reference, no_face, engine=engine)
    assert (verdict.verdict, verdict.reason, verdict.distance) == ("retry", Reason.NO_FACE, None)
    assert verdict.quality["faces_found"] == 0


def test_photo_with_two_faces(read_photo, engine, genuine_reference) -> None:
    group = read_photo(TWO_FACES)
    reference = encode_reference(group, engine=engine)
    assert (reference.ok, reference.reason) == (False, Reason.SEVERAL_FACES)
    verdict = check_selfie(genuine_reference, group, engine=engine)
    assert (verdict.verdict, verdict.reason, verdict.distance) == ("retry", Reason.SEVERAL_FACES, None)
    assert verdict.quality["faces_found"] == 2


def test_exif_rotated_selfie_is_turned_upright(face_image, genuine_reference, engine) -> None:
    rotated = samples.exif_rotated_jpeg(face_image)
    verdict = check_selfie(genuine_reference, rotated, engine=engine)
    assert (verdict.verdict, verdict.reason) == ("pass", Reason.MATCH)
    assert verdict.quality["exif_orientation"] == 6

    # The test means something: the pixels as stored, without exif_transpose, show no face.
    stored = Image.open(io.BytesIO(rotated)).convert("RGB")
    stored.thumbnail((1280, 1280))
    assert stored.width < stored.height  # lying on its side
    assert engine.detect(np.asarray(stored)) == []


def test_cmyk_selfie(face_image, genuine_reference, engine) -> None:
    cmyk = samples.encoded(face_image.convert("CMYK"), "JPEG", quality=92)
    verdict = check_selfie(genuine_reference, cmyk, engine=engine)
    assert (verdict.verdict, verdict.reason) == ("pass", Reason.MATCH)


def test_16_bit_greyscale_selfie_finds_the_face(face_image, genuine_reference, engine) -> None:
    verdict = check_selfie(genuine_reference, samples.sixteen_bit_grey_png(face_image), engine=engine)
    assert verdict.quality["faces_found"] == 1
    assert verdict.verdict in ("pass", "fail")  # compared: a grey picture is a usable capture


def test_rgba_png_reference(read_photo, engine) -> None:
    result = encode_reference(read_photo("partial/obama_32bit_rgba.png"), engine=engine)
    assert result.ok and result.quality["faces_found"] == 1


def test_12_megapixel_selfie(face_image, genuine_reference, engine) -> None:
    big = samples.encoded(face_image.resize((4000, 2666), Image.Resampling.BICUBIC), "JPEG", quality=90)
    verdict = check_selfie(genuine_reference, big, engine=engine)
    assert (verdict.verdict, verdict.quality["image_width"]) == ("pass", 1280)


def test_dark_selfie_is_retry_not_fail(face_image, genuine_reference, engine) -> None:
    dark = ImageEnhance.Brightness(face_image).enhance(0.22)
    verdict = check_selfie(genuine_reference, samples.encoded(dark, "JPEG"), engine=engine)
    assert (verdict.verdict, verdict.reason) == ("retry", Reason.TOO_DARK)
    assert verdict.distance is None


def test_blurred_selfie_is_retry(face_image, genuine_reference, engine) -> None:
    blurred = face_image.filter(ImageFilter.GaussianBlur(10))
    verdict = check_selfie(genuine_reference, samples.encoded(blurred, "JPEG"), engine=engine)
    assert (verdict.verdict, verdict.reason, verdict.distance) == ("retry", Reason.TOO_BLURRY, None)
    assert verdict.quality["sharpness"] < 15


def test_far_away_selfie_is_too_far_not_no_face(face_image, genuine_reference, engine) -> None:
    # The photo small in the middle of a large grey picture: its face is ~86 px wide once the
    # picture is at working size, 9 % of the short side (the gate wants 15 %), too small for
    # the reduced detection copy: found by the full-size second look, reported as too far.
    canvas = Image.new("RGB", (2400, 1800), (128, 128, 128))
    canvas.paste(face_image.resize((600, 400)), (900, 700))
    verdict = check_selfie(genuine_reference, samples.encoded(canvas, "JPEG"), engine=engine)
    assert (verdict.verdict, verdict.reason, verdict.distance) == ("retry", Reason.TOO_FAR, None)
    assert verdict.quality["face_ratio"] < 0.15


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: b"", Reason.NOT_AN_IMAGE),
        (lambda: np.random.default_rng(3).bytes(50_000), Reason.NOT_AN_IMAGE),
        (lambda: b"Dear pension office,\nplease find my photo attached.\n", Reason.NOT_AN_IMAGE),
        (lambda: samples.encoded(samples.noise_rgb(800, 600), "JPEG")[:30_000], Reason.TRUNCATED),
        (lambda: samples.png_of_one_colour(20_000, 20_000), Reason.TOO_MANY_PIXELS),
        (samples.animated_gif, Reason.ANIMATED),
        (lambda: samples.encoded(Image.new("RGB", (10, 10)), "PNG"), Reason.TOO_SMALL),
    ],
    ids=["empty", "random", "text", "truncated-jpeg", "20000x20000-png", "animated-gif", "10x10"],
)
def test_bad_selfie_files_are_retry_with_their_reason(make, reason, genuine_reference, engine) -> None:
    data = make()
    verdict = check_selfie(genuine_reference, data, engine=engine)
    assert (verdict.verdict, verdict.reason, verdict.distance) == ("retry", reason, None)
    assert verdict.failed_gates == (reason,)
    assert verdict.evidence_sha256 == hashlib.sha256(data).hexdigest()
    assert reason in RETRYABLE
    assert encode_reference(data, engine=engine).reason is reason


def test_template_of_another_engine_is_refused(genuine_reference, read_photo, engine) -> None:
    foreign = ReferenceTemplate(genuine_reference.vector, "arcface-r100", "onnx")
    with pytest.raises(IncompatibleTemplate):
        check_selfie(foreign, read_photo(GENUINE_PAIR[1]), engine=engine)


def test_verdict_is_json_ready(genuine_reference, read_photo, engine) -> None:
    import json

    verdict = check_selfie(genuine_reference, read_photo(TWO_FACES), engine=engine)
    decoded = json.loads(json.dumps(verdict.to_dict()))
    assert decoded["verdict"] == "retry" and decoded["reason"] == "several_faces"
    assert decoded["failed_gates"] == ["several_faces"]
