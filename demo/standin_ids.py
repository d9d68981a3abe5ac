"""The demo's stand-in ids, going on where its last run stopped, as Telegram's do.

Telegram never hands a bot the same update id twice, nor the same message id twice in a chat,
and the bot relies on it: its inbox drops an update whose id it has stored, and a
certification attempt or an employer question is keyed by its chat and message id, so a
repeated id is taken for a delivery seen before (an answer given again without a look at the
new video, or no answer at all). The demo's stand-in keeps its chats in memory while the bot's
database stays in var/, so each start of the stand-in begins above every id the last one gave.

A small file holds a bound above every id handed out. Each start reserves a block of ids and
writes the next bound before any id is used: a crash wastes the rest of a block, it never lets
an id be given twice.
"""

from __future__ import annotations

from pathlib import Path

from app.settings import write_private_file

BLOCK = 1_000_000  # far more ids than one demo session uses
LAST_ID = 2**31 - 1  # message ids are 32-bit in the Bot API: about 2,000 starts


class IdsUsedUp(RuntimeError):
    """The bound cannot be read, or no block is left: the demo's var/ must start afresh."""


def reserve_first_id(path: Path, block: int = BLOCK) -> int:
    """The first id of a new block, the bound above it written first. Without a file the
    block starts at `block`: above the ids of runs from before the file existed, which began
    at 1."""
    try:
        first = int(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        first = block
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise IdsUsedUp(f"{path} cannot be read ({type(error).__name__})") from error
    if first < 1 or first + block > LAST_ID:
        raise IdsUsedUp(f"{path} holds no usable bound ({first})")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Whole and on disk before any id is used: a torn or lost bound would hand out ids again.
    write_private_file(path, f"{first + block}\n", replace=True)
    return first
