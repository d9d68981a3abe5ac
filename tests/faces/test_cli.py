"""`check photo`, `eval faces` and `bench verify` as a person at a console runs them."""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.commands import faces as faces_commands
from tests.faces.conftest import GENUINE_PAIR, IMPOSTOR_PAIR, REPO_ROOT, TWO_FACES
from verification.faces.evaluation import expected_pair_counts

pytestmark = pytest.mark.faces


def run(argv: list[str]) -> int:
    """Dispatch like app.cli does, with only this module's commands registered (so these tests
    do not depend on every other command module importing cleanly)."""
    parser = argparse.ArgumentParser(prog="pension-bot")
    faces_commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


def test_check_photo_json(faces_root: Path, capsys) -> None:
    code = run(["check", "photo", "--reference", str(faces_root / GENUINE_PAIR[0]),
                "--photo", str(faces_root / GENUINE_PAIR[1]), "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out)  # exactly one JSON object and nothing else
    assert {"verdict", "reason", "distance", "quality"} <= result.keys()
    assert (result["verdict"], result["reason"]) == ("pass", "match")
    assert isinstance(result["distance"], float)


def test_check_photo_text_for_an_impostor(faces_root: Path, capsys) -> None:
    code = run(["check", "photo", "--reference", str(faces_root / IMPOSTOR_PAIR[0]),
                "--photo", str(faces_root / IMPOSTOR_PAIR[1])])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0  # a verdict was reached, even though it is "fail"
    assert re.search(r"^verdict:\s+fail$", out, re.M) and re.search(r"^reason:\s+no_match$", out, re.M)
    assert re.search(r"^distance:\s+0\.\d{4}", out, re.M)


def test_check_photo_with_unusable_reference_exits_2(faces_root: Path, tmp_path: Path, capsys) -> None:
    code = run(["check", "photo", "--reference", str(faces_root / TWO_FACES),
                "--photo", str(faces_root / GENUINE_PAIR[1]), "--json"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2
    assert "more than one face" in captured.err
    assert json.loads(captured.out)["reason"] == "several_faces"

    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    assert run(["check", "photo", "--reference", str(text), "--photo", str(text)]) == 2
    assert "not a picture" in capsys.readouterr().err
    assert run(["check", "photo", "--reference", str(tmp_path / "missing.jpg"), "--photo", str(text)]) == 2


def test_check_photo_via_python_dash_m(faces_root: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "check", "photo", "--reference", str(faces_root / GENUINE_PAIR[0]),
         "--photo", str(faces_root / GENUINE_PAIR[1]), "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["verdict"] == "pass"


def test_eval_faces_counts_pairs(faces_root: Path, tmp_path: Path, capsys) -> None:
    chosen = {  # two East Asian identities and one other, photos known to hold one face each
        "cn_119_cai_gang": ["1.jpg", "2.jpg", "3.jpg"],
        "kr_20007_cha_yeryun": ["1.jpg", "2.jpg"],
        "obama": ["1.jpg", "2.jpg"],
    }
    rows = [{"path": str((faces_root / "people" / who / name).resolve()), "identity": who}
            for who, names in chosen.items() for name in names]  # fmt: skip
    rows.append({"path": str((faces_root / TWO_FACES).resolve()), "identity": ""})  # no identity: left out
    rows.append({"path": str((faces_root / TWO_FACES).resolve()), "identity": "obama"})  # listed, not encoded
    # a relative path from the manifest's folder works too
    relative = Path("..") / "relative_root_probe.jpg"
    (tmp_path.parent / "relative_root_probe.jpg").write_bytes(
        (faces_root / "people/obama/3.jpg").read_bytes()
    )
    rows.append({"path": str(relative), "identity": "obama"})
    with (tmp_path / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "kind", "identity"])
        writer.writeheader()
        writer.writerows({"kind": "people", **row} for row in rows)

    code = run(["eval", "faces", "--root", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    # By hand: 8 encoded photos: cai_gang 3, cha_yeryun 2, obama 3.
    # genuine = C(3,2) + C(2,2) + C(3,2) = 3 + 1 + 3 = 7; impostor = C(8,2) - 7 = 21.
    # East Asian subset: 5 photos; genuine 3 + 1 = 4; impostor = 3 x 2 = 6.
    assert expected_pair_counts(["a"] * 3 + ["b"] * 2 + ["c"] * 3) == (7, 21)
    assert "Photos with an identity: 9; encoded: 8;" in out
    assert re.search(r"not encoded: .*two_people\.jpg \(several_faces\)", out)
    assert re.search(r"^all\s+8\s+3\s+7\s+21\s", out, re.M)
    assert re.search(r"^subset cn_,jp_,kr_\s+5\s+2\s+4\s+6\s", out, re.M)
    assert re.search(r"^\*\s+0\.450\s", out, re.M)  # the configured threshold, marked in the table


def test_eval_faces_without_manifest(tmp_path: Path, capsys) -> None:
    assert run(["eval", "faces", "--root", str(tmp_path)]) == 2
    assert "manifest.csv" in capsys.readouterr().err


def test_bench_verify_smoke(faces_root: Path, capsys) -> None:
    code = run(
        ["bench", "verify", "--faces", str(faces_root), "--sizes", "240p", "--repeats", "1", "--photos", "1"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "one core" in out
    assert re.search(r"^240p\s+\d+x\d+\s+1\s+\d+\.\d{3} s", out, re.M)
