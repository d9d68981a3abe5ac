"""Where the shared data beside a checkout is found: `../shared/faces` (real face photos) and
`../shared/liveness/real` (real recordings of people doing challenge actions). Neither is part
of the project or ever copied into it; commands, the demo and the tests read them at run time,
and say so plainly where they are absent. The environment may name other folders."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def faces_dir() -> Path:
    """$PENSION_BOT_FACES_DIR, else ../shared/faces beside the repository."""
    return Path(os.environ.get("PENSION_BOT_FACES_DIR") or SHARED / "faces")


def real_clips_dir() -> Path:
    """$PENSION_BOT_LIVENESS_DIR/real, else ../shared/liveness/real beside the repository."""
    return Path(os.environ.get("PENSION_BOT_LIVENESS_DIR") or SHARED / "liveness") / "real"


def real_clips_missing(folder: Path) -> str:
    """One line for where the real recordings are needed and not found."""
    return (
        f"no real recordings at {folder} (the labelled clips of ../shared/liveness/real; "
        "set PENSION_BOT_LIVENESS_DIR to the folder that holds real/)"
    )
