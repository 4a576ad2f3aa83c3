"""QR images, printable sheets, and the page a scanned code opens."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, PathParameter, QueryParameter
from litestar.response import Template

from api import qr_images
from api.deps import ServicesDep
from api.openapi_docs import also_answers
from api.schemas import ID_MAX
from api.security import ADMIN_ONLY
from ledger.domain.errors import LedgerError
from ledger.domain.scan_codes import CodeKind
from ledger.services.codes import label_for, sheet_labels

KIND_NAMES = {CodeKind.HOUSEHOLD: "住户卡", CodeKind.POINT: "投放点", CodeKind.POST: "志愿岗"}
ImageName = Annotated[
    str, PathParameter(pattern=r"^\d{1,16}\.(svg|png)$", description="`{id}.svg` or `{id}.png`")
]
CompoundId = Annotated[int, QueryParameter(ge=1, le=ID_MAX)]


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
        self, compound_id: CompoundId, kind: FromQuery[CodeKind], services: ServicesDep
    ) -> Template:
        """A printable A4 page of labelled codes for one compound, in Chinese."""
        compound, labels = await sheet_labels(services.codes, kind, compound_id)
        stickers = await asyncio.to_thread(
            lambda: [
                {
                    "svg": qr_images.svg_inline(label.url),
                    "title": label.title,
                    "subtitle": label.subtitle,
                }
                for label in labels
            ]
        )
        return Template(
            template_name="qr_sheet.html",
            context={
                "labels": stickers,
                "compound": compound,
                "kind_name": KIND_NAMES[kind],
            },
        )


@get(
    "/q/{token:str}",
    operation_id="OpenCode",
    media_type="text/html",
    tags=["qr"],
    opt={"public": True},
)
async def open_code(
    token: Annotated[str, PathParameter(max_length=200)], services: ServicesDep
) -> Template:
    """What a phone camera opens: says what the code is, or why it is refused."""
    if len(token) > 100:
        raise NotFoundException("no such code")
    context: dict[str, Any]
    try:
        code, _ = await services.codes.resolve(token)
        label = await label_for(services.codes, code.kind, code.subject_id)
        context = {
            "heading": KIND_NAMES[code.kind],
            "title": label.title,
            "subtitle": label.subtitle,
        }
    except LedgerError as refusal:
        context = {"heading": "无效的二维码", "error": _refusal_text(refusal)}
    return Template(template_name="code.html", context=context)


def _refusal_text(refusal: LedgerError) -> str:
    return {
        "code_revoked": "这张卡已补办，旧卡作废。请使用新卡。",
        "code_forged": "二维码校验失败，不是本系统发放的二维码。",
        "code_malformed": "无法识别的二维码。",
        "not_found": "二维码对应的对象不存在。",
    }.get(refusal.code, "二维码无法使用。")
