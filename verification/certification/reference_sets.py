"""What one face check compares with: the retiree's references, and the region's cohort."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.protection import PersonalDataVault
from storage.uow import UnitOfWork
from verification.faces.pipeline import ReferenceTemplate
from verification.faces.scoring import quality_weight


@dataclass(frozen=True)
class ReferenceSet:
    templates: list[ReferenceTemplate]
    weights: list[float]  # quality weight of each reference (verification.faces.scoring)
    cohort: np.ndarray | None  # other retirees' templates of the same region and engine


async def load_reference_set(
    uow: UnitOfWork, vault: PersonalDataVault, retiree_id: int, cohort_size: int
) -> ReferenceSet:
    """Every reference of the retiree (the roster photo, and any enrolled by staff), each
    weighted by its quality, and the cohort for score normalisation: the newest template of up
    to `cohort_size` other retirees of the same residence region, same engine (0: none)."""
    rows = list(await uow.faces.references(retiree_id))
    templates = [
        ReferenceTemplate(
            vault.decrypt(row.template_encrypted), row.engine, row.quality.get("engine_version", "")
        )
        for row in rows
    ]
    weights = [quality_weight(row.quality or {}) for row in rows]
    cohort = await _cohort(uow, vault, retiree_id, rows[-1].engine, cohort_size) if cohort_size else None
    return ReferenceSet(templates, weights, cohort)


async def _cohort(
    uow: UnitOfWork, vault: PersonalDataVault, retiree_id: int, engine: str, size: int
) -> np.ndarray | None:
    region = (await uow.retirees.existing(retiree_id)).residence_region  # it has reference faces
    # `size * 3` rows: a few retirees have several references.
    rows = await uow.faces.newest_of_region(region, engine, excluding=retiree_id, limit=size * 3)
    seen: set[int] = set()
    vectors = []
    for other, encrypted in rows:
        if other in seen:
            continue
        seen.add(other)
        vectors.append(np.frombuffer(vault.decrypt(encrypted), dtype="<f4"))
        if len(vectors) == size:
            break
    if not vectors or len({v.size for v in vectors}) != 1:
        return None
    # A region with fewer retirees than the pipeline's minimum cohort is still sent: the
    # pipeline then decides on the raw score (see VerifyPolicy.min_cohort) and says so.
    return np.vstack(vectors)
