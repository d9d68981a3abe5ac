"""Which actions a video note shows, and when: events in the per-frame signals.

Every figure is measured against the same video's own resting value (its median), since
eye and mouth shapes differ from face to face: a blink is the eyes closing to well under
their usual opening and opening again, a mouth opening is the inner lips parting clearly,
a turn is the nose moving towards one side of the face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from verification.liveness.actions import Action, yaw_sign
from verification.liveness.signals import FrameSignals


@dataclass(frozen=True)
class EventThresholds:
    # Blink: the eye aspect ratio under this share of its resting value (the eyes at least
    # 30 % shut: the real recordings' blinks reach 0.33-0.61; landmarks jittering on a photo
    # held up reached 0.78, which 0.8 let through)...
    blink_drop: float = 0.7
    # ...then back above this share within `blink_max_s` (eyes shut for longer is no blink).
    blink_recover: float = 0.9
    blink_max_s: float = 1.5
    # A turned head narrows the eyes in the picture: only near-frontal frames count for a blink.
    blink_max_yaw: float = 0.25
    # Mouth: the inner-lip opening (per mouth width) this much above its resting value; a
    # closed mouth is ~0.0-0.05, speaking ~0.1-0.2, a deliberately opened one 0.3 and more.
    mouth_rise: float = 0.2
    # Turn: the nose this far (as a share of half the face width) from its resting place
    # towards the side asked; 0.25 is a turn of about 15 degrees, less than an elderly person
    # asked to "turn the head" does (generated turns measure 0.40-0.63), and far above the
    # 0.12 a photo held up and tilted reaches.
    turn_shift: float = 0.25


@dataclass(frozen=True)
class Baseline:
    ear: float
    mar: float
    yaw: float


@dataclass(frozen=True)
class Event:
    action: Action
    start_s: float
    peak_s: float  # the time reported for it
    figure: float  # blink: lowest EAR / resting; mouth: MAR rise; turn: yaw shift (signed)


@dataclass(frozen=True)
class Match:
    """The asked actions against the events: the event matched to each (in the asked order,
    each after the previous one's), or None."""

    matched: tuple[Event | None, ...]

    @property
    def complete(self) -> bool:
        return all(event is not None for event in self.matched)


def baseline(signals: Sequence[FrameSignals]) -> Baseline:
    """Median values over the frames with a face: the face at rest, since actions are brief."""
    faces = [s for s in signals if s.has_face]
    return Baseline(
        float(np.median([s.ear for s in faces])),
        float(np.median([s.mar for s in faces])),
        float(np.median([s.yaw for s in faces])),
    )


def find_events(
    signals: Sequence[FrameSignals], rest: Baseline, thresholds: EventThresholds, mirrored: bool
) -> list[Event]:
    """Every event of every action kind, in time order."""
    t = thresholds
    faces = [s for s in signals if s.has_face]
    times = [s.time for s in faces]
    ear = np.array([s.ear for s in faces]) / max(rest.ear, 1e-6)
    mar = np.array([s.mar for s in faces]) - rest.mar
    yaw = np.array([s.yaw for s in faces]) - rest.yaw
    frontal = np.abs(yaw) <= t.blink_max_yaw
    events: list[Event] = []
    for start, end in _runs((ear < t.blink_drop) & frontal):
        # A blink must be seen ending: the eyes open again soon after they closed.
        after = next((n for n in range(end, len(faces)) if ear[n] >= t.blink_recover), None)
        if after is not None and times[after] - times[start] <= t.blink_max_s:
            low = start + int(np.argmin(ear[start:end]))
            events.append(Event(Action.BLINK, times[start], times[low], round(float(ear[low]), 3)))
    for start, end in _runs(mar >= t.mouth_rise):
        high = start + int(np.argmax(mar[start:end]))
        events.append(Event(Action.OPEN_MOUTH, times[start], times[high], round(float(mar[high]), 3)))
    for action in (Action.TURN_LEFT, Action.TURN_RIGHT):
        towards = yaw * yaw_sign(action, mirrored)
        for start, end in _runs(towards >= t.turn_shift):
            far = start + int(np.argmax(towards[start:end]))
            events.append(Event(action, times[start], times[far], round(float(yaw[far]), 3)))
    return sorted(events, key=lambda event: event.start_s)


def match_in_order(asked: Sequence[Action], events: Sequence[Event]) -> Match:
    """Greedy in time: each asked action takes the first event of its kind that starts after
    the previous asked action's event. Blinks happen naturally at any moment, so an extra
    event is never held against the person; only the asked ones must come in order."""
    matched: list[Event | None] = []
    after = -1.0
    for action in asked:
        event = next((e for e in events if e.action is action and e.start_s > after), None)
        matched.append(event)
        if event is not None:
            after = event.start_s
    return Match(tuple(matched))


def strongest(
    action: Action, signals: Sequence[FrameSignals], rest: Baseline, mirrored: bool
) -> float | None:
    """The figure the action came closest to (for a finding when it was not seen)."""
    faces = [s for s in signals if s.has_face]
    if not faces:
        return None
    # Every frame in `faces` has landmarks, so each measures its ear, mar and yaw (not None).
    if action is Action.BLINK:
        return round(min(s.ear for s in faces if s.ear is not None) / max(rest.ear, 1e-6), 3)
    if action is Action.OPEN_MOUTH:
        return round(max(s.mar for s in faces if s.mar is not None) - rest.mar, 3)
    sign = yaw_sign(action, mirrored)
    return round(max((s.yaw - rest.yaw) * sign for s in faces if s.yaw is not None) * sign, 3)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of the runs of True, end exclusive."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
