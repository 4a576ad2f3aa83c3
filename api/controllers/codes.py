"""QR images, printable sheets, and the page a scanned code opens."""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import FromPath, FromQuery, PathParameter
from litestar.response import Template

from api import qr_images
from api.deps import ServicesDep
from api.openapi_docs import also_answers
from api.pages.messages import sticker_subtitle
from api.params import QueryId
from api.security import ADMIN_ONLY
from ledger.domain.scan_codes import CodeKind
from ledger.services.codes import label_for, sheet_labels

ImageName = Annotated[
    str, PathParameter(pattern=r"^\d{1,16}\.(svg|png)$", description="`{id}.svg` or `{id}.png`")
]


class CodeController(Controller):
    path = "/api/v1/qr"
    tags = ["qr"]
    guards = ADMIN_ONLY

    @get(
        "/{kind:str}/{image:str}",
        operation_id="GetQrImage",
        media_type="image/svg+xml",
        operation_class=also_answers("image/png"),
    )
    async def image(
        self, kind: FromPath[CodeKind], image: ImageName, services: ServicesDep
    ) -> Response[bytes]:
        """The QR image of `<BASE_URL>/q/<token>` for a household card, point or post."""
        subject_id, _, extension = image.partition(".")
        label = await label_for(services.codes, kind, int(subject_id))
        if extension == "png":
            return Response(
                await asyncio.to_thread(qr_images.png, label.url), media_type="image/png"
            )
        return Response(
            await asyncio.to_thread(qr_images.svg, label.url), media_type="image/svg+xml"
        )

    @get("/sheet", operation_id="GetQrSheet", media_type="text/html")
    async def sheet(
        self, compound_id: QueryId, kind: FromQuery[CodeKind], services: ServicesDep
    ) -> Template:
        """A printable A4 page of labelled codes for one compound, in the request's language
        (`Accept-Language`, `?lang=`; Chinese by default)."""
        compound, labels = await sheet_labels(services.codes, kind, compound_id)
        stickers = await asyncio.to_thread(
            lambda: [
                {
                    "svg": qr_images.svg_inline(label.url),
                    "title": label.title,
                    "subtitle": sticker_subtitle(kind, label),
                    "short_code": label.short_code,
                    "join_code": label.join_code,
                }
                for label in labels
            ]
        )
        return Template(
            template_name="qr_sheet.html",
            context={
                "labels": stickers,
                "compound": compound,
                "kind": kind.value,
            },
        )
