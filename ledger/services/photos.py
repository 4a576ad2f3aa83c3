"""Inspection photos: stored once per content, read by the people the grade concerns.

Who may upload: inspectors, coordinators and admins. Who may read a photo: an admin; its
uploader; a coordinator of its community (the uploader's, or that of an inspection naming it);
a member of a household whose inspection names it (the evidence of a grade they may appeal).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.domain.access import Principal, Role
from ledger.domain.errors import Forbidden, NotFound, OutOfScope
from ledger.domain.photos import CheckedPhoto, check_photo, check_ref, is_photo_ref
from ledger.ports import Clock
from ledger.store import photos as store
from ledger.store.engine import Database, is_unique_violation

UPLOADERS = frozenset({Role.INSPECTOR, Role.COORDINATOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    ref: str
    content_type: str
    size_bytes: int
    created: bool  # False: these bytes were already stored, nothing was written


@dataclass(frozen=True, slots=True)
class PhotoFile:
    ref: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Photos:
    db: Database
    clock: Clock

    async def store(self, actor: Principal, data: bytes, content_type: str | None) -> StoredPhoto:
        """Validate and keep the photo; the same bytes again return the same ref, unwritten."""
        if actor.role not in UPLOADERS:
            raise Forbidden("only inspectors, coordinators and admins upload photos")
        checked = check_photo(data, content_type)
        if await store.exists(checked.ref):
            return _stored(checked, created=False)
        communities = await store.communities_of_compounds(actor.compound_ids)
        community_id = next(iter(communities)) if len(communities) == 1 else None
        try:
            async with self.db.write():
                created = await store.insert(
                    ref=checked.ref,
                    content_type=checked.content_type,
                    data=data,
                    community_id=community_id,
                    uploaded_by=actor.username,
                    now=self.clock.now(),
                )
        except Exception as error:
            # The same bytes committed by another request in between: the photo is stored.
            if not is_unique_violation(error):
                raise
            created = False
        return _stored(checked, created=created)

    async def read(self, viewer: Principal, ref: str) -> PhotoFile:
        check_ref(ref)
        meta = await store.meta(ref)
        if meta is None:
            raise NotFound("photo", ref)
        await _check_reader(viewer, meta)
        data = await store.data(ref)
        if data is None:  # append-only: a photo found a moment ago is still there
            raise NotFound("photo", ref)
        return PhotoFile(ref=meta.ref, content_type=meta.content_type, data=data)

    async def refs_of_inspections(self, inspection_ids: list[int]) -> dict[int, str]:
        """Stored photos of these inspections, by inspection id (for pages listing grades)."""
        refs = await store.refs_of_inspections(inspection_ids)
        return {key: ref for key, ref in refs.items() if is_photo_ref(ref)}


def _stored(checked: CheckedPhoto, *, created: bool) -> StoredPhoto:
    return StoredPhoto(
        ref=checked.ref,
        content_type=checked.content_type,
        size_bytes=checked.size_bytes,
        created=created,
    )


async def _check_reader(viewer: Principal, meta: store.PhotoMeta) -> None:
    if viewer.role is Role.ADMIN or meta.uploaded_by == viewer.username:
        return
    naming = await store.inspections_referencing(meta.ref)
    if viewer.household_id is not None and any(
        household == viewer.household_id for household, _, _ in naming
    ):
        return
    if viewer.role is Role.COORDINATOR:
        mine = await store.communities_of_compounds(viewer.compound_ids)
        theirs = {community for _, _, community in naming}
        if meta.community_id is not None:
            theirs.add(meta.community_id)
        if mine & theirs:
            return
        raise OutOfScope("this photo belongs to another community")
    raise Forbidden(
        "a photo is seen by staff of its community, its uploader and the graded household"
    )
