"""Photos, stored once per content (their ref is the SHA-256 of their bytes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.store.tables import Compound, Inspection, Photo


@dataclass(frozen=True, slots=True)
class PhotoMeta:
    ref: str
    content_type: str
    size_bytes: int
    community_id: int | None
    uploaded_by: str


async def insert(
    *,
    ref: str,
    content_type: str,
    data: bytes,
    community_id: int | None,
    uploaded_by: str,
    now: datetime,
) -> bool:
    """Store the photo unless one with this ref is already there (then False, nothing written)."""
    rows = await (
        Photo.insert(
            Photo(
                photo_ref=ref,
                content_type=content_type,
                size_bytes=len(data),
                data=data,
                community_id=community_id,
                uploaded_by=uploaded_by,
                uploaded_at=now,
            )
        )
        .on_conflict(target=Photo.photo_ref, action="DO NOTHING")
        .returning(Photo.id)
    )
    return bool(rows)


async def meta(ref: str) -> PhotoMeta | None:
    row = await (
        Photo.select(
            Photo.photo_ref,
            Photo.content_type,
            Photo.size_bytes,
            Photo.community_id,
            Photo.uploaded_by,
        )
        .where(Photo.photo_ref == ref)
        .first()
    )
    if row is None:
        return None
    return PhotoMeta(
        ref=row["photo_ref"],
        content_type=row["content_type"],
        size_bytes=int(row["size_bytes"]),
        community_id=row["community_id"],
        uploaded_by=row["uploaded_by"],
    )


async def exists(ref: str) -> bool:
    return bool(await Photo.exists().where(Photo.photo_ref == ref))


async def uploaded_by(ref: str, username: str) -> bool:
    """Whether the photo is stored and was uploaded by this user."""
    return bool(await Photo.exists().where(Photo.photo_ref == ref, Photo.uploaded_by == username))


async def data(ref: str) -> bytes | None:
    row = await Photo.select(Photo.data).where(Photo.photo_ref == ref).first()
    return None if row is None else bytes(row["data"])


async def inspections_referencing(ref: str) -> list[tuple[int, int, int]]:
    """(household, compound, community) of every inspection that names the photo."""
    rows = await Inspection.select(
        Inspection.household, Inspection.compound, Inspection.community_id
    ).where(Inspection.photo_ref == ref)
    return [(int(row["household"]), int(row["compound"]), int(row["community_id"])) for row in rows]


async def communities_of_compounds(compound_ids: frozenset[int]) -> set[int]:
    if not compound_ids:
        return set()
    rows = await Compound.select(Compound.community).where(Compound.id.is_in(sorted(compound_ids)))
    return {int(row["community"]) for row in rows}


async def refs_of_inspections(inspection_ids: list[int]) -> dict[int, str]:
    """The photo refs of those inspections that have one (any non-empty photo_ref)."""
    if not inspection_ids:
        return {}
    rows = await Inspection.select(Inspection.id, Inspection.photo_ref).where(
        Inspection.id.is_in(sorted(set(inspection_ids))), Inspection.photo_ref != ""
    )
    return {int(row["id"]): str(row["photo_ref"]) for row in rows}
