"""The transparency log for people: the noticeboard page of day heads (public, with a QR to
post), the public receipt check, and a resident's receipt of one entry (short form and a QR
of the receipt link). The check runs the same code as `greenledger check-receipt`."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import PathParameter, QueryParameter

from api import qr_images
from api.deps import PrincipalDep, ServicesDep
from api.pages.i18n import _
from api.pages.web import render
from api.receipt_check import RECEIPT_PARAM, check_all, decode_receipt, encode_receipt
from api.schemas import ID_MAX
from api.security import requires
from ledger.domain.access import Role
from ledger.domain.errors import DayNotPublished, NotYetSealed
from ledger.domain.receipts import ReceiptRefused, short_form
from ledger.services.container import Services

HEADS_SHOWN = 30
PASTED_MAX = 64_000
RESIDENTS = [requires(Role.RESIDENT)]


def _base(request: Request[Any, Any, Any]) -> str:
    return str(request.app.state.settings.base_url).rstrip("/")


@get("/log", opt={"public": True}, include_in_schema=False)
async def log_page(request: Request[Any, Any, Any], services: ServicesDep) -> Response[Any]:
    """The last days' signed heads, the keys, and a QR of this page for the noticeboard."""
    heads = await services.transparency.recent(HEADS_SHOWN)
    url = f"{_base(request)}/log"
    qr = await asyncio.to_thread(qr_images.svg_inline, url)
    return render(
        "log.html", heads=heads, keys=services.transparency.public_keys(), url=url, qr_svg=qr
    )


@get("/log/check", opt={"public": True}, include_in_schema=False)
async def check_page(
    services: ServicesDep,
    r: Annotated[str | None, QueryParameter(max_length=8_000)] = None,
    receipt: Annotated[str | None, QueryParameter(max_length=PASTED_MAX)] = None,
) -> Response[Any]:
    """A receipt from its link (`r`) or pasted (`receipt`), checked against the published
    head and its signature; a read, so a GET form (nothing to protect with a CSRF token)."""
    if not r and not receipt:
        return render("log_check.html", outcome=None, pasted="")
    try:
        document = decode_receipt(r) if r else _pasted(receipt or "")
        head = await _checked(services, document)
    except ReceiptRefused as refused:
        reason = refusal_step(refused.step)
        return render("log_check.html", outcome="refused", reason=reason, pasted=receipt)
    return render("log_check.html", outcome="verified", receipt=document, head=head, pasted=receipt)


@get("/home/receipt/{entry_id:int}", guards=RESIDENTS, include_in_schema=False)
async def entry_receipt(
    request: Request[Any, Any, Any],
    entry_id: Annotated[int, PathParameter(ge=1, le=ID_MAX)],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response[Any]:
    """One entry's receipt on the phone: the short form, a QR of the receipt link (anyone
    who scans it sees it checked), the JSON for `greenledger check-receipt`."""
    try:
        receipt = asdict(await services.transparency.receipt(principal, entry_id))
    except (NotYetSealed, DayNotPublished):
        return render("entry_receipt.html", entry_id=entry_id, receipt=None)
    link = f"{_base(request)}/log/check?{RECEIPT_PARAM}={encode_receipt(receipt)}"
    qr = await asyncio.to_thread(qr_images.svg_inline, link)
    short = short_form(
        date.fromisoformat(receipt["day"]), receipt["seal_no"], receipt["entry_hash"]
    )
    return render(
        "entry_receipt.html", entry_id=entry_id, receipt=receipt, link=link, qr_svg=qr, short=short
    )


async def _checked(services: Services, document: dict[str, Any]) -> Any:
    try:
        day = date.fromisoformat(str(document.get("day")))
    except ValueError:
        raise ReceiptRefused("the receipt names no day") from None
    heads = await services.transparency.heads(day, day)
    heads_doc = {"items": [{**asdict(h), "day": h.day.isoformat()} for h in heads]}
    keys_doc = {"keys": [asdict(k) for k in services.transparency.public_keys()]}
    return check_all(document, heads_doc, keys_doc)


def _pasted(text: str) -> dict[str, Any]:
    text = text.strip()
    if text.startswith(("http://", "https://")) and f"{RECEIPT_PARAM}=" in text:
        return decode_receipt(text.split(f"{RECEIPT_PARAM}=", 1)[1].split("&", 1)[0])
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ReceiptRefused(f"the receipt is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ReceiptRefused("the receipt is not a JSON object")
    return document


def refusal_step(step: str) -> str:
    """Which check failed, in the reader's language (the CLI prints the technical detail)."""
    return {
        "entry_hash": _("The entry's details do not give the entry hash: they were changed."),
        "audit_path": _("The proof does not lead from this entry to the day's root."),
        "no_head": _("No signed head is published for this receipt's day."),
        "root": _("The receipt's root is not the root published for its day."),
        "key": _("The head names a signing key that is not published."),
        "signature": _("The day head's signature does not verify."),
    }.get(step, _("This is not a receipt that can be read."))


TRANSPARENCY_HANDLERS = [log_page, check_page, entry_receipt]
