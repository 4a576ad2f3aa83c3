"""Issue 19 as its users meet it, in Chromium on a phone-sized screen: a resident's receipt
checked by anyone signed out (and a tampered one refused), the public log with its noticeboard
QR, the staff's books (table, charts, CSV, a reward's cost), a coordinator's rotation plan as
the inspector then sees it, and a re-grade from yesterday's sample.

These need published days, so they run on a server of their own seeded with two days of
history (`seed-demo --days 2`: each day sealed and its head published as of that day)."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.error
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from api.receipt_check import decode_receipt, encode_receipt
from ledger.domain.receipts import short_form
from tests.browser.conftest import PHONE, Server, image_width, phones, serving, shot, sign_in

pytestmark = pytest.mark.browser

LANGUAGES = ("zh-CN", "en")


@pytest.fixture(scope="module")
def history() -> Iterator[Server]:
    with serving(days=2) as running:
        yield running


@pytest.fixture
def phone(browser: Any, history: Server) -> Iterator[Callable[..., Any]]:
    """A phone-sized context on the history server (fresh storage: signed out) per call."""
    yield from phones(browser, history.url, accept_downloads=True)


def lang(locale: str) -> str:
    return "en" if locale == "en" else "zh_CN"


def fits_the_phone(page: Any) -> None:
    """Nothing makes the whole page scroll sideways (wide tables scroll in their own box)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px phone"


def decoded_qr(page: Any, selector: str, tmp_path: Path) -> str:
    """The text of the one QR code drawn in `selector`, read back from a screenshot."""
    import zxingcpp
    from PIL import Image

    png = tmp_path / "qr.png"
    page.locator(selector).screenshot(path=str(png))
    found = zxingcpp.read_barcodes(Image.open(png), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"one QR code in {selector}, found {len(found)}"
    return str(found[0].text)


def published_entry(history: Server) -> dict[str, Any]:
    """The resident's newest entry whose day is published, and its receipt (from the API)."""
    token = history.token("resident")
    account = history.api("GET", "/api/v1/me", token=token)["household_account_id"]
    entries = history.api("GET", f"/api/v1/accounts/{account}/entries", token=token)["items"]
    for entry in entries:
        try:
            return history.api("GET", f"/api/v1/entries/{entry['id']}/receipt", token=token)
        except urllib.error.HTTPError:
            continue  # sealed today, or not sealed yet: no receipt until its day is published
    pytest.fail("the demo history gives the resident no entry on a published day")


def test_a_resident_receipt_checks_out_signed_out_and_a_changed_one_does_not(
    phone: Any, history: Server, tmp_path: Path
) -> None:
    receipt = published_entry(history)
    entry_id = receipt["entry_id"]
    expected_short = short_form(
        date.fromisoformat(receipt["day"]), receipt["seal_no"], receipt["entry_hash"]
    )
    resident = phone()
    sign_in(resident, "resident")
    link = ""
    for locale in LANGUAGES:
        resident.goto(f"/home?lang={lang(locale)}")
        fits_the_phone(resident)
        shot(resident, f"trust-home-{locale}")
        resident.locator(f'a[href="/home/receipt/{entry_id}"]').click()
        resident.wait_for_load_state()
        assert resident.url.endswith(f"/home/receipt/{entry_id}")
        assert resident.locator("#receipt-short").inner_text().strip() == expected_short
        body = resident.locator("main").inner_text()
        assert f"{receipt['entry']['amount_points']}" in body
        fits_the_phone(resident)
        shot(resident, f"trust-receipt-{locale}")
        link = decoded_qr(resident, "#receipt-qr", tmp_path)
        assert link == resident.locator("#receipt-qr + p a.button").first.get_attribute("href")
    assert resident.problems == []
    assert link.startswith(f"{history.url}/log/check?r="), link

    # Anyone who scans it, signed out: verified against the published head.
    anyone = phone()
    anyone.goto(link)
    assert anyone.locator("#check-outcome").inner_text() == "核验通过"
    assert receipt["day"] in anyone.locator("main").inner_text()
    shot(anyone, "trust-check-verified-zh-CN")
    anyone.goto(link + "&lang=en")
    assert anyone.locator("#check-outcome").inner_text() == "Verified"
    fits_the_phone(anyone)
    shot(anyone, "trust-check-verified-en")

    # The amount changed in the link: the entry no longer gives its hash.
    token = link.split("r=", 1)[1]
    changed = decode_receipt(token)
    changed["entry"]["amount_points"] += 100
    anyone.goto(f"/log/check?r={encode_receipt(changed)}&lang=en")
    assert anyone.locator("#check-outcome").inner_text() == "Not verified"
    assert "changed" in anyone.locator("#check-reason").inner_text()
    shot(anyone, "trust-check-tampered-en")

    # The JSON pasted into the page's form, amount changed: refused too; unchanged: verified.
    document = decode_receipt(token)
    anyone.goto("/log/check?lang=zh_CN")
    anyone.locator("#receipt").fill(json.dumps(document))
    anyone.locator('form[action="/log/check"] button[type="submit"]').click()
    assert anyone.locator("#check-outcome").inner_text() == "核验通过"
    document["entry"]["amount_points"] -= 1
    anyone.locator("#receipt").fill(json.dumps(document))
    anyone.locator('form[action="/log/check"] button[type="submit"]').click()
    assert anyone.locator("#check-outcome").inner_text() == "核验未通过"
    fits_the_phone(anyone)
    shot(anyone, "trust-check-tampered-zh-CN")
    assert anyone.problems == []


def test_the_public_log_shows_the_day_heads_and_its_own_qr(
    phone: Any, history: Server, tmp_path: Path
) -> None:
    heads = history.api("GET", "/api/v1/chain/heads")["items"]
    assert len(heads) >= 2, "two days of history are published"
    for locale in LANGUAGES:
        page = phone(locale)
        page.goto(f"/log?lang={lang(locale)}")
        assert "/login" not in page.url, "the log is public"
        listed = page.locator("#heads").inner_text()
        for head in heads:
            assert head["day"] in listed, head
            assert head["root"] in listed, head
        assert decoded_qr(page, "#log-qr", tmp_path) == f"{history.url}/log"
        fits_the_phone(page)
        shot(page, f"trust-log-{locale}")
        assert page.problems == []


def _figure(text: str) -> int:
    return int(re.sub(r"[^\d-]", "", text))


def test_staff_read_the_books_download_them_and_price_a_reward(phone: Any, history: Server) -> None:
    page = phone()
    sign_in(page, "admin")
    for locale in LANGUAGES:
        page.goto(f"/staff/books?lang={lang(locale)}")
        rows = page.locator("#books tbody tr")
        assert rows.count() >= 1
        for chart in ("#chart-flows", "#chart-owed"):  # the SVG loaded and drew something
            assert image_width(page.locator(chart)) > 0, chart
        fits_the_phone(page)
        shot(page, f"trust-books-{locale}")

    charts = page.locator("#chart-flows").get_attribute("src")
    svg = page.request.get(charts)
    assert svg.ok
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in svg.text()

    # The CSV link downloads the months the table shows, figure for figure.
    with page.expect_download() as download:
        page.locator('a[href*="/api/v1/reports/liability"][href*="format=csv"]').click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    months = list(csv.DictReader(io.StringIO(text)))
    table = [
        [cell.inner_text() for cell in row.locator("td").all()]
        for row in page.locator("#books tbody tr").all()
    ]
    assert [row[0] for row in table] == [m["month"] for m in months]
    columns = ["issued_gradings", "issued_weighins", "issued_dropoffs", "issued_hours"]
    columns += ["issued_adjustments", "issued_total", "redeemed", "paid_to_merchants"]
    columns += ["expired", "outstanding", "merchants_unsettled"]
    for row, month in zip(table, months, strict=True):
        assert [_figure(cell) for cell in row[1:12]] == [int(month[c]) for c in columns], month
        assert row[12].startswith(f"¥{month['redeemed_value_yuan']}")
    assert any(int(m["issued_total"]) > 0 for m in months), "the history issued points"

    # A reward's unit cost, set through its form, shows in the table.
    reward = page.locator("#reward-stock tr.reward td").first.inner_text()
    terms = page.locator("#reward-stock tr.reward-terms form").first  # the row under it
    terms.locator('input[name="cost_yuan"]').fill("3.25")
    terms.locator('input[name="threshold"]').fill("7")
    terms.locator('button[type="submit"]').click()
    page.wait_for_load_state()
    assert "/staff/books" in page.url
    row = page.locator("#reward-stock tr.reward", has_text=reward).first
    cells = [cell.inner_text() for cell in row.locator("td").all()]
    assert cells[2:4] == ["¥3.25", "7"], cells
    fits_the_phone(page)
    shot(page, "trust-books-priced-en")
    assert page.problems == []


def test_a_coordinator_plans_the_rotation_the_inspector_sees_it_and_a_regrade_is_decided(
    phone: Any, history: Server
) -> None:
    inspector = history.api("GET", "/api/v1/me", token=history.token("inspector"))
    coordinator = phone()
    sign_in(coordinator, "coordinator")
    coordinator.goto("/coordinator/rotation")
    form = coordinator.locator("#rotation-form")
    week = form.locator('select[name="week"] option').first.get_attribute("value")
    served = {str(c) for c in inspector["compound_ids"]}
    options = form.locator('select[name="compound_id"] option').all()
    compound = next(o for o in options if o.get_attribute("value") in served)
    compound_name = compound.inner_text().strip()
    form.locator('select[name="inspector_id"]').select_option(str(inspector["user_id"]))
    form.locator('select[name="compound_id"]').select_option(compound.get_attribute("value"))
    form.locator('select[name="week"]').select_option(week)
    form.locator('button[value="assign"]').click()
    coordinator.wait_for_load_state()
    assert coordinator.locator("#rotation-changed").is_visible()
    planned = coordinator.locator(f"#inspector-{inspector['user_id']}").inner_text()
    assert compound_name in planned
    fits_the_phone(coordinator)
    shot(coordinator, "trust-rotation-zh-CN")
    coordinator.goto("/coordinator/rotation?lang=en")
    fits_the_phone(coordinator)
    shot(coordinator, "trust-rotation-en")

    # The inspector signs in (a new token carries the new scope) and sees this week's plan.
    field = phone()
    sign_in(field, "inspector")
    field.goto("/inspector")
    assignment = field.locator("#todays-assignment").inner_text()
    assert week in assignment, assignment
    assert compound_name in assignment, assignment
    assert "本周" in assignment
    fits_the_phone(field)
    shot(field, "trust-inspector-assigned-zh-CN")
    field.goto("/inspector?lang=en")
    assert "Assigned this week" in field.locator("#todays-assignment").inner_text()
    shot(field, "trust-inspector-assigned-en")

    # Yesterday's sample: the first item re-graded from its photo, then shown as decided.
    coordinator.goto("/coordinator/reinspections")
    item = coordinator.locator("article.reinspection").first
    item_id = item.get_attribute("id")
    assert image_width(item.locator("img.photo-thumb")) > 0, "the photo shows"
    fits_the_phone(coordinator)
    shot(coordinator, "trust-reinspections-zh-CN")
    item.locator('select[name="grade"]').select_option("poor")
    item.locator('button[type="submit"]').click()
    coordinator.wait_for_load_state()
    coordinator.goto("/coordinator/reinspections?lang=en")
    decided = coordinator.locator(f"#{item_id}")
    assert decided.locator("form").count() == 0, "a decided item offers no form"
    assert "Your grade: Poor" in decided.inner_text()
    fits_the_phone(coordinator)
    shot(coordinator, "trust-reinspections-en")
    assert coordinator.problems == []
    assert field.problems == []
