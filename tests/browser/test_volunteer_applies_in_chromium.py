"""A passer-by applies to volunteer from a duty post's code on a phone, a coordinator approves
on theirs, and the new volunteer signs in with number and PIN and checks in at that post."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, shot, sign_in

pytestmark = pytest.mark.browser
PIN = "582039"


def test_a_volunteer_applies_is_approved_and_checks_in(new_phone: Any, server: Server) -> None:
    coordinator_me = server.api("GET", "/api/v1/me", token=server.token("coordinator"))
    compound = coordinator_me["compound_ids"][0]
    admin = server.token("admin")
    post = server.api("GET", f"/api/v1/posts?compound_id={compound}", token=admin)["items"][0]
    phone_number = f"139{uuid.uuid4().int % 10**8:08d}"
    name = f"朱秀娟{phone_number[-4:]}"

    applicant = new_phone()
    applicant.goto(f"/q/{post['token']}")
    applicant.locator("#apply-volunteer").click()
    expect(applicant.locator("#apply-form")).to_be_visible()
    applicant.locator('input[name="name"]').fill(name)
    applicant.locator('input[name="phone"]').fill(phone_number)
    applicant.locator('input[name="pin"]').fill(PIN)
    applicant.locator('select[name="affiliation"]').select_option("party_member")
    applicant.locator('input[name="party_branch"]').fill("信义坊第一党支部")
    shot(applicant, "volunteer-apply")
    width = applicant.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the form is wider than the phone: {width}px"
    applicant.locator("#apply").click()
    expect(applicant.locator("#applied")).to_be_visible()
    shot(applicant, "volunteer-applied")

    coordinator = new_phone()
    sign_in(coordinator, "coordinator", "/coordinator/volunteers")
    card = coordinator.locator("article.application", has_text=name)
    expect(card).to_contain_text("党员")
    expect(card).to_contain_text(f"{phone_number[:3]}****{phone_number[-4:]}")
    shot(coordinator, "coordinator-volunteer-applications")
    card.locator("button.approve").click()
    expect(coordinator.locator("#application-approved")).to_be_visible()

    volunteer = new_phone()
    volunteer.goto(f"/login?next=/q/{post['token']}")
    volunteer.locator('input[name="username"]').fill(phone_number)
    volunteer.locator('input[name="password"]').fill(PIN)
    volunteer.locator('form[action="/login"] button[type="submit"]').click()
    volunteer.get_by_role("button", name="签到").click()
    expect(volunteer.locator("#result")).to_contain_text("签到")
    shot(volunteer, "volunteer-approved-checked-in")
    for page in (applicant, coordinator, volunteer):
        assert page.problems == [], page.problems
