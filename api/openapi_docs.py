"""Touches to the OpenAPI document that Litestar cannot infer from a handler's signature."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType


def also_answers(*media_types: str) -> type[Operation]:
    """An operation class whose 200 reply also lists `media_types`, for handlers that answer
    in another format by `?format=`, `Accept` or the file extension (CSV, PNG): a client, or
    schemathesis, then finds every content type it can receive documented."""

    @dataclass
    class AlsoAnswers(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if not isinstance(ok, OpenAPIResponse):
                return
            content = ok.content if ok.content is not None else {}
            for media_type in media_types:
                binary = not media_type.startswith("text/")
                schema = Schema(
                    type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY if binary else None
                )
                content.setdefault(media_type, OpenAPIMediaType(schema=schema))
            ok.content = content

    return AlsoAnswers
