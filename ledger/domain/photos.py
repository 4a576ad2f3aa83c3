"""Inspection photos: what is accepted, and how a photo is named (pure; no I/O).

A photo is named by its content: `sha256:<64 hex>` of its bytes. The same bytes always get the
same ref, so an upload that is sent again (an offline phone retrying) names the photo it
already stored, and a ref can never point at different bytes later.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ledger.domain.errors import InvalidInput, LedgerError

PHOTO_BYTES_MAX = 2 * 1024 * 1024
PHOTO_LIMIT_TEXT = "2 MiB (2,097,152 bytes)"
REF_PREFIX = "sha256:"
REF_PATTERN = r"^sha256:[0-9a-f]{64}$"
_REF = re.compile(REF_PATTERN)
JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
ACCEPTED_TYPES = (JPEG, PNG, WEBP)
_NAMES = {JPEG: "a JPEG", PNG: "a PNG", WEBP: "a WebP"}


class PhotoTooLarge(LedgerError):
    """A photo above the size limit; the client should shrink it and send it again."""

    code = "body_too_large"


class UnsupportedPhoto(LedgerError):
    """Bytes that are not a JPEG, PNG or WebP image, or not the type the client declared."""

    code = "unsupported_media_type"


@dataclass(frozen=True, slots=True)
class CheckedPhoto:
    ref: str
    content_type: str
    size_bytes: int


def sniff(data: bytes) -> str | None:
    """The image type by its magic bytes, or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def ref_of(data: bytes) -> str:
    return REF_PREFIX + hashlib.sha256(data).hexdigest()


def is_photo_ref(text: str) -> bool:
    """A ref in this system's own form (other refs are free text kept as given)."""
    return text.startswith(REF_PREFIX)


def check_ref(text: str, field: str = "ref") -> str:
    if not _REF.match(text):
        raise InvalidInput(field, "a photo ref looks like sha256: and 64 lowercase hex digits")
    return text


def check_photo(data: bytes, declared_type: str | None) -> CheckedPhoto:
    """Refuse an empty, oversized or non-image body; the type is taken from the bytes.

    `declared_type` is the client's Content-Type (parameters stripped): an image type that
    disagrees with the bytes is refused, so a mislabelled upload is noticed, not guessed at.
    """
    if not data:
        raise InvalidInput("body", "the photo is empty: send the image's bytes as the body")
    if len(data) > PHOTO_BYTES_MAX:
        raise PhotoTooLarge(
            f"the photo is {len(data):,} bytes; the limit is {PHOTO_LIMIT_TEXT}: shrink it "
            "(for example to 1280 px on the long side) and send it again",
            limit_bytes=PHOTO_BYTES_MAX,
        )
    found = sniff(data)
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    if found is None:
        raise UnsupportedPhoto(
            "the body is not a JPEG, PNG or WebP image (checked by its first bytes)",
            accepted=list(ACCEPTED_TYPES),
        )
    if declared in ACCEPTED_TYPES and declared != found:
        raise UnsupportedPhoto(
            f"the body is {_NAMES[found]} image but was sent as {declared}",
            accepted=list(ACCEPTED_TYPES),
        )
    if declared not in (*ACCEPTED_TYPES, "", "application/octet-stream"):
        raise UnsupportedPhoto(
            f"Content-Type {declared} is not an accepted image type ({', '.join(ACCEPTED_TYPES)})",
            accepted=list(ACCEPTED_TYPES),
        )
    return CheckedPhoto(ref=ref_of(data), content_type=found, size_bytes=len(data))
