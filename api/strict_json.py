"""JSON bodies are decoded strictly: "5" is not a number of points.

Litestar converts request data leniently (msgspec `strict=False`, right for query strings), which
would accept `"amount_points": "5"`. This hook decodes the raw JSON body once more, strictly,
against the handler's own `data` type, before the handler runs.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    if request.method not in ("POST", "PUT", "PATCH") or not request.url.path.startswith("/api/"):
        return
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None or not isinstance(data.annotation, type):
        return
    if not issubclass(data.annotation, msgspec.Struct):
        return
    try:
        msgspec.json.decode(await request.body(), type=data.annotation)
    except msgspec.ValidationError as error:
        raise ValidationException(
            "Validation failed", extra=[{"message": str(error), "key": "data", "source": "body"}]
        ) from error
    except msgspec.DecodeError:
        return  # malformed JSON: Litestar's own decoding reports it
