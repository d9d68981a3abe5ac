"""The actions a challenge may ask for, and which way "left" is in a video note."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    BLINK = "blink"
    TURN_LEFT = "turn_left"  # the person's own left
    TURN_RIGHT = "turn_right"
    OPEN_MOUTH = "open_mouth"


# Telegram records a round video note from the front camera as the person saw it while
# recording, like a mirror: their own left is on the image's left. A phone that stores the
# video unmirrored flips both turns; the policy can say so (LivenessPolicy.mirrored).
MIRRORED = True


def yaw_sign(action: Action, mirrored: bool = MIRRORED) -> int:
    """Which way the nose moves across the image for a turn: -1 towards the image's left
    edge, +1 towards its right edge; 0 for actions that are not turns.

    Yaw figures everywhere in this package are "nose offset from the face's midline, as a
    fraction of half the face width, positive towards the image's right"."""
    if action is Action.TURN_LEFT:
        return -1 if mirrored else 1
    if action is Action.TURN_RIGHT:
        return 1 if mirrored else -1
    return 0


def parse_actions(text: str) -> list[Action]:
    """ "blink,turn_left" -> [Action.BLINK, Action.TURN_LEFT]; ValueError names a bad one."""
    actions = []
    for word in (part.strip() for part in text.split(",")):
        if not word:
            continue
        try:
            actions.append(Action(word))
        except ValueError:
            known = ", ".join(a.value for a in Action)
            raise ValueError(f"unknown action {word!r} (known: {known})") from None
    if not actions:
        raise ValueError("no action given")
    return actions
