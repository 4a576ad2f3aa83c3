"""File names for downloads: a plain ASCII `filename` every client understands, and the real
(Chinese) name as RFC 5987 `filename*`, which browsers prefer when they read it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from litestar import Request, Response

# What no file system or header takes: path separators, quotes, wildcards, control characters.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"*/:<>?\\|;]+')
_NOT_ASCII_NAME = re.compile(r"[^A-Za-z0-9._-]+")
NAME_LENGTH_MAX = 120


def content_disposition(ascii_name: str, name: str) -> str:
    """`attachment; filename="…"; filename*=UTF-8''…` (the second only when it differs)."""
    fallback = _NOT_ASCII_NAME.sub("-", ascii_name).strip("-.") or "download"
    header = f'attachment; filename="{fallback[:NAME_LENGTH_MAX]}"'
    real = " ".join(_UNSAFE.sub(" ", name).split())[:NAME_LENGTH_MAX].strip(" .")
    if real and real != fallback:
        header += f"; filename*=UTF-8''{quote(real, safe='')}"
    return header


def wants_csv(request: Request[Any, Any, Any], format: str | None) -> bool:
    """`?format=csv`, or no `format` and `Accept: text/csv`."""
    return format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))


def csv_download(text: str, ascii_name: str, name: str) -> Response[str]:
    """A spreadsheet to save as `name` (`ascii_name` for clients that read no other)."""
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(ascii_name, name)},
    )
