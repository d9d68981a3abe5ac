"""The generated video notes do what they claim, measured the way a judge would measure them:
dlib's 68 landmarks (face_recognition, model "large") on frames decoded back from the MP4.

Takes are small (320 px, 12 fps) to keep the file fast; the figures hold at 640 px too."""

from __future__ import annotations

import io

import av
import face_recognition
import numpy as np
import pytest

from liveness_lab.synthesis import (
    audio_only_mp4,
    encode_mp4,
    evaluation_set,
    load_face_photo,
    long_video,
    reencode,
    render_genuine,
    render_print_attack,
    render_screen_replay,
    render_still_photo_attack,
    render_two_people,
    zero_length_mp4,
)
from tests.conftest import faces_dir
from verification.liveness.actions import Action, yaw_sign

SIZE, FPS = 320, 12
# One frontal photo each of five East Asian identities (the warps must work beyond one face).
PHOTOS = (
    "people/cn_001_an_hu/1.jpg",
    "people/cn_007_a_bao/2.jpg",
    "people/cn_122_cheng_su/1.jpg",
    "people/kr_20002_lee_haena/1.jpg",
    "people/kr_20007_cha_yeryun/1.jpg",
)
ALL_ACTIONS = (Action.BLINK, Action.OPEN_MOUTH, Action.TURN_LEFT, Action.TURN_RIGHT)


@pytest.fixture(scope="module")
def faces():
    return faces_dir()


@pytest.fixture(scope="module")
def photos(faces):
    return {name: load_face_photo(faces / name, size=SIZE) for name in PHOTOS}


@pytest.fixture(scope="module")
def full_size_photos(faces):
    """At the real 640 px: print dots 3-5 px apart swamp a 320 px face, not a 640 px one."""
    return [load_face_photo(faces / name) for name in PHOTOS[:2]]


def decode(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def figures(frames: list[np.ndarray]) -> np.ndarray:
    """Per frame (EAR, MAR, yaw); NaN where no face is found."""
    out = []
    for frame in frames:
        boxes = face_recognition.face_locations(frame, number_of_times_to_upsample=0)
        if not boxes:
            out.append((np.nan, np.nan, np.nan))
            continue
        points = face_recognition.face_landmarks(frame, boxes[:1], model="large")[0]
        out.append((_ear(points), _mar(points), _yaw(points)))
    return np.array(out)


def _ear(points) -> float:
    def one(eye):
        p = np.array(eye, float)
        vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
        return vertical / (2 * np.linalg.norm(p[0] - p[3]))

    return (one(points["left_eye"]) + one(points["right_eye"])) / 2


def _mar(points) -> float:
    upper = np.array(points["top_lip"][7:12], float)[::-1]  # dlib 60, 61, 62, 63, 64
    lower = np.array(points["bottom_lip"][7:12], float)  # dlib 60, 67, 66, 65, 64
    vertical = sum(np.linalg.norm(upper[i] - lower[i]) for i in (1, 2, 3))
    return vertical / (2 * np.linalg.norm(upper[0] - upper[4]))


def _yaw(points) -> float:
    nose = points["nose_bridge"][-1][0]  # dlib 30
    left, right = points["chin"][0][0], points["chin"][-1][0]
    return ((nose - left) / (right - left) - 0.5) * 2


@pytest.fixture(scope="module")
def measured(photos):
    """Each photo performing all four actions in one take, measured frame by frame."""
    out = {}
    for i, (name, photo) in enumerate(photos.items()):
        frames = render_genuine(photo, ALL_ACTIONS, fps=FPS, size=SIZE, seed=i, natural_blinks=False)
        out[name] = figures(decode(encode_mp4(frames, fps=FPS)))
    return out


def _rest(series: np.ndarray) -> np.ndarray:
    """Resting figures: the first 0.8 s, before any action starts (the lead rest is >= 0.9 s)."""
    return np.nanmedian(series[: int(0.8 * FPS)], axis=0)


@pytest.mark.parametrize("name", PHOTOS)
def test_blink_closes_the_eyes_and_opens_them_again(measured, name):
    series = measured[name]
    rest = _rest(series)[0]
    ear = series[:, 0]
    closed = int(np.nanargmin(ear))
    assert ear[closed] < 0.7 * rest, f"EAR {ear[closed]:.3f} vs rest {rest:.3f}"
    # Open again straight after: the second after the blink rests near the resting EAR.
    after = np.nanmedian(ear[closed + int(0.3 * FPS) : closed + int(1.0 * FPS)])
    assert after > 0.85 * rest


@pytest.mark.parametrize("name", PHOTOS)
def test_open_mouth_raises_the_inner_lip_aspect_ratio(measured, name):
    series = measured[name]
    rest = _rest(series)[1]
    assert np.nanmax(series[:, 1]) - rest > 0.25


@pytest.mark.parametrize("name", PHOTOS)
def test_turns_move_the_nose_the_way_the_convention_says(measured, name):
    series = measured[name]
    shift = series[:, 2] - _rest(series)[2]
    # The take turns left, then right: split it where the turns change over.
    left_sign, right_sign = yaw_sign(Action.TURN_LEFT), yaw_sign(Action.TURN_RIGHT)
    left_peak = int(np.nanargmax(shift * left_sign))
    right_peak = int(np.nanargmax(shift * right_sign))
    assert shift[left_peak] * left_sign >= 0.35
    assert shift[right_peak] * right_sign >= 0.35
    assert left_peak < right_peak, "turn_left came second"


def test_the_actions_come_in_the_order_asked(measured):
    for name, series in measured.items():
        rest = _rest(series)
        blink = np.nanargmin(series[:, 0] / rest[0])
        mouth = np.nanargmax(series[:, 1])
        left = np.nanargmax((series[:, 2] - rest[2]) * yaw_sign(Action.TURN_LEFT))
        assert blink < mouth < left, name


@pytest.mark.parametrize("render", [render_still_photo_attack, render_print_attack])
def test_a_photo_held_up_never_changes_its_face(full_size_photos, render):
    for i, photo in enumerate(full_size_photos):
        name = photo.path.name
        frames = render(photo, seconds=3.0, fps=5, seed=i)
        series = figures(decode(encode_mp4(frames, fps=5)))
        assert np.isnan(series).any(axis=1).mean() < 0.1, "face lost"
        # dlib jitters frame to frame (more so on halftone dots); any action lasts several
        # frames, so a 3-frame running median keeps actions and drops the jitter.
        series = np.stack([np.nanmedian(series[max(0, k - 1) : k + 2], axis=0) for k in range(len(series))])
        rest = np.nanmedian(series, axis=0)
        ear, mar, yaw = series[:, 0], series[:, 1], series[:, 2]
        assert np.nanmax(np.abs(ear - rest[0])) <= 0.15 * rest[0], name
        # A closed mouth's MAR is near 0, where 15 % is under a pixel: allow 0.05 there.
        assert np.nanmax(np.abs(mar - rest[1])) <= max(0.15 * rest[1], 0.05), name
        assert np.nanmax(np.abs(yaw - rest[2])) <= 0.12, name


def test_takes_of_the_same_photo_differ(photos):
    photo = photos[PHOTOS[0]]
    one = np.stack(render_genuine(photo, [Action.BLINK], seconds=2.0, fps=FPS, size=160, seed=1))
    two = np.stack(render_genuine(photo, [Action.BLINK], seconds=2.0, fps=FPS, size=160, seed=2))
    again = np.stack(render_genuine(photo, [Action.BLINK], seconds=2.0, fps=FPS, size=160, seed=1))
    assert np.array_equal(one, again)
    assert np.abs(one.astype(int) - two).mean() > 3


def _periodic_peak(image: np.ndarray) -> float:
    """How far the strongest fine periodic texture (periods 2.5-7 px) stands above the rest of
    that band in a central patch's spectrum: a face has none, moiré and halftone do."""
    c = image.shape[0] // 2
    grey = image[c - 64 : c + 64, c - 64 : c + 64].astype(float).mean(axis=2)
    window = np.hanning(128)[:, None] * np.hanning(128)[None, :]
    spectrum = np.abs(np.fft.fft2((grey - grey.mean()) * window))
    f = np.fft.fftfreq(128)
    radius = np.hypot(f[:, None], f[None, :])
    band = spectrum[(radius > 0.14) & (radius < 0.4)]
    return float(band.max() / np.median(band))


def test_screen_replay_adds_fine_moire_to_every_frame(photos):
    frames = render_genuine(photos[PHOTOS[0]], [Action.BLINK], seconds=1.5, fps=FPS, size=SIZE, seed=3)
    filmed = render_screen_replay(frames, seed=3)
    assert len(filmed) == len(frames) and filmed[0].shape == frames[0].shape
    for before, after in zip(frames, filmed, strict=True):
        assert _periodic_peak(after) > 4 * _periodic_peak(before)


def test_print_attack_shows_halftone_dots(full_size_photos):
    frame = render_print_attack(full_size_photos[0], seconds=0.2, fps=5, seed=1)[0]
    genuine = render_genuine(full_size_photos[0], [], seconds=0.2, fps=5, seed=1)[0]
    assert _periodic_peak(frame) > 4 * _periodic_peak(genuine)


def test_two_people_are_both_in_the_frame_and_large(photos):
    frames = render_two_people(
        photos[PHOTOS[0]], photos[PHOTOS[1]], [Action.BLINK], seconds=2.0, fps=FPS, size=SIZE, seed=5
    )
    boxes = face_recognition.face_locations(frames[0], number_of_times_to_upsample=1)
    assert len(boxes) == 2
    for top, _, bottom, _ in boxes:
        assert bottom - top >= 0.35 * SIZE * 0.8  # the detector's box is ~80 % of the face's height


def test_encode_mp4_decodes_back_to_the_same_frames(photos):
    frames = render_genuine(photos[PHOTOS[0]], [Action.BLINK], seconds=2.0, fps=FPS, size=SIZE, seed=0)
    data = encode_mp4(frames, fps=FPS)
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.format.name == "yuv420p"
        assert container.streams.audio, "a video note has sound"
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video)]
    assert len(decoded) == len(frames)
    assert decoded[0].shape == (SIZE, SIZE, 3)
    assert np.abs(decoded[10].astype(int) - frames[10]).mean() < 6


def test_reencode_is_the_same_video_with_other_bytes(photos):
    frames = render_genuine(photos[PHOTOS[0]], [Action.BLINK], seconds=2.0, fps=FPS, size=SIZE, seed=0)
    data = encode_mp4(frames, fps=FPS)
    again = reencode(data)
    assert again != data
    decoded = decode(again)
    assert len(decoded) == len(frames)
    assert decoded[0].shape[0] == decoded[0].shape[1] < SIZE


def test_long_video_reads_as_a_minute():
    with av.open(io.BytesIO(long_video())) as container:
        assert container.duration / av.time_base >= 59
        assert container.streams.video


def test_audio_only_mp4_has_no_video_stream():
    with av.open(io.BytesIO(audio_only_mp4())) as container:
        assert not container.streams.video
        assert container.streams.audio


def test_zero_length_mp4_has_a_video_stream_and_no_frames():
    with av.open(io.BytesIO(zero_length_mp4())) as container:
        assert container.streams.video
        assert list(container.decode(video=0)) == []


def test_tiny_faces_are_refused(faces):
    with pytest.raises(ValueError, match="no usable face"):
        load_face_photo(faces / "people/amy/1.png")


def test_evaluation_set_labels_every_kind(faces):
    videos = list(evaluation_set(faces, identities=2, size=160, fps=8))
    kinds = {v.kind for v in videos}
    assert kinds == {
        "genuine",
        "still_photo",
        "print",
        "screen",
        "replay_exact",
        "replay_reencoded",
        "missing_action",
        "wrong_order",
        "real_clip",
    }
    genuine = {v.key: v for v in videos if v.kind == "genuine"}
    assert all(v.identity.startswith(("cn_", "jp_", "kr_")) for v in genuine.values())
    for video in videos:
        assert video.reference_photo.exists()
        if video.kind == "replay_exact":
            assert video.data == genuine[video.source].data
        elif video.kind in ("replay_reencoded", "screen"):
            assert video.source in genuine and video.data != genuine[video.source].data
        elif video.kind == "missing_action":
            assert len(video.asked) == 3 and len(video.performed) == 2
            assert set(video.performed) < set(video.asked)
        elif video.kind == "wrong_order":
            assert sorted(video.asked) == sorted(video.performed) and video.asked != video.performed
        elif video.kind == "genuine":
            assert video.asked == video.performed and 2 <= len(video.asked) <= 3
