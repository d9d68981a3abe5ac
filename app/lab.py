"""The liveness lab (`liveness_lab/`, beside the installed packages in a checkout of the
project) for the two commands that measure with it: `pension-bot eval liveness` and
`bench liveness`. The lab renders attacks (one photo animated into a video note doing actions,
and others) and is never installed; nothing else in the product imports it."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

CHECKOUT = Path(__file__).resolve().parents[1]


class LabMissing(RuntimeError):
    """The lab is not there: an installed copy, not a checkout of the project."""


def lab_module(name: str) -> ModuleType:
    """`liveness_lab.<name>`, from this checkout; LabMissing says, in one line, what is needed."""
    if importlib.util.find_spec("liveness_lab") is None:
        if not (CHECKOUT / "liveness_lab" / "__init__.py").is_file():
            raise LabMissing(
                "this command needs a checkout of the project: it measures with liveness_lab/ "
                "(the attack renderer for evaluation), which is never installed"
            )
        # After the installed packages: the lab's folder holds nothing else they could shadow.
        sys.path.append(str(CHECKOUT))
    return importlib.import_module(f"liveness_lab.{name}")
