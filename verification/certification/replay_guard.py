"""Media seen before is refused: a video note (or photo) is fingerprinted when it arrives and
compared with every earlier submission, by anyone.

Two checks: the SHA-256 of the bytes (the very same file sent again), and the fingerprint
of its frames (the same recording re-encoded, rescaled or cropped a little), found through
the band index of the frames' perceptual hashes and confirmed by `same_recording`: most
frames alike at one time offset, with the same motion. A new take of the same person in the
same room may look alike frame by frame, but does not move the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.models.liveness import MediaFingerprint
from storage.uow import UnitOfWork
from verification.liveness.fingerprints import Recording, band_keys, same_recording


@dataclass(frozen=True)
class SeenBefore:
    how: str  # "exact" | "similar"
    retiree_id: int | None  # whose submission it was (None once their data was deleted)
    attempt_id: int | None


def _bands(frame_hashes: Sequence[int]) -> list[tuple[int, int]]:
    return [(band, value) for h in frame_hashes for band, value in enumerate(band_keys(h))]


async def seen_exactly(uow: UnitOfWork, sha256: str) -> SeenBefore | None:
    earlier = await uow.fingerprints.by_sha256(sha256)
    return None if earlier is None else SeenBefore("exact", earlier.retiree_id, earlier.attempt_id)


async def seen_similar(uow: UnitOfWork, kind: str, recording: Recording) -> SeenBefore | None:
    if not recording.hashes:
        return None
    for earlier in await uow.fingerprints.sharing_a_band(kind, _bands(recording.hashes)):
        if same_recording(recording, Recording.from_json(earlier.recording)):
            return SeenBefore("similar", earlier.retiree_id, earlier.attempt_id)
    return None


async def remember(
    uow: UnitOfWork,
    *,
    kind: str,
    sha256: str,
    recording: Recording,
    retiree_id: int | None,
    attempt_id: int | None,
) -> None:
    fingerprint = MediaFingerprint(
        sha256=sha256,
        kind=kind,
        retiree_id=retiree_id,
        attempt_id=attempt_id,
        recording=recording.to_json(),
    )
    await uow.fingerprints.add(fingerprint, _bands(recording.hashes))
