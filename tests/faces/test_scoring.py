"""Score normalisation, fusion and the calibrated thresholds file (no face model needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from verification.faces.engines import EngineSpec
from verification.faces.scoring import (
    CohortStats,
    cohort_stats,
    fuse,
    fuse_vectors,
    quality_weight,
    s_norm,
    scores_against,
    top_count,
)
from verification.faces.thresholds import (
    SHIPPED_FILE,
    Calibrated,
    EngineThresholds,
    ThresholdsError,
    configured_policy,
    load_thresholds,
    policy_for,
    thresholds_for,
    write_thresholds,
)


class EuclideanEngine:
    name = "test-euclid"
    version = "1"
    higher_is_closer = False

    def compare(self, a, b) -> float:
        return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


class CosineEngine(EuclideanEngine):
    name = "test-cosine"
    higher_is_closer = True

    def compare(self, a, b) -> float:
        return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))


def test_s_norm_by_hand() -> None:
    # raw 0.4; the reference's cohort distances average 0.8 (std 0.1), the probe's 0.7 (0.05)
    value = s_norm(0.4, CohortStats(0.8, 0.1, 50), CohortStats(0.7, 0.05, 50))
    assert value == pytest.approx(0.5 * ((0.4 - 0.8) / 0.1 + (0.4 - 0.7) / 0.05))


def test_adaptive_cohort_uses_the_closest_tenth() -> None:
    assert [top_count(n) for n in (5, 20, 100, 200)] == [5, 10, 10, 20]
    cohort = np.arange(1, 101, dtype=np.float32)[:, None]  # distances 1..100 from the origin
    stats = cohort_stats(EuclideanEngine(), np.zeros(1), cohort)
    assert (stats.mean, stats.size) == (pytest.approx(5.5), 100)  # the 10 nearest: 1..10
    assert stats.std == pytest.approx(np.std(np.arange(1, 11)))
    everyone = cohort_stats(EuclideanEngine(), np.zeros(1), cohort, adaptive=False)
    assert everyone.mean == pytest.approx(50.5)
    # for a similarity the closest are the highest scores
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 8))
    probe = vectors[0] + 0.01
    scores = scores_against(CosineEngine(), probe, vectors)
    assert cohort_stats(CosineEngine(), probe, vectors).mean == pytest.approx(np.sort(scores)[-10:].mean())


def test_fusion_is_a_weighted_mean() -> None:
    assert fuse([0.3, 0.5]) == pytest.approx(0.4)
    assert fuse([0.3, 0.5], [3, 1]) == pytest.approx(0.35)
    with pytest.raises(ValueError):
        fuse([])
    with pytest.raises(ValueError):
        fuse([0.3], [0.0])
    fused = fuse_vectors([np.array([1.0, 0.0]), np.array([0.0, 1.0])], [1, 3])
    np.testing.assert_allclose(fused, [0.25, 0.75])


def test_quality_weight_favours_large_frontal_sharp_faces() -> None:
    good = {"face_width_px": 300, "yaw_ratio": 0.05, "sharpness": 300}
    assert quality_weight(good) == 1.0
    assert quality_weight({}) == 1.0  # nothing measured: no penalty
    small = quality_weight(good | {"face_width_px": 60})
    turned = quality_weight(good | {"yaw_ratio": 0.45})
    soft = quality_weight(good | {"sharpness": 20})
    assert 0.25 <= min(small, turned, soft) and max(small, turned, soft) < 1.0
    assert quality_weight({"face_width_px": 10, "yaw_ratio": 0.9, "sharpness": 0}) >= 0.25


# --- thresholds file ---


def test_shipped_thresholds_give_the_dlib_policy() -> None:
    shipped = load_thresholds()
    dlib = shipped["dlib-resnet-v1"]
    assert dlib.raw.threshold == 0.45 and dlib.raw.target_fmr == 0.01
    assert dlib.snorm is not None and dlib.snorm.threshold < 0 and dlib.min_cohort >= 10
    assert not any(name.startswith("arcface-onnx-") for name in shipped)  # no model, no threshold
    policy = configured_policy(EngineSpec())
    assert (policy.match_threshold, policy.engine) == (0.45, "dlib-resnet-v1")
    assert policy.snorm_threshold == dlib.snorm.threshold
    with pytest.raises(ThresholdsError, match="jitters"):  # calibrated with one jitter only
        configured_policy(EngineSpec(dlib_jitters=10))


def test_written_thresholds_override_the_shipped_ones(tmp_path: Path) -> None:
    path = tmp_path / "var" / "face_thresholds.toml"
    onnx = EngineThresholds(
        "arcface-onnx-0123456789ab",
        True,
        Calibrated(0.31, 0.001, 0.0009, 0.012, 0.001, 0.02),
        None,
        None,
        {"manifest": 'C:\\photos\\"agency"\\manifest.csv', "photos": 800},
    )
    write_thresholds(path, onnx)
    dlib = EngineThresholds("dlib-resnet-v1", False, Calibrated(0.42), Calibrated(-2.5, 0.001), 25)
    write_thresholds(path, dlib)  # a second engine keeps the first
    found = load_thresholds(path)
    assert found["arcface-onnx-0123456789ab"].raw == onnx.raw
    assert found["arcface-onnx-0123456789ab"].details["manifest"] == onnx.details["manifest"]
    assert found["dlib-resnet-v1"].raw.threshold == 0.42 and found["dlib-resnet-v1"].min_cohort == 25
    assert found["dlib-resnet-v1"].source == str(path)
    policy = policy_for(found["arcface-onnx-0123456789ab"])
    assert (policy.match_threshold, policy.snorm_threshold, policy.engine) == (
        0.31,
        None,
        "arcface-onnx-0123456789ab",
    )
    assert thresholds_for("dlib-resnet-v1").raw.threshold == 0.45  # without the file: shipped


def test_an_engine_without_thresholds_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ThresholdsError, match="calibrate"):
        thresholds_for("arcface-onnx-ffffffffffff", tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[engines."x"]\nhigher_is_closer = "yes"\n[engines."x".raw]\nthreshold = 0.3\n')
    with pytest.raises(ThresholdsError, match="higher_is_closer"):
        load_thresholds(bad)
    bad.write_text('[engines."x"]\nhigher_is_closer = true\n[engines."x".raw]\nthreshold = nan\n')
    with pytest.raises(ThresholdsError):
        load_thresholds(bad)
    bad.write_text("not toml [")
    with pytest.raises(ThresholdsError):
        load_thresholds(bad)
    assert SHIPPED_FILE.is_file() and not math.isnan(load_thresholds()["dlib-resnet-v1"].raw.threshold)
