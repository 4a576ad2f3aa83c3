"""Spending: the rewards catalogue, redemptions, refunds, payments, settlement, expiry lists."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from api.dates import parse_optional_day, parse_period
from api.deps import PrincipalDep, ServicesDep
from api.downloads import csv_download, wants_csv
from api.openapi_docs import also_answers
from api.params import Format, FromDay, OptionalId, PathId, ToDay
from api.schemas import (
    EventOnly,
    ExpiringAccount,
    ExpiringPage,
    PaymentIn,
    PaymentReply,
    RedemptionIn,
    RedemptionReply,
    RefundIn,
    ReorderThreshold,
    ReorderThresholdIn,
    RestockIn,
    RewardChangeIn,
    RewardCostIn,
    RewardCostView,
    RewardHistoryItem,
    RewardView,
    Settled,
    Statement,
)
from api.security import ADMIN_ONLY, requires
from api.spreadsheets import csv_text
from ledger.domain.access import Role
from ledger.domain.errors import InvalidInput
from ledger.services.accounts import decode_cursor, encode_cursor
from ledger.services.catalog import RewardFields
from ledger.services.spending import MerchantStatement

STAFF_AT_COUNTER = [requires(Role.CLERK, Role.ADMIN)]


class SpendingController(Controller):
    path = "/api/v1"
    tags = ["spending"]

    @patch("/rewards/{reward_id:int}", operation_id="ChangeReward", guards=ADMIN_ONLY)
    async def change_reward(
        self,
        reward_id: PathId,
        data: JSONBody[RewardChangeIn],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> RewardView:
        """Change a reward's terms going forward; the change is kept in its history."""
        fields = msgspec.to_builtins(data)
        fields.pop("event_id")
        for key in ("active_from", "active_until"):
            fields[key] = parse_optional_day(fields.get(key), key)
        changes = RewardFields(**fields)
        return await services.catalog.change(principal, data.event_id, reward_id, changes)

    @post(
        "/rewards/{reward_id:int}/restock",
        operation_id="RestockReward",
        guards=ADMIN_ONLY,
        status_code=HTTP_200_OK,
    )
    async def restock(
        self,
        reward_id: PathId,
        data: JSONBody[RestockIn],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> RewardView:
        return await services.catalog.restock(principal, data.event_id, reward_id, data.quantity)

    @post(
        "/rewards/{reward_id:int}/retire",
        operation_id="RetireReward",
        guards=ADMIN_ONLY,
        status_code=HTTP_200_OK,
    )
    async def retire(
        self,
        reward_id: PathId,
        data: JSONBody[EventOnly],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> RewardView:
        """No longer redeemable; the reward and its history stay."""
        return await services.catalog.retire(principal, data.event_id, reward_id)

    @get("/rewards/{reward_id:int}/history", operation_id="RewardHistory", guards=ADMIN_ONLY)
    async def reward_history(
        self, reward_id: PathId, services: ServicesDep
    ) -> list[RewardHistoryItem]:
        history = await services.catalog.history(reward_id)
        return msgspec.convert(history, list[RewardHistoryItem], from_attributes=True)

    @post("/rewards/{reward_id:int}/costs", operation_id="SetRewardCost", guards=ADMIN_ONLY)
    async def set_reward_cost(
        self,
        reward_id: PathId,
        data: JSONBody[RewardCostIn],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> RewardCostView:
        """A new unit cost in fen, added to the reward's cost history (never replacing a row):
        a redemption is valued at the cost in force when it was made (the books)."""
        return await services.books.set_cost(
            principal,
            data.event_id,
            data.community_id,
            reward_id,
            data.cost_fen,
            parse_optional_day(data.effective_from, "effective_from"),
        )

    @get("/rewards/{reward_id:int}/costs", operation_id="RewardCosts", guards=ADMIN_ONLY)
    async def reward_costs(self, reward_id: PathId, services: ServicesDep) -> list[RewardCostView]:
        """The reward's unit costs as they were set, oldest first."""
        return await services.books.costs(reward_id)

    @post(
        "/rewards/{reward_id:int}/reorder-threshold",
        operation_id="SetReorderThreshold",
        guards=ADMIN_ONLY,
        status_code=HTTP_200_OK,
    )
    async def set_reorder_threshold(
        self,
        reward_id: PathId,
        data: JSONBody[ReorderThresholdIn],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> ReorderThreshold:
        """Stock at or below the threshold raises a reorder alert on the books."""
        return await services.books.set_threshold(
            principal, data.event_id, data.community_id, reward_id, data.threshold
        )

    @post("/redemptions", operation_id="Redeem", guards=[requires(Role.CLERK, Role.RESIDENT)])
    async def redeem(
        self, data: JSONBody[RedemptionIn], principal: PrincipalDep, services: ServicesDep
    ) -> RedemptionReply:
        """A clerk scans the card (`household_token`), or a resident names their own
        `household_id`. 409 `insufficient_points`, `out_of_stock`, `limit_reached`,
        `reward_inactive`; all or nothing."""
        if (data.household_token is None) == (data.household_id is None):
            raise InvalidInput("household_token", "give household_token or household_id, not both")
        reference: str | int = data.household_token or data.household_id  # type: ignore[assignment]
        result = await services.spending.redeem(
            principal, data.event_id, reference, data.reward_id, data.quantity
        )
        return msgspec.convert(result, RedemptionReply, from_attributes=True)

    @post(
        "/redemptions/{redemption_id:int}/refund",
        operation_id="RefundRedemption",
        guards=STAFF_AT_COUNTER,
    )
    async def refund(
        self,
        redemption_id: PathId,
        data: JSONBody[RefundIn],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> RedemptionReply:
        """Points and stock go back, once (409 `already_reversed`)."""
        result = await services.spending.refund(
            principal, data.event_id, redemption_id, data.reason
        )
        return msgspec.convert(result, RedemptionReply, from_attributes=True)

    @post("/payments", operation_id="PayMerchant", guards=[requires(Role.CLERK)])
    async def pay(
        self, data: JSONBody[PaymentIn], principal: PrincipalDep, services: ServicesDep
    ) -> PaymentReply:
        """A household pays a partner merchant any amount up to its balance."""
        result = await services.spending.pay(
            principal, data.event_id, data.household_token, data.merchant_id, data.amount_points
        )
        return msgspec.convert(result, PaymentReply, from_attributes=True)

    @post(
        "/merchants/{merchant_id:int}/settlements", operation_id="SettleMerchant", guards=ADMIN_ONLY
    )
    async def settle(
        self,
        merchant_id: PathId,
        data: JSONBody[EventOnly],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> Settled:
        """Move all the merchant's points to the settled sink (409 `nothing_to_settle`)."""
        return await services.spending.settle(principal, data.event_id, merchant_id)

    @get(
        "/merchants/{merchant_id:int}/statement",
        operation_id="MerchantStatement",
        guards=ADMIN_ONLY,
        operation_class=also_answers("text/csv"),
    )
    async def statement(
        self,
        merchant_id: PathId,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        from_: FromDay,
        to: ToDay,
        format: Format = None,
    ) -> Response[Any]:
        """Payments received and settlements for local days `from`..`to`; `?format=csv` or
        `Accept: text/csv` for a spreadsheet."""
        first, last = parse_period(from_, to)
        result = await services.spending.statement(merchant_id, first, last)
        if wants_csv(request, format):
            stem = f"{first.isoformat()}_{last.isoformat()}.csv"
            return csv_download(
                _statement_csv(result),
                f"merchant-{merchant_id}-statement_{stem}",
                f"{result.merchant}_对账单_{stem}",
            )
        return Response(_statement(result))

    @get("/accounts:expiring", operation_id="ListExpiringAccounts", guards=ADMIN_ONLY)
    async def expiring(
        self,
        services: ServicesDep,
        within_days: Annotated[int, QueryParameter(ge=1, le=366)] = 30,
        community_id: OptionalId = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> ExpiringPage:
        """Accounts with points that expire within N days, for reminders."""
        rows = await services.expiry.expiring(
            community_id, within_days, decode_cursor(cursor) or 0, limit + 1
        )
        items = msgspec.convert(rows[:limit], list[ExpiringAccount], from_attributes=True)
        more = len(rows) > limit
        return ExpiringPage(
            items=items, next_cursor=encode_cursor(items[-1].account_id) if more else None
        )


STATEMENT_TOTALS = (
    "merchant",
    "from",
    "to",
    "opening_balance_points",
    "received_points",
    "settled_points",
    "closing_balance_points",
)
STATEMENT_LINES = ("entry_id", "at", "kind", "points", "memo", "actor")


def _statement(statement: MerchantStatement) -> Statement:
    return Statement(
        merchant_id=statement.merchant_id,
        merchant=statement.merchant,
        from_=statement.first_day.isoformat(),
        to=statement.last_day.isoformat(),
        opening_balance_points=statement.opening_balance_points,
        received_points=statement.received_points,
        settled_points=statement.settled_points,
        closing_balance_points=statement.closing_balance_points,
        lines=statement.lines,
    )


def _statement_csv(statement: MerchantStatement) -> str:
    totals = msgspec.to_builtins(_statement(statement))
    return csv_text(
        [
            STATEMENT_TOTALS,
            [totals[key] for key in STATEMENT_TOTALS],
            [],
            STATEMENT_LINES,
            *([line[key] for key in STATEMENT_LINES] for line in totals["lines"]),
        ]
    )
