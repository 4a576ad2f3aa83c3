"""A QR sheet printed to PDF in Chromium: each sticker's QR code, read back with a decoder, and
the short code printed under it name the same household card.

Needs poppler-utils (pdftoppm, pdftotext) and the dev dependency zxing-cpp."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from ledger.domain.short_codes import is_valid
from tests.browser.conftest import Server, sign_in

pytestmark = pytest.mark.browser

PRINTED_CODE = re.compile(r"(?<!\d)(\d{4}) (\d{4}) (\d{2})(?!\d)")
DPI = 200


def poppler(tool: str, *args: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: apt-get install poppler-utils (.ci/run does)")
    return subprocess.run(  # noqa: S603
        [path, *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def decoded_tokens(png: Path) -> list[str]:
    """The QR codes on a page image, in reading order (rows top to bottom, left to right)."""
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(png), formats=zxingcpp.BarcodeFormat.QRCode)
    spots = sorted((r.position.top_left.y, r.position.top_left.x, r.text) for r in found)
    rows: list[list[tuple[int, int, str]]] = []
    for spot in spots:
        if rows and spot[0] - rows[-1][0][0] < DPI // 2:  # within half an inch: the same row
            rows[-1].append(spot)
        else:
            rows.append([spot])
    return [
        text.rsplit("/q/", 1)[1] for row in rows for _, _, text in sorted(row, key=lambda s: s[1])
    ]


def printed_codes(pdf: Path) -> list[str]:
    """The short codes in the PDF's text, in reading order (`-layout` keeps each row a line)."""
    text = poppler("pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-")
    return ["".join(groups) for groups in PRINTED_CODE.findall(text)]


def test_the_printed_code_and_the_qr_code_name_the_same_card(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    admin = server.token("admin")
    listed = server.api("GET", "/api/v1/households?limit=200", token=admin)["items"]
    compounds = Counter(item["compound_id"] for item in listed)
    compound_id = compounds.most_common(1)[0][0]  # the fullest sheet of the demo
    card_of_token = {item["token"]: item["id"] for item in listed}
    card_of_code = {item["short_code"]: item["id"] for item in listed}

    context = browser.new_context(
        base_url=server.url, extra_http_headers={"Authorization": f"Bearer {admin}"}
    )
    page = context.new_page()
    page.goto(f"/api/v1/qr/sheet?compound_id={compound_id}&kind=household")
    pdf = tmp_path / "sheet.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    context.close()
    poppler("pdftoppm", "-r", str(DPI), "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "p"))
    (png,) = tmp_path.glob("p*.png")

    tokens, codes = decoded_tokens(png), printed_codes(pdf)
    stickers = compounds[compound_id]
    assert len(tokens) >= 2, "the demo's fullest compound has a few households"
    if stickers <= 8:  # two rows of four: surely all on the first page
        assert len(tokens) == stickers, "every QR code on the page is read back"
    assert len(codes) == len(tokens), (codes, tokens)
    assert all(is_valid(code) for code in codes)
    assert [card_of_token[token] for token in tokens] == [card_of_code[code] for code in codes]

    # The app itself resolves the printed digits to the decoded card: /open, as staff type it.
    browser_page = browser.new_context(base_url=server.url).new_page()
    sign_in(browser_page, "admin")
    for token, code in list(zip(tokens, codes, strict=True))[:3]:
        browser_page.goto(f"/open?code={code[:4]}-{code[4:8]}-{code[8:]}")
        assert unquote(browser_page.url).endswith(f"/q/{token}"), (browser_page.url, token)
    browser_page.context.close()
