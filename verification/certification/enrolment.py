"""Reference faces: encoded from the roster's reference photos after each import, and
re-enrolled only by staff. Templates are stored encrypted; a photo that cannot serve (no
face, several faces, not an image, missing) is reported by name, never skipped silently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kernel.idnumber import mask_id_number
from kernel.regions import covers
from storage.models.certification import AuditEntry, ReferenceFace
from storage.protection import PersonalDataVault
from storage.uow import UnitOfWorkFactory
from verification.certification.attempts import plain_figures
from verification.faces.pipeline import ReferenceResult


class FaceEncoder(Protocol):
    async def encode_reference(self, image_bytes: bytes) -> ReferenceResult: ...


@dataclass(frozen=True)
class EnrolmentProblem:
    retiree_id: int
    name: str = field(repr=False)
    masked_id_number: str = field(repr=False)
    reason: str  # "photo_missing" or a face reason code (no_face, several_faces, ...)


@dataclass
class EnrolmentReport:
    enrolled: int = 0
    problems: list[EnrolmentProblem] = field(default_factory=list)


class ReferenceEnrolment:
    def __init__(self, uow_factory: UnitOfWorkFactory, vault: PersonalDataVault, faces: FaceEncoder) -> None:
        self._uow_factory = uow_factory
        self._vault = vault
        self._faces = faces

    async def enrol_missing(self, progress: Callable[[int], None] | None = None) -> EnrolmentReport:
        """Encode the roster photo of every retiree who has one and no reference face yet."""
        async with self._uow_factory() as uow:
            waiting = await uow.faces.retirees_waiting()
        report = EnrolmentReport()
        for retiree_id in waiting:
            problem = await self._enrol_one(retiree_id, source="roster", actor="system")
            if problem:
                report.problems.append(problem)
            else:
                report.enrolled += 1
            if progress:
                progress(1)
        return report

    async def enrol_by_staff(self, staff_number: str, id_number: str, photo: bytes) -> str:
        """Replace a retiree's reference faces with a photo taken or checked by staff in person.

        Returns "enrolled", "unknown_staff", "unknown_retiree", "not_your_region", or the
        reason the photo cannot serve (no_face, several_faces, ...)."""
        async with self._uow_factory() as uow:
            staff = await uow.staff.by_number(staff_number)
            retiree = await uow.retirees.by_id_hash(self._vault.lookup_hash(id_number))
            if staff is None or not staff.active:
                return "unknown_staff"
            if retiree is None:
                return "unknown_retiree"
            if not covers(staff.region_code, retiree.residence_region):
                return "not_your_region"
            retiree_id, actor = retiree.id, f"staff:{staff.id}"
        problem = await self._enrol_one(retiree_id, source="staff", actor=actor, photo=photo, replace=True)
        return problem.reason if problem else "enrolled"

    async def _enrol_one(
        self, retiree_id: int, *, source: str, actor: str, photo: bytes | None = None, replace: bool = False
    ) -> EnrolmentProblem | None:
        async with self._uow_factory() as uow:
            retiree = await uow.retirees.existing(retiree_id)  # from the roster, or found by staff
            name, masked = retiree.name, mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted))
            path = Path(retiree.reference_photo_path) if retiree.reference_photo_path else None
        if photo is None:
            if path is None or not path.is_file():
                return EnrolmentProblem(retiree_id, name, masked, "photo_missing")
            photo = path.read_bytes()
        result = await self._faces.encode_reference(photo)
        template = result.template
        if template is None:  # not result.ok
            return EnrolmentProblem(retiree_id, name, masked, str(result.reason))
        async with self._uow_factory() as uow:
            if replace:
                await uow.faces.delete_for_retiree(retiree_id)
            uow.faces.add(
                ReferenceFace(
                    retiree_id=retiree_id,
                    template_encrypted=self._vault.encrypt(template.vector),
                    engine=template.engine,
                    source=source,
                    quality={
                        "engine_version": template.engine_version,
                        **plain_figures(result.quality),
                    },
                    created_by=actor,
                )
            )
            uow.audit.add(
                AuditEntry(
                    actor=actor, action="reference_enrolled", retiree_id=retiree_id, detail={"source": source}
                )
            )
            await uow.commit()
        return None


def _plain(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (float(value) if isinstance(value, int | float) else value) for key, value in figures.items()
    }
