"""One claim against several references, several frames and a cohort (real photos, dlib)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from tests.faces import samples
from tests.faces.conftest import GENUINE_PAIR, IMPOSTOR_PAIR
from verification.faces.evaluation import read_manifest
from verification.faces.pipeline import IncompatibleTemplate, ReferenceTemplate, encode_reference, verify
from verification.faces.reasons import Reason
from verification.faces.thresholds import policy_for, thresholds_for

pytestmark = pytest.mark.faces

SECOND_REFERENCE = "people/cn_101_chen_weiting/1.jpg"


@pytest.fixture(scope="module")
def policy():
    return policy_for(thresholds_for("dlib-resnet-v1"))


@pytest.fixture(scope="module")
def references(read_photo, engine):
    return [
        encode_reference(read_photo(name), engine=engine).template
        for name in (GENUINE_PAIR[0], SECOND_REFERENCE)
    ]


@pytest.fixture(scope="module")
def cohort(faces_root, engine) -> np.ndarray:
    """Two photos each of the East Asian identities other than the two in the pairs used here:
    the other "retirees" of the region."""
    taken: dict[str, int] = {}
    vectors = []
    for entry in read_manifest(faces_root):
        who = entry.identity
        if not who.startswith(("cn_", "jp_", "kr_")) or who in ("cn_101_chen_weiting", "cn_007_a_bao"):
            continue
        if taken.get(who, 0) == 2:
            continue
        result = encode_reference(entry.path.read_bytes(), engine=engine)
        if result.ok:
            taken[who] = taken.get(who, 0) + 1
            vectors.append(result.template.to_array())
    return np.vstack(vectors)


def test_genuine_claim_with_two_references_and_a_cohort(references, cohort, read_photo, engine, policy):
    verdict = verify(references, [read_photo(GENUINE_PAIR[1])], policy, engine=engine, cohort=cohort)
    assert (verdict.verdict, verdict.reason) == ("pass", Reason.MATCH)
    scores = verdict.scores
    assert scores["decided_on"] == "snorm" and verdict.threshold == policy.snorm_threshold
    assert scores["references"] == 2 and len(scores["raw_each"]) == 2 and scores["frames"] == 1
    assert scores["cohort"] == len(cohort) >= policy.min_cohort
    assert scores["snorm"] <= policy.snorm_threshold
    assert verdict.distance == scores["raw"] == pytest.approx(np.mean(scores["raw_each"]), abs=1e-3)


def test_impostor_claim_is_refused_on_the_normalised_score(references, cohort, read_photo, engine, policy):
    verdict = verify(references, [read_photo(IMPOSTOR_PAIR[1])], policy, engine=engine, cohort=cohort)
    assert (verdict.verdict, verdict.reason) == ("fail", Reason.NO_MATCH)
    assert verdict.scores["decided_on"] == "snorm" and verdict.scores["snorm"] > policy.snorm_threshold


def test_small_cohort_falls_back_to_the_raw_threshold(references, cohort, read_photo, engine, policy):
    verdict = verify(references[:1], [read_photo(GENUINE_PAIR[1])], policy, engine=engine, cohort=cohort[:5])
    assert verdict.verdict == "pass"
    assert verdict.scores["decided_on"] == "raw" and verdict.scores["snorm_skipped"] == "small_cohort"
    assert verdict.threshold == policy.match_threshold and verdict.scores["snorm"] is None


def test_reference_weights_tilt_the_fused_score(references, read_photo, engine, policy):
    selfie = [read_photo(GENUINE_PAIR[1])]
    even = verify(references, selfie, policy, engine=engine)
    first = verify(references, selfie, policy, engine=engine, reference_weights=[1.0, 0.0001])
    assert first.distance == pytest.approx(even.scores["raw_each"][0], abs=1e-3)
    assert even.scores["decided_on"] == "raw"  # no cohort at all


def test_bad_frames_are_skipped_and_good_ones_fused(references, read_photo, engine, policy):
    selfie = read_photo(GENUINE_PAIR[1])
    image = Image.open(io.BytesIO(selfie)).convert("RGB")
    dark = samples.encoded(ImageEnhance.Brightness(image).enhance(0.2), "JPEG")
    shifted = samples.encoded(image.rotate(3), "JPEG", quality=85)
    verdict = verify(references, [b"not a picture", dark, selfie, shifted], policy, engine=engine)
    assert verdict.verdict == "pass" and verdict.scores["frames"] == 2
    only_bad = verify(references, [dark, b"not a picture"], policy, engine=engine)
    assert (only_bad.verdict, only_bad.reason, only_bad.distance) == ("retry", Reason.TOO_DARK, None)


def test_references_of_another_engine_are_skipped(references, read_photo, engine, policy):
    foreign = ReferenceTemplate(b"\0" * 2048, "arcface-onnx-0123456789ab", "onnx")
    verdict = verify([foreign, references[0]], [read_photo(GENUINE_PAIR[1])], policy, engine=engine)
    assert verdict.verdict == "pass" and verdict.scores["references_skipped"] == 1
    with pytest.raises(IncompatibleTemplate):
        verify([foreign], [read_photo(GENUINE_PAIR[1])], policy, engine=engine)


def test_a_policy_for_another_engine_is_refused(references, read_photo, engine, policy):
    from dataclasses import replace

    with pytest.raises(IncompatibleTemplate, match="policy"):
        other = replace(policy, engine="arcface-onnx-x")
        verify(references, [read_photo(GENUINE_PAIR[1])], other, engine=engine)
