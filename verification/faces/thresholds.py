"""Calibrated match thresholds, per engine (vector space), read at start-up.

Two files, the second overriding the first engine by engine:

* `verification/data/face_thresholds.toml`, shipped: the values chosen for the default dlib
  engine on the shared faces (held-out split, see that file);
* the file named by FACE_THRESHOLDS_FILE (default `<VAR_DIR>/face_thresholds.toml`), written
  by `pension-bot calibrate` on the agency's own labelled photos, and the only place an ONNX
  model's thresholds can come from (no model ships, so no threshold for one does either).

Each engine has a threshold on the raw score and one on the S-norm score (a different scale),
each with the FMR it was chosen for and the FMR/FNMR it gave when calibrated.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: loading them costs start-up time
    from verification.faces.engines import EngineSpec
    from verification.faces.pipeline import VerifyPolicy

SHIPPED_FILE = Path(__file__).resolve().parents[1] / "data" / "face_thresholds.toml"


class ThresholdsError(ValueError):
    """A thresholds file is malformed, or has no threshold for the engine in use."""


@dataclass(frozen=True)
class Calibrated:
    threshold: float
    target_fmr: float | None = None
    fmr: float | None = None  # on the pairs it was chosen on
    fnmr: float | None = None
    heldout_fmr: float | None = None  # on identities kept out of the choice, where there were
    heldout_fnmr: float | None = None


@dataclass(frozen=True)
class EngineThresholds:
    engine: str  # FaceEngine.name
    higher_is_closer: bool
    raw: Calibrated
    snorm: Calibrated | None = None
    min_cohort: int | None = None  # cohort size below which S-norm is not used
    details: dict[str, Any] = field(default_factory=dict)  # when, on what data: for people
    source: str = ""  # the file it was read from


def load_thresholds(path: Path | None = None) -> dict[str, EngineThresholds]:
    """Shipped thresholds, overridden engine by engine by those in `path` (when it exists)."""
    found = _read(SHIPPED_FILE)
    if path is not None and Path(path).is_file():
        found |= _read(Path(path))
    return found


def thresholds_for(engine: str, path: Path | None = None) -> EngineThresholds:
    found = load_thresholds(path)
    if engine not in found:
        where = f"{SHIPPED_FILE}" + (f" or {path}" if path else "")
        raise ThresholdsError(
            f"no calibrated threshold for face engine {engine!r} in {where}: run `pension-bot calibrate` "
            "on labelled photos first (an engine without one would guess)"
        )
    return found[engine]


def write_thresholds(path: Path, entry: EngineThresholds) -> None:
    """Set `entry.engine`'s thresholds in `path`, keeping the other engines there."""
    path = Path(path)
    entries = _read(path) if path.is_file() else {}
    entries[entry.engine] = entry
    text = _HEADER + "".join(_format_entry(e) for _, e in sorted(entries.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)  # readers see the old file or the new one, never half of one


_HEADER = (
    "# Face match thresholds per engine, written by `pension-bot calibrate` (read at start-up).\n"
    "# raw: threshold on the engine's own score; snorm: on the cohort-normalised score.\n"
    "# fmr/fnmr: on the pairs the threshold was chosen on; heldout_*: on identities kept out.\n"
)


def _read(path: Path) -> dict[str, EngineThresholds]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ThresholdsError(f"cannot read face thresholds from {path}: {error}") from error
    engines = data.get("engines", {})
    if not isinstance(engines, dict):
        raise ThresholdsError(f"{path}: [engines] must be a table")
    return {name: _entry(name, table, path) for name, table in engines.items()}


def _entry(name: str, table: dict[str, Any], path: Path) -> EngineThresholds:
    try:
        raw = _calibrated(table["raw"])
        snorm = _calibrated(table["snorm"]) if "snorm" in table else None
        higher = table["higher_is_closer"]
        if not isinstance(higher, bool):
            raise TypeError("higher_is_closer must be true or false")
        min_cohort = table.get("min_cohort")
        if min_cohort is not None and (not isinstance(min_cohort, int) or min_cohort < 2):
            raise TypeError("min_cohort must be an integer of at least 2")
    except (KeyError, TypeError, ValueError) as error:
        raise ThresholdsError(f"{path}: engine {name!r}: {error}") from error
    details = dict(table.get("calibration", {}))
    return EngineThresholds(name, higher, raw, snorm, min_cohort, details, str(path))


def _calibrated(table: dict[str, Any]) -> Calibrated:
    values = {}
    for key in ("threshold", "target_fmr", "fmr", "fnmr", "heldout_fmr", "heldout_fnmr"):
        value = table.get(key)
        if value is None:
            if key == "threshold":
                raise KeyError("threshold")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise TypeError(f"{key} must be a finite number")
        values[key] = float(value)
    return Calibrated(**values)


def _format_entry(entry: EngineThresholds) -> str:
    head = f'\n[engines."{entry.engine}"]\nhigher_is_closer = {str(entry.higher_is_closer).lower()}\n'
    if entry.min_cohort is not None:
        head += f"min_cohort = {entry.min_cohort}\n"
    parts = [head, _format_table(entry.engine, "raw", entry.raw)]
    if entry.snorm is not None:
        parts.append(_format_table(entry.engine, "snorm", entry.snorm))
    if entry.details:
        lines = "".join(f"{key} = {_toml_value(value)}\n" for key, value in entry.details.items())
        parts.append(f'\n[engines."{entry.engine}".calibration]\n{lines}')
    return "".join(parts)


def _format_table(engine: str, name: str, values: Calibrated) -> str:
    lines = "".join(
        f"{key} = {_toml_value(value)}\n" for key, value in vars(values).items() if value is not None
    )
    return f'\n[engines."{engine}".{name}]\n{lines}'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{text}"'


def with_heldout(values: Calibrated, fmr: float | None, fnmr: float | None) -> Calibrated:
    return replace(values, heldout_fmr=fmr, heldout_fnmr=fnmr)


def policy_for(entry: EngineThresholds, **overrides: Any) -> VerifyPolicy:
    """The `VerifyPolicy` these calibrated thresholds give (media/quality limits as default)."""
    from verification.faces.pipeline import VerifyPolicy
    from verification.faces.scoring import MIN_COHORT

    values: dict[str, Any] = {
        "match_threshold": entry.raw.threshold,
        "engine": entry.engine,
        "snorm_threshold": entry.snorm.threshold if entry.snorm is not None else None,
        "min_cohort": entry.min_cohort or MIN_COHORT,
    }
    return VerifyPolicy(**(values | overrides))


def configured_policy(spec: EngineSpec, thresholds_file: Path | None = None) -> VerifyPolicy:
    """The policy for the configured engine (`verification.faces.engines.EngineSpec`), read at
    start-up: raises ThresholdsError when that engine has no calibrated threshold, or when it
    was calibrated with another number of dlib jitters (averaging re-encodings pulls genuine
    and impostor distances together: 0.45 lets 2 % of East Asian impostors through with 10
    jitters against 1 % with one)."""
    entry = thresholds_for(spec.vector_space(), thresholds_file)
    jitters = entry.details.get("dlib_jitters")
    if spec.kind == "dlib" and jitters is not None and int(jitters) != spec.dlib_jitters:
        raise ThresholdsError(
            f"the thresholds for {entry.engine} in {entry.source} were calibrated with {jitters} dlib "
            f"jitter(s), FACE_DLIB_JITTERS is {spec.dlib_jitters}: run `pension-bot calibrate "
            f"--jitters {spec.dlib_jitters}` first"
        )
    return policy_for(entry)
