"""The exchange counter: a clerk scans a household card, then a reward or a payment, confirms,
and prints or shows the receipt. Same `Spending.redeem` / `Spending.pay` as the API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from api import qr_images
from api.deps import PrincipalDep
from api.errors import STATUS_BY_CODE
from api.pages import forms
from api.pages.messages import refusal_texts
from api.pages.once import page_event_id, with_new_event_id
from api.pages.op_pages import Operation, OperationDep, already, operation_post
from api.pages.scan import CodeToken, check_length, subject_of
from api.pages.web import render
from api.params import QueryId
from api.security import requires
from ledger.domain.access import Principal, Role
from ledger.domain.errors import LedgerError, NotFound
from ledger.domain.rewards import QUANTITY_MAX
from ledger.services.catalog import RewardView
from ledger.services.container import Services
from ledger.services.spending import MerchantRow, Spending
from ledger.store.earning import ScannedHousehold

CLERKS = [requires(Role.CLERK)]
AMOUNT_MAX = 1_000_000
Quantity = Annotated[int, QueryParameter(ge=1, le=QUANTITY_MAX)]
Amount = Annotated[int, QueryParameter(ge=1, le=AMOUNT_MAX)]


@get("/counter", guards=CLERKS, include_in_schema=False)
async def counter_home(principal: PrincipalDep) -> Response[Any]:
    return render("counter_home.html", me=principal)


async def scanned_household(
    services: Services, token: str
) -> tuple[ScannedHousehold, dict[str, Any]]:
    """The scanned household card's household and the subject its pages show."""
    check_length(token)
    household = await services.codes.household(token)
    return household, await subject_of(household)


async def _reward(services: Services, community_id: int, reward_id: int) -> RewardView:
    """The reward by its id, if it is the household's community's (any of its rewards)."""
    reward = await services.catalog.reward(reward_id)
    if reward.community_id != community_id:
        raise NotFound("reward", reward_id)
    return reward


async def _merchant(services: Services, community_id: int, merchant_id: int) -> MerchantRow:
    merchant = await services.spending.merchant(merchant_id)
    if merchant.community != community_id:
        raise NotFound("merchant", merchant_id)
    return merchant


async def _balance(services: Services, principal: Principal, row: ScannedHousehold) -> int:
    account = await services.accounts.account(principal, row.account)
    return account.balance_points


Chosen = Callable[[dict[str, Any]], Awaitable[tuple[int, dict[str, Any]]]]
"""What the clerk chose, for the household's subject: its total in points and its context."""


async def _confirm(op: Operation, token: str, what: str, chosen: Chosen) -> Response[Any]:
    """`confirm.html`: the choice, its total and the balance after; the first visit mints the
    choice's event id, once, in this page's URL (api/pages/once.py)."""
    request, principal, services = op.request, op.principal, op.services
    event_id = page_event_id(request)
    if event_id is None:
        return with_new_event_id(request)
    row, subject = await scanned_household(services, token)
    total, context = await chosen(subject)
    balance = await _balance(services, principal, row)
    return render(
        "confirm.html",
        me=principal,
        token=token,
        subject=subject,
        what=what,
        total=total,
        balance=balance,
        balance_after=balance - total,
        event_id=event_id,
        outcome=await services.runner.outcome_of(event_id, principal),
        **context,
    )


@get("/scan/{token:str}/redeem", guards=CLERKS, include_in_schema=False)
async def confirm_redemption(
    token: CodeToken, op: OperationDep, reward_id: QueryId, quantity: Quantity = 1
) -> Response[Any]:
    """Nothing happens yet: the clerk and the resident check the reward and the points."""

    async def chosen(subject: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        reward = await _reward(op.services, subject["community_id"], reward_id)
        return reward.cost_points * quantity, {"reward": reward, "quantity": quantity}

    return await _confirm(op, token, "redeem", chosen)


def _counter_refused(request: Request[Any, Any, Any], exc: LedgerError) -> Template:
    """Every reason, with its numbers; the way back is the household's counter page, where
    another reward or quantity is chosen (the failed form would only fail again)."""
    token = str(request.path_params.get("token", ""))
    return render(
        "counter_refused.html",
        STATUS_BY_CODE.get(exc.code, 400),
        me=request.user,
        reasons=refusal_texts(exc),
        back=f"/q/{quote(token, safe='')}",
    )


COUNTER_ERRORS: dict[Any, Any] = {LedgerError: _counter_refused}


@dataclass(frozen=True, slots=True)
class Spend:
    """What a counter POST spends the household's points on: `redeem` a quantity of a reward,
    or `pay` a shop an amount. The form names the choice `<chosen>_id` and the count `<count>`;
    the receipt shows both under those names."""

    what: str
    chosen: str
    count: str
    count_max: int
    act: Callable[[Spending], Callable[..., Awaitable[Any]]]
    find: Callable[[Services, int, int], Awaitable[Any]]
    at: Callable[[Any], str]


async def _receipt(op: Operation, token: str, spend: Spend) -> Response[Any]:
    """Spends once and shows `receipt.html`; sending the form again replays it (same
    event_id) instead of paying twice."""
    request, principal, services = op.request, op.principal, op.services
    _, subject = await scanned_household(services, token)
    form = await forms.read(request)
    chosen_id = forms.integer(form, f"{spend.chosen}_id")
    count = forms.integer(form, spend.count, 1, spend.count_max)
    event_id = forms.required(form, "event_id", 64)
    again = await already(services, principal, event_id)
    act = spend.act(services.spending)
    result = await act(principal, event_id, token, chosen_id, count)
    chosen = await spend.find(services, subject["community_id"], chosen_id)
    # The printed receipt's QR: the entry's receipt page (the proof exists once its day's head
    # is published, after local midnight).
    base = str(request.app.state.settings.base_url).rstrip("/")
    check_qr = await asyncio.to_thread(
        qr_images.svg_inline, f"{base}/home/receipt/{result.entry_id}"
    )
    return render(
        "receipt.html",
        check_qr=check_qr,
        me=principal,
        subject=subject,
        what=spend.what,
        result=result,
        at=spend.at(result),
        again=again,
        **{spend.chosen: chosen, spend.count: count},
    )


REDEEMING = Spend(
    what="redeem",
    chosen="reward",
    count="quantity",
    count_max=QUANTITY_MAX,
    act=lambda spending: spending.redeem,
    find=_reward,
    at=lambda redeemed: redeemed.redeemed_at,
)
PAYING = Spend(
    what="pay",
    chosen="merchant",
    count="amount",
    count_max=AMOUNT_MAX,
    act=lambda spending: spending.pay,
    find=_merchant,
    at=lambda paid: paid.paid_at,
)


@operation_post("/scan/{token:str}/redeem", CLERKS, COUNTER_ERRORS)
async def redeem(token: CodeToken, op: OperationDep) -> Response[Any]:
    """The receipt of `Spending.redeem`."""
    return await _receipt(op, token, REDEEMING)


@get("/scan/{token:str}/pay", guards=CLERKS, include_in_schema=False)
async def confirm_payment(
    token: CodeToken, op: OperationDep, merchant_id: QueryId, amount: Amount
) -> Response[Any]:
    """Nothing is paid yet: the clerk and the resident check the shop and the amount."""

    async def chosen(subject: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        merchant = await _merchant(op.services, subject["community_id"], merchant_id)
        return amount, {"merchant": merchant, "amount": amount}

    return await _confirm(op, token, "pay", chosen)


@operation_post("/scan/{token:str}/pay", CLERKS, COUNTER_ERRORS)
async def pay(token: CodeToken, op: OperationDep) -> Response[Any]:
    """The receipt of `Spending.pay`."""
    return await _receipt(op, token, PAYING)


COUNTER_HANDLERS = [
    counter_home,
    confirm_redemption,
    redeem,
    confirm_payment,
    pay,
]
