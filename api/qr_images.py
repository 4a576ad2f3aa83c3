"""QR pictures: the payload is signed in the domain; this only draws it."""

from __future__ import annotations

import io

import qrcode
from qrcode.image.svg import SvgPathImage

# Medium error correction survives a scuffed sticker; 4-module border is the standard quiet zone.
_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M


def _matrix(url: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=_ERROR_CORRECTION, box_size=8, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def svg(url: str) -> bytes:
    image = _matrix(url).make_image(image_factory=SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def svg_inline(url: str) -> str:
    """For embedding in an HTML page: without the XML declaration."""
    text = svg(url).decode()
    return text[text.index("<svg") :]


def png(url: str) -> bytes:
    image = _matrix(url).make_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
