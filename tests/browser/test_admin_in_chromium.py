"""piccolo-admin (/admin) and the API docs (/schema/swagger) in Chromium, under the site's CSP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server, shot, sign_in

pytestmark = pytest.mark.browser
SAVE = '[data-uitest="save_button"]'


def open_row(page: Any, table: str, row_id: int) -> Any:
    """The admin's edit form of one row, once it shows the row's values."""
    from playwright.sync_api import expect

    page.goto(f"/admin/#/{table}/{row_id}/")
    form = page.locator("form").filter(has=page.locator('input[name="name"]'))
    expect(form.locator('input[name="name"]')).not_to_have_value("")
    return form


def save(page: Any, form: Any) -> Any:
    """Click the form's save button; the reply to the PATCH it sends."""
    with page.expect_response(lambda reply: reply.request.method == "PATCH") as patched:
        form.locator(SAVE).click()
    return patched.value


def saved(page: Any) -> Any:
    """piccolo-admin's popup after a save that worked (it has class `error` otherwise)."""
    return page.locator("#message_popup:not(.error)")


def point(server: Server, token: str, point_id: int) -> dict[str, Any]:
    reply = server.api("GET", "/api/v1/points?limit=500", token=token)
    found: dict[str, Any] = next(p for p in reply["items"] if p["id"] == point_id)
    return found


def reward(server: Server, token: str, reward_id: int) -> dict[str, Any]:
    reply = server.api("GET", "/api/v1/rewards?limit=500", token=token)
    found: dict[str, Any] = next(r for r in reply["items"] if r["id"] == reward_id)
    return found


def test_staff_edit_a_point_and_a_reward_in_the_admin(new_phone: Any, server: Server) -> None:
    from playwright.sync_api import expect

    admin = server.token("admin")
    page = new_phone()
    sign_in(page, "admin", "/admin/")

    # The sidebar names the tables in the page's language (Chinese here), not by their
    # database names (issue 13 #6).
    sidebar = page.locator('a[href="#/household/"]')
    expect(sidebar).to_have_text("住户")
    expect(page.locator('a[href="#/reward/"]')).to_have_text("兑换物品")

    form = open_row(page, "collection_point", 1)
    expect(form.locator('input[name="card_serial"]')).to_be_disabled()  # fixed: read-only
    form.locator('input[name="name"]').fill("东侧投放点（改）")
    form.locator('textarea[name="windows"]').first.fill("18:00-20:00,06:30-08:30")
    assert save(page, form).status == 200
    expect(saved(page)).to_be_visible()
    edited = point(server, admin, 1)
    assert edited["name"] == "东侧投放点（改）"
    assert edited["windows"] == ["06:30-08:30", "18:00-20:00"]

    form = open_row(page, "reward", 1)
    for fixed in ('input[name="stock"]', 'select[name="active"]', 'input[type="datetime-local"]'):
        expect(form.locator(fixed)).to_be_disabled()
    before = reward(server, admin, 1)
    form.locator('input[name="name"]').fill("环保袋（大）")
    form.locator('input[name="cost_points"]').fill("77")
    assert save(page, form).status == 200
    expect(saved(page)).to_be_visible()
    after = reward(server, admin, 1)
    assert (after["name"], after["cost_points"]) == ("环保袋（大）", 77)
    assert after["stock"] == before["stock"]
    history = server.api("GET", "/api/v1/rewards/1/history", token=admin)
    assert history[-1]["change"] == "changed"
    assert history[-1]["details"] == {"name": "环保袋（大）", "cost_points": 77}
    assert history[-1]["actor"] == "admin"
    assert page.problems == []
    shot(page, "admin-reward-saved")


def test_a_bad_cost_is_refused_in_the_admin_with_a_message(new_phone: Any, server: Server) -> None:
    from playwright.sync_api import expect

    admin = server.token("admin")
    before = reward(server, admin, 2)
    page = new_phone()
    sign_in(page, "admin", "/admin/")
    form = open_row(page, "reward", 2)
    for cost in ("-5", "0"):
        form.locator('input[name="cost_points"]').fill(cost)
        assert save(page, form).status == 422
        refusal = page.locator(".errors li")
        expect(refusal).to_contain_text("cost_points field - must be between 1")
        expect(form.locator(SAVE)).to_be_enabled()
        page.reload()
        form = open_row(page, "reward", 2)
    assert reward(server, admin, 2) == before
    shot(page, "admin-bad-cost")


def test_the_api_docs_render_from_the_app_s_own_files(new_phone: Any) -> None:
    from playwright.sync_api import expect

    page = new_phone()
    outside: list[str] = []
    page.on("request", lambda r: "127.0.0.1" not in r.url and outside.append(r.url))
    page.goto("/schema/swagger")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/v1/redemptions").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    assert outside == []
    assert page.problems == []
    shot(page, "api-docs")
