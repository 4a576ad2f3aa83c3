"""Every page, in Chinese and in English, with no message left in the other language.

A tour signs in as each role and opens every page the app has (the GET pages, the pages a
form answers with, the certificate, the QR sheets, the charts, the error pages), once in each
language; a form's answer is seen in English by sending the same form again (same event_id:
a replay). A Chinese page may show no English words but the people's usernames and a few
names of things; an English page no Chinese but the demo's own data (names, addresses).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import SYSTEM
from ledger.domain.scan_codes import CodeKind
from ledger.services.container import Services
from ledger.store.tables import Household
from tests.api.pages_helpers import DEMO_PASSWORD, Demo, seed
from tests.factories import FrozenClock

Client = AsyncTestClient[Any]
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
APPEAL_REASON = "分类是对的"
STAFF_REASON = "录入有误"
APPLICANT_NAME = "朱秀娟"
PARTY_BRANCH = "信义坊第一党支部"
# Words a Chinese page may show: usernames (the seed names them by role), the switch to
# English, and names that are the same in both languages.
ENGLISH_ALLOWED = {
    "admin",
    "coordinator",
    "inspector",
    "clerk",
    "volunteer",
    "resident",
    "English",
    "JPEG",
    "PNG",
    "WebP",
    "MiB",
    "QR",
    "CSV",
    "JSON",
    "HS",  # a certificate number begins HS-
}
# What an English page may show in Chinese: the demo's data, and the switch to Chinese.
CHINESE_DATA = (
    "卖鱼桥社区",
    PARTY_BRANCH,
    "信义坊",
    "1幢东侧投放点",
    "东门志愿服务岗",
    "王建国",
    "卖鱼桥菜场",
    "垃圾袋一卷",
    "纸质积分本结转",
    "湖墅街道",
    APPLICANT_NAME,
    APPEAL_REASON,
    STAFF_REASON,
    "中文",
)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
# The transparency log's hashes, key ids and signing algorithm read the same in any language, and
# so does a certificate's number, whose tag is hex in capitals (a tag with "DD" in it is no word).
SAME_IN_BOTH = re.compile(r"\b[0-9a-f]{12,}\b|Ed25519|\bHS-\d{4}-\d{6}-[0-9A-F]{8}\b")
# Addresses the tour does not open as pages of their own.
NOT_PAGES = ("/", "/open", "/sw.js", "/manifest.webmanifest")


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, Any] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class Page(HTMLParser):
    """The text a person reads (also placeholders, titles, alt texts) and the forms."""

    SHOWN_ATTRIBUTES = ("placeholder", "title", "alt", "aria-label")

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.forms: list[Form] = []
        self._hidden_depth = 0
        self._select: str | None = None
        self.html = html
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag in ("script", "style"):
            self._hidden_depth += 1
        self.texts += [found[name] for name in self.SHOWN_ATTRIBUTES if name in found]
        if tag == "form":
            self.forms.append(Form(found.get("method", "get").lower(), found.get("action", "")))
        elif self.forms:
            self._field(tag, found)

    def _field(self, tag: str, found: dict[str, str]) -> None:
        form, name = self.forms[-1], found.get("name")
        if tag == "button" and name:
            form.buttons.append((name, found.get("value", "")))
        elif tag == "input" and name and found.get("type") not in ("file", "submit"):
            if found.get("type") == "checkbox":
                if "checked" in found:
                    form.fields.setdefault(name, []).append(found.get("value", "on"))
            else:
                form.fields.setdefault(name, found.get("value", ""))
        elif tag == "textarea" and name:
            form.fields.setdefault(name, "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select:
            form.fields.setdefault(self._select, found.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden_depth -= 1
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.texts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.texts).split())

    def form(self, action: str) -> Form:
        found = [f for f in self.forms if re.fullmatch(action, f.action)]
        assert found, f"no form {action} among {[f.action for f in self.forms]}"
        return found[0]


def untranslated(text: str, locale: str) -> list[str]:
    """Words of the other language on a page."""
    if locale == "zh_CN":
        text = SAME_IN_BOTH.sub(" ", text)
        return sorted({w for w in LATIN_WORD.findall(text) if w not in ENGLISH_ALLOWED})
    for data in CHINESE_DATA:
        text = text.replace(data, " ")
    return sorted(set(CJK.findall(text)))


@dataclass
class Tour:
    client: Client
    demo: Demo
    # Read before the app starts (on PostgreSQL its pool belongs to the app's loop): each
    # household's join code, and the neighbours' card.
    join_codes: dict[int, str]
    neighbour_card: str
    seen: dict[str, list[str]] = field(default_factory=dict)  # page -> problems
    paths: set[str] = field(default_factory=set)  # addresses opened

    def check(self, name: str, response: Any, locale: str) -> Page:
        assert response.status_code < 500, (name, response.status_code)
        content_type = response.headers["content-type"]
        assert content_type.startswith(("text/html", "image/svg+xml")), (name, content_type)
        page = Page(response.text)
        if problems := untranslated(page.text, locale):
            self.seen[f"{name} [{locale}]"] = problems
        else:
            self.seen.setdefault(f"{name} [{locale}]", [])
        self.paths.add(response.request.url.path)
        return page

    async def both(self, name: str, path: str, status: int = 200) -> Page:
        """A GET page in English, then in Chinese (the Chinese page is returned)."""
        for locale in ("en", "zh_CN"):
            joiner = "&" if "?" in path else "?"
            response = await self.client.get(f"{path}{joiner}lang={locale}")
            assert response.status_code == status, (name, locale, response.status_code)
            page = self.check(name, response, locale)
        return page

    async def send(
        self, name: str, page: Page, action: str, button: int | None = None, **fields: Any
    ) -> Page:
        """Send a form of `page` in Chinese, then the very same form again in English."""
        form = page.form(action)
        data = {
            **form.fields,
            **dict(form.buttons[button : button + 1] if button is not None else []),
            **fields,
        }
        answer: Page | None = None
        for locale in ("zh_CN", "en"):
            if form.method == "post":
                response = await self.client.post(form.action, params={"lang": locale}, data=data)
            else:
                response = await self.client.get(form.action, params={**data, "lang": locale})
            assert response.status_code == 200, (name, locale, Page(response.text).text[-300:])
            checked = self.check(name, response, locale)
            answer = answer or checked
        assert answer is not None
        return answer

    async def sign_in(self, username: str) -> None:
        self.client.cookies.clear()
        form = Page((await self.client.get("/login")).text).form("/login")
        data = {**form.fields, "username": username, "password": DEMO_PASSWORD}
        signed_in = await self.client.post("/login", data=data, follow_redirects=False)
        assert signed_in.status_code == 303, signed_in.status_code


async def a_shift_to_approve(settings: Settings, demo: Demo) -> None:
    """An hour at the post that ended an hour ago, waiting for the coordinator; and points for
    the counter to spend."""
    clock = FrozenClock(datetime.now(UTC) - timedelta(hours=2))
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    volunteer = await services.users.authenticate("volunteer", DEMO_PASSWORD)
    await services.shifts.check_in(volunteer, "tour-in", demo.post_token)
    clock.advance(hours=1)
    await services.shifts.check_out(volunteer, "tour-out", demo.post_token)
    await services.accounts.adjust(SYSTEM, "tour-gift", demo.account_id, 200, "纸质积分本结转")
    # A notice in the resident's inbox (its text is on the home page): a redemption, projected.
    resident = await services.users.authenticate("resident", DEMO_PASSWORD)
    rewards = await services.registry.page("rewards", None, 1, {})
    await services.spending.redeem(
        resident, "tour-redeem", demo.household_id, rewards.items[0]["id"], 1
    )
    await services.sealer.seal_all()
    await services.notice_projector.catch_up()


@pytest.fixture
async def tour(fresh_db: None, settings: Settings) -> AsyncIterator[Tour]:
    demo = await seed(settings)
    await a_shift_to_approve(settings, demo)
    codes = {row["id"]: row["join_code"] for row in await Household.select()}
    services = Services.build(settings.keyring(), settings.base_url)
    neighbour_card = await services.codes.token_for(CodeKind.HOUSEHOLD, demo.household_id + 1)
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.headers.update(BROWSER)
        yield Tour(client, demo, codes, neighbour_card)


async def test_every_page_speaks_the_chosen_language(tour: Tour, settings: Settings) -> None:
    await visit_as_a_stranger(tour)
    await visit_as_an_applicant(tour)
    await visit_as_an_inspector(tour)
    await visit_as_a_resident(tour)
    await visit_as_a_volunteer(tour)
    await visit_as_a_coordinator(tour)
    await visit_as_a_clerk(tour)
    await visit_as_staff(tour)
    problems = {page: words for page, words in tour.seen.items() if words}
    assert problems == {}, "untranslated text (add it to the catalog, or translate the page)"
    unvisited = [
        route
        for route in page_routes(create_app(settings))
        if not any(re.fullmatch(route_pattern(route), path) for path in tour.paths)
    ]
    assert unvisited == [], "pages the tour does not open: add them to it"


async def visit_as_a_stranger(tour: Tour) -> None:
    await tour.both("login", "/login")
    await tour.both("code, signed out", f"/q/{tour.demo.point_token}")
    await visit_as_someone_joining(tour)
    await tour.both("code, invalid", "/q/hello", status=404)
    await tour.both("no such page", "/no/such/page", status=404)
    await tour.both("form-only address", "/coordinator/shifts", status=405)
    await tour.both("published day heads", "/log")
    check = await tour.both("receipt check", "/log/check")
    await tour.send("receipt refused", check, "/log/check", receipt="{}")


async def visit_as_an_applicant(tour: Tour) -> None:
    """Signed out at a duty post: apply as a volunteer (a refusal first, then the form)."""
    post = await tour.both("duty post, signed out", f"/q/{tour.demo.post_token}")
    link = re.search(r'href="(/volunteer/apply\?community=\d+)"', post.html)
    assert link, "an invitation to apply"
    form = await tour.both("volunteer application", link.group(1))
    action = r"/volunteer/apply\?event=[0-9a-f-]+"
    fields = {"name": APPLICANT_NAME, "phone": "13812345678", "affiliation": "party_member"}
    bad = {**form.form(action).fields, **fields, "pin": "123456", "party_branch": PARTY_BRANCH}
    for locale in ("zh_CN", "en"):
        refused = await tour.client.post(
            form.form(action).action, params={"lang": locale}, data=bad
        )
        assert refused.status_code == 400, refused.status_code
        tour.check("volunteer application refused", refused, locale)
    sent = {**form.form(action).fields, **fields, "pin": "582039", "party_branch": PARTY_BRANCH}
    for locale in ("zh_CN", "en"):  # the same form twice: the second is a replay
        applied = await tour.client.post(
            form.form(action).action, params={"lang": locale}, data=sent
        )
        assert applied.status_code == 200, Page(applied.text).text[-300:]
        tour.check("volunteer applied", applied, locale)


async def visit_as_an_inspector(tour: Tour) -> None:
    demo = tour.demo
    await tour.sign_in("inspector")
    await tour.both("inspector home", "/inspector")
    await tour.both("inspector app, scanner", "/app/scan")
    await tour.both("inspector app, grading offline", "/app/grade")
    await tour.both("collection point, inspector", f"/q/{demo.point_token}")
    grading = await tour.both("grading", f"/q/{demo.card_token}")
    await tour.send("graded", grading, f"/scan/{demo.card_token}/grade", button=2)


async def visit_as_a_resident(tour: Tour) -> None:
    demo = tour.demo
    await tour.sign_in("resident")
    dropoff = await tour.both("drop-off", f"/q/{demo.point_token}")
    await tour.send("dropped off", dropoff, f"/scan/{demo.point_token}/dropoff")
    home = await tour.both("resident home", "/home")
    assert "本户账户兑换了垃圾袋一卷" in home.text  # the inbox
    link = re.search(r'href="(/home/appeal/\d+)"', home.html)
    assert link, "a grade to appeal"
    receipt = re.search(r'href="(/home/receipt/\d+)"', home.html)
    assert receipt, "an entry with a receipt link"
    await tour.both("entry receipt, day not published yet", receipt.group(1))
    appeal = await tour.both("appeal form", link.group(1))
    await tour.send("appeal sent", appeal, link.group(1), reason=APPEAL_REASON)
    home = await tour.both("resident home, appeal open", "/home")
    assert "申诉： 待处理" in home.text  # the status, not the verb 打开
    await tour.both("not for this role", "/staff", status=403)


async def visit_as_a_volunteer(tour: Tour) -> None:
    demo = tour.demo
    await tour.sign_in("volunteer")
    post = await tour.both("volunteer post", f"/q/{demo.post_token}")
    await tour.send("checked in", post, f"/scan/{demo.post_token}/check-in")
    home = await tour.both("volunteer home, on shift", "/volunteer")
    assert "进行中" in home.text
    post = await tour.both("volunteer post, on shift", f"/q/{demo.post_token}")
    await tour.send("checked out", post, f"/scan/{demo.post_token}/check-out")
    await tour.both("volunteer home", "/volunteer")
    certificate = re.search(r'href="(/api/v1/volunteers/\d+/certificate)"', home.html)
    assert certificate, "a certificate link"
    await tour.both("certificate", certificate.group(1))


async def visit_as_a_coordinator(tour: Tour) -> None:
    await tour.sign_in("coordinator")
    page = await tour.both("coordinator home", "/coordinator")
    await tour.send("shifts decided", page, "/coordinator/shifts", button=0)
    await tour.send("appeal decided", page, r"/coordinator/appeals/\d+", button=0)
    applications = await tour.both("volunteer applications", "/coordinator/volunteers")
    assert PARTY_BRANCH in applications.text
    await tour.send("volunteer approved", applications, r"/coordinator/volunteers/\d+", button=0)
    await tour.both("re-inspection sample", "/coordinator/reinspections")
    backfill = await tour.both("back-fill hours", "/coordinator/backfill")
    await tour.send("hours back-filled", backfill, "/coordinator/backfill", note=STAFF_REASON)
    rotation = await tour.both("rotation plan", "/coordinator/rotation")
    await tour.send("rotation assigned", rotation, "/coordinator/rotation", button=0)


async def visit_as_a_clerk(tour: Tour) -> None:
    demo = tour.demo
    await tour.sign_in("clerk")
    await tour.both("counter home", "/counter")
    counter = await tour.both("counter", f"/q/{demo.card_token}")
    confirm = await tour.send("confirm reward", counter, f"/scan/{demo.card_token}/redeem")
    receipt = await tour.send("reward receipt", confirm, f"/scan/{demo.card_token}/redeem")
    confirm = await tour.send("confirm payment", counter, f"/scan/{demo.card_token}/pay", amount=5)
    await tour.send("payment receipt", confirm, f"/scan/{demo.card_token}/pay")
    weigh = await tour.both("weigh-in", f"/scan/{demo.card_token}/weigh")
    await tour.send("weighed", weigh, f"/scan/{demo.card_token}/weigh", kilograms="2.5")
    bad = {**weigh.form(f"/scan/{demo.card_token}/weigh").fields, "kilograms": "x"}
    for locale in ("zh_CN", "en"):
        refused = await tour.client.post(
            f"/scan/{demo.card_token}/weigh", params={"lang": locale}, data=bad
        )
        assert refused.status_code == 400, refused.status_code
        tour.check("weigh-in refused", refused, locale)
    redemption = re.search(r'id="receipt-number">(\d+)<', receipt.html)
    assert redemption, "a receipt number"
    refund = await tour.both("refund", "/counter/refund")
    await tour.send(
        "refunded",
        refund,
        "/counter/refund",
        redemption_id=redemption.group(1),
        reason=STAFF_REASON,
    )


async def visit_as_staff(tour: Tour) -> None:
    await tour.sign_in("admin")
    staff = (await tour.client.get("/staff")).text
    await tour.both("staff dashboard", "/staff")
    for chart in re.findall(r'src="(/staff/charts/[^"]+)"', staff):
        await tour.both(chart.split("?")[0], chart.replace("&amp;", "&"))
    for sheet in re.findall(r'href="(/api/v1/qr/sheet\?[^"]+)"', staff):
        await tour.both("QR sheet " + sheet[-10:], sheet.replace("&amp;", "&"))
    await tour.both("verify", "/staff/verify")
    books = await tour.both("the books", "/staff/books")
    for chart in re.findall(r'src="(/staff/books/charts/[^"]+)"', books.html):
        await tour.both(chart.split("?")[0], chart.replace("&amp;", "&"))
    await visit_staff_operations(tour)


async def visit_staff_operations(tour: Tour) -> None:
    demo = tour.demo
    await tour.both("households", "/staff/households")
    await tour.both("households found", "/staff/households?q=101")
    history = await tour.both("account history", f"/staff/accounts/{demo.account_id}")
    reverse = re.search(r'href="(/staff/entries/\d+/reverse)"', history.html)
    assert reverse, "an entry to reverse"
    form = await tour.both("reverse an entry", reverse.group(1))
    await tour.send("entry reversed", form, reverse.group(1), reason=STAFF_REASON)
    shops = await tour.both("partner shops", "/staff/merchants")
    settle = re.search(r'href="(/staff/merchants/\d+/settle)"', shops.html)
    assert settle, "a shop to settle"
    form = await tour.both("settle a shop", settle.group(1))
    await tour.send("shop settled", form, settle.group(1))
    users = await tour.both("users", "/staff/users")
    deactivate = re.search(r'href="(/staff/users/\d+/deactivate)"', users.html)
    assert deactivate, "a user to deactivate"
    form = await tour.both("deactivate a user", deactivate.group(1))
    await tour.send("user deactivated", form, deactivate.group(1))
    card = f"/staff/households/{demo.household_id}/card"
    form = await tour.both("re-issue a card", card)
    await tour.send("card re-issued", form, card)
    join_code_page = f"/staff/households/{demo.household_id}/join-code"
    form = await tour.both("join code and members", join_code_page)
    assert "13912341234" in form.text  # admins see the whole number
    await tour.send("join code reset", form, join_code_page)
    await tour.send("member removed", form, rf"{join_code_page}/members/\d+/remove")


async def visit_as_someone_joining(tour: Tour) -> None:
    """A household card's page offers to join; a wrong code is refused; the right one signs
    in on the home page; the same person helps the neighbours' household too, switches to it
    on the home page and leaves it again."""
    demo = tour.demo
    card = await tour.both("household card, signed out", f"/q/{demo.card_token}")
    assert f'href="/join/{demo.card_token}"' in card.html
    form = await tour.both("join form", f"/join/{demo.card_token}")
    person = {"phone": "13912341234", "pin": "284913", "pin_again": "284913"}
    wrong = "000000" if tour.join_codes[demo.household_id] != "000000" else "000001"
    bad = {**form.form(f"/join/{demo.card_token}").fields, **person, "join_code": wrong}
    for locale in ("zh_CN", "en"):
        refused = await tour.client.post(
            f"/join/{demo.card_token}", params={"lang": locale}, data=bad
        )
        assert refused.status_code == 403, refused.status_code
        tour.check("join refused", refused, locale)
    code = tour.join_codes[demo.household_id]
    home = await tour.send(
        "joined", form, f"/join/{demo.card_token}", **person, display_name="王建国", join_code=code
    )
    assert "王建国" in home.text
    neighbours = demo.household_id + 1
    neighbour_card = tour.neighbour_card
    await tour.both("neighbours' card, a resident", f"/q/{neighbour_card}")
    helper_form = await tour.both("join form, signed in", f"/join/{neighbour_card}")
    helper_data = {**person, "join_code": tour.join_codes[neighbours], "as_helper": "1"}
    await tour.send("helping", helper_form, f"/join/{neighbour_card}", **helper_data)
    switched = await tour.both("resident home, helping", f"/home?household={neighbours}")
    assert 'id="my-households"' in switched.html
    leave = switched.form(r"/home/members/\d+/remove")
    left = await tour.client.post(leave.action, data=leave.fields, follow_redirects=False)
    assert (left.status_code, left.headers["location"]) == (303, "/login")
    signed_out = await tour.client.get("/home", follow_redirects=False)
    assert signed_out.status_code != 200, "the leaver's session ended"
    tour.client.cookies.clear()


def page_routes(app: Litestar) -> set[str]:
    """Every address that answers a GET with a page."""
    paths = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "GET" not in route.methods:
            continue
        if route.path.startswith(
            ("/api/", "/static", "/schema", "/swagger-ui", "/health", "/metrics")
        ):
            continue
        paths.add(route.path)
    return paths - set(NOT_PAGES)


def route_pattern(route: str) -> str:
    return re.sub(r"\{[^}]+\}", "[^/]+", route)
