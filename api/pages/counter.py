"""The exchange counter: a clerk scans a household card, then a reward or a payment, confirms,
and prints or shows the receipt. Same `Spending.redeem` / `Spending.pay` as the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from api.deps import PrincipalDep, ServicesDep
from api.errors import STATUS_BY_CODE
from api.pages import forms
from api.pages.messages import refusal_texts
from api.pages.once import page_event_id, with_new_event_id
from api.pages.op_pages import already, operation_post
from api.pages.scan import CodeToken, check_length, subject_of
from api.pages.web import render
from api.schemas import ID_MAX
from api.security import requires
from ledger.domain.access import Principal, Role
from ledger.domain.errors import LedgerError, NotFound
from ledger.domain.rewards import QUANTITY_MAX
from ledger.domain.scan_codes import CodeKind
from ledger.services.catalog import RewardView
from ledger.services.container import Services
from ledger.services.spending import MerchantRow

CLERKS = [requires(Role.CLERK)]
AMOUNT_MAX = 1_000_000
RewardId = Annotated[int, QueryParameter(ge=1, le=ID_MAX)]
Quantity = Annotated[int, QueryParameter(ge=1, le=QUANTITY_MAX)]
Amount = Annotated[int, QueryParameter(ge=1, le=AMOUNT_MAX)]


@get("/counter", guards=CLERKS, include_in_schema=False)
async def counter_home(principal: PrincipalDep) -> Response[Any]:
    return render("counter_home.html", me=principal)


async def _household(services: Services, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    check_length(token)
    code, row = await services.codes.resolve(token, CodeKind.HOUSEHOLD)
    return row, await subject_of(code.kind, row)


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


async def _balance(services: Services, principal: Principal, row: dict[str, Any]) -> int:
    account = await services.accounts.account(principal, row["account"])
    return account.balance_points


@get("/scan/{token:str}/redeem", guards=CLERKS, include_in_schema=False)
async def confirm_redemption(
    token: CodeToken,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
    reward_id: RewardId,
    quantity: Quantity = 1,
) -> Response[Any]:
    """Nothing happens yet: the clerk and the resident check the reward and the points. The
    choice gets its event id here, once, in this page's URL (api/pages/once.py)."""
    event_id = page_event_id(request)
    if event_id is None:
        return with_new_event_id(request)
    row, subject = await _household(services, token)
    reward = await _reward(services, subject["community_id"], reward_id)
    balance = await _balance(services, principal, row)
    total = reward.cost_points * quantity
    return render(
        "confirm.html",
        me=principal,
        token=token,
        subject=subject,
        what="redeem",
        reward=reward,
        quantity=quantity,
        total=total,
        balance=balance,
        balance_after=balance - total,
        event_id=event_id,
        outcome=await services.runner.outcome_of(event_id, principal),
    )


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


@operation_post("/scan/{token:str}/redeem", CLERKS, COUNTER_ERRORS)
async def redeem(
    token: CodeToken,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response[Any]:
    """The receipt; sending the form again replays it (same event_id) instead of paying twice."""
    _, subject = await _household(services, token)
    form = await forms.read(request)
    reward_id = forms.integer(form, "reward_id")
    quantity = forms.integer(form, "quantity", 1, QUANTITY_MAX)
    event_id = forms.required(form, "event_id", 64)
    again = await already(services, principal, event_id)
    result = await services.spending.redeem(principal, event_id, token, reward_id, quantity)
    reward = await _reward(services, subject["community_id"], reward_id)
    return render(
        "receipt.html",
        me=principal,
        subject=subject,
        what="redeem",
        reward=reward,
        quantity=quantity,
        result=result,
        at=result.redeemed_at,
        again=again,
    )


@get("/scan/{token:str}/pay", guards=CLERKS, include_in_schema=False)
async def confirm_payment(
    token: CodeToken,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
    merchant_id: RewardId,
    amount: Amount,
) -> Response[Any]:
    event_id = page_event_id(request)
    if event_id is None:
        return with_new_event_id(request)
    row, subject = await _household(services, token)
    merchant = await _merchant(services, subject["community_id"], merchant_id)
    balance = await _balance(services, principal, row)
    return render(
        "confirm.html",
        me=principal,
        token=token,
        subject=subject,
        what="pay",
        merchant=merchant,
        amount=amount,
        total=amount,
        balance=balance,
        balance_after=balance - amount,
        event_id=event_id,
        outcome=await services.runner.outcome_of(event_id, principal),
    )


@operation_post("/scan/{token:str}/pay", CLERKS, COUNTER_ERRORS)
async def pay(
    token: CodeToken,
    request: Request[Any, Any, Any],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response[Any]:
    _, subject = await _household(services, token)
    form = await forms.read(request)
    merchant_id = forms.integer(form, "merchant_id")
    amount = forms.integer(form, "amount", 1, AMOUNT_MAX)
    event_id = forms.required(form, "event_id", 64)
    again = await already(services, principal, event_id)
    result = await services.spending.pay(principal, event_id, token, merchant_id, amount)
    merchant = await _merchant(services, subject["community_id"], merchant_id)
    return render(
        "receipt.html",
        me=principal,
        subject=subject,
        what="pay",
        merchant=merchant,
        amount=amount,
        result=result,
        at=result.paid_at,
        again=again,
    )


COUNTER_HANDLERS = [
    counter_home,
    confirm_redemption,
    redeem,
    confirm_payment,
    pay,
]
