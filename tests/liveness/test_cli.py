"""`pension-bot check video`: one JSON object, exit codes 0 / 1 / 2. The generated take is a
photo animated into the actions, which the judge refuses (animated_photo, exit 1); a real
recording that passes (exit 0) is in test_animation_detector.py."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli import main

from .conftest import PERSON, Take


def _write(tmp_path: Path, take: Take) -> Path:
    path = tmp_path / "note.mp4"
    path.write_bytes(take.data)
    return path


def test_check_video_json_is_one_object(faces: Path, genuine: Take, tmp_path: Path, capsys) -> None:
    video = _write(tmp_path, genuine)
    asked = ",".join(genuine.asked)
    code = main(
        [
            "check",
            "video",
            "--reference",
            str(faces / PERSON[1]),
            "--video",
            str(video),
            "--actions",
            asked,
            "--json",
        ]
    )
    out = capsys.readouterr().out
    result = json.loads(out)  # exactly one object: anything else fails to parse
    assert out.count("\n") == 1
    assert code == 1 and result["verdict"] == "fail" and result["reason"] == "animated_photo"
    assert result["retry"] is False
    assert [a["action"] for a in result["actions"]] == asked.split(",") and "figures" in result


def test_check_video_text_fail_exits_1(faces: Path, genuine: Take, tmp_path: Path, capsys) -> None:
    video = _write(tmp_path, genuine)
    asked = ",".join(reversed(genuine.asked))
    code = main(
        ["check", "video", "--reference", str(faces / PERSON[1]), "--video", str(video), "--actions", asked]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "verdict:   fail" in out and "animated_photo" in out
    assert "out_of_order" in out  # the actions were seen, not in the order asked


def test_unusable_inputs_exit_2(faces: Path, genuine: Take, tmp_path: Path, capsys) -> None:
    video = _write(tmp_path, genuine)
    reference = str(faces / PERSON[1])
    # a reference photo without a face
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (300, 300), (200, 200, 200)).save(blank)
    assert (
        main(["check", "video", "--reference", str(blank), "--video", str(video), "--actions", "blink"]) == 2
    )
    assert "cannot be used" in capsys.readouterr().err
    # a video that is no video: the verdict is still printed, as one JSON object
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"hello")
    assert (
        main(
            ["check", "video", "--reference", reference, "--video", str(junk), "--actions", "blink", "--json"]
        )
        == 2
    )
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "fail" and result["reason"] == "not_a_video" and result["retry"] is True
    # an unknown action, a missing file
    assert main(["check", "video", "--reference", reference, "--video", str(video), "--actions", "wink"]) == 2
    missing = str(tmp_path / "nope.mp4")
    assert main(["check", "video", "--reference", reference, "--video", missing, "--actions", "blink"]) == 2
