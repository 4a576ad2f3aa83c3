"""Inspection photos: upload the bytes, then name the returned ref in a grade's `photo_ref`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.deps import PrincipalDep, ServicesDep
from api.errors import PHOTO_ERROR_RESPONSES
from api.openapi_docs import also_answers
from api.schemas import PhotoReply
from api.security import ANY_ROLE, requires
from ledger.domain.access import Role
from ledger.domain.photos import ACCEPTED_TYPES, PHOTO_BYTES_MAX, REF_PATTERN

PhotoRef = Annotated[
    str,
    PathParameter(
        pattern=REF_PATTERN, description="`sha256:` and the 64 hex digits of the photo's SHA-256"
    ),
]
# A photo never changes under its ref (content-addressed, append-only): the browser may keep
# it, privately, for a year.
CACHE_CONTROL = "private, max-age=31536000, immutable"
# Served bytes are never a page: no script, no plugin, no same-origin powers if opened alone.
PHOTO_CSP = "default-src 'none'; sandbox"
# The example of an upload body: how every PNG file starts (the body is the whole file).
EXAMPLE_PNG = "\x89PNG\r\n\x1a\n"


@dataclass
class _ImageBody(Operation):
    """The upload's body is the image itself, in any of the accepted types."""

    def __post_init__(self) -> None:
        schema = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        self.request_body = RequestBody(
            required=True,
            description=f"The image's bytes: JPEG, PNG or WebP, {PHOTO_BYTES_MAX:,} bytes at most.",
            content={
                media_type: OpenAPIMediaType(
                    schema=schema,
                    examples={
                        "png": Example(
                            summary="the first bytes of a PNG file; send the whole file",
                            value=EXAMPLE_PNG,
                        )
                    }
                    if media_type == "image/png"
                    else None,
                )
                for media_type in ACCEPTED_TYPES
            },
        )


class PhotoController(Controller):
    path = "/api/v1/photos"
    tags = ["earning"]

    @post(
        "/",
        operation_id="UploadPhoto",
        guards=[requires(Role.INSPECTOR, Role.COORDINATOR, Role.ADMIN)],
        status_code=HTTP_201_CREATED,
        request_max_body_size=PHOTO_BYTES_MAX,
        operation_class=_ImageBody,
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=PhotoReply,
                description="These bytes were already stored: the same ref, nothing written",
            ),
            **PHOTO_ERROR_RESPONSES,
        },
    )
    async def upload(
        self, request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
    ) -> Response[PhotoReply]:
        """Store a grade's photo: the body is the image (JPEG, PNG or WebP, at most 2 MiB) with
        its Content-Type. 201 the first time; the same bytes again answer 200 with the same
        `photo_ref` and store nothing, so an offline phone may resend freely. Then send the ref
        as the inspection's `photo_ref`."""
        body = await request.body()
        stored = await services.photos.store(principal, body, request.headers.get("content-type"))
        reply = PhotoReply(
            photo_ref=stored.ref,
            size_bytes=stored.size_bytes,
            content_type=stored.content_type,  # type: ignore[arg-type]
        )
        status = HTTP_201_CREATED if stored.created else HTTP_200_OK
        return Response(reply, status_code=status)

    @get(
        "/{ref:str}",
        operation_id="GetPhoto",
        guards=ANY_ROLE,
        media_type="image/jpeg",
        operation_class=also_answers("image/png", "image/webp"),
    )
    async def photo(
        self, ref: PhotoRef, principal: PrincipalDep, services: ServicesDep
    ) -> Response[bytes]:
        """A stored photo's bytes, for an admin, its uploader, a coordinator of its community,
        or a member of a household whose grade names it."""
        found = await services.photos.read(principal, ref)
        return Response(
            found.data,
            media_type=found.content_type,
            headers={
                "Cache-Control": CACHE_CONTROL,
                "ETag": f'"{found.ref}"',
                "Content-Security-Policy": PHOTO_CSP,
            },
        )
