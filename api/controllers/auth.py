"""Sign-in, the caller's identity, and users: new ones, role changes, deactivation, unlocks."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK

from api.deps import PrincipalDep, ServicesDep
from api.schemas import (
    ID_MAX,
    EventOnly,
    Me,
    MyHousehold,
    NewUser,
    TokenReply,
    TokenRequest,
    UserAdded,
    UserChange,
    UserDetails,
)
from api.security import ADMIN_ONLY, ANY_ROLE, client_address, issue_token
from ledger.services.users import LoginRequest

UserPath = Annotated[
    str, PathParameter(max_length=40, description="a user id, then `:deactivate` or `:unlock`")
]


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/token", operation_id="SignIn", status_code=HTTP_200_OK, opt={"public": True})
    async def sign_in(
        self, data: JSONBody[TokenRequest], services: ServicesDep, request: Request[Any, Any, Any]
    ) -> TokenReply:
        """Exchange a username and password for a bearer token (401 `invalid_credentials`;
        429 `sign_in_locked` after repeated wrong passwords from this address, or very many
        for this username from everywhere)."""
        signed_in = await services.users.sign_in(
            data.username, data.password, client_address(request)
        )
        auth = request.app.state.jwt_auth
        return TokenReply(
            access_token=issue_token(request, signed_in),
            token_type="bearer",  # noqa: S106
            role=signed_in.principal.role.value,
            expires_in=int(auth.default_token_expiration.total_seconds()),
        )

    @get("/me", operation_id="WhoAmI", guards=ANY_ROLE)
    async def me(self, principal: PrincipalDep, services: ServicesDep) -> Me:
        """The signed-in user, with the accounts they may read and every household they act
        for (`helper`: one they help but do not live in)."""
        households = await services.members.households_of(principal)
        household_account = volunteer_account = None
        for account_id in principal.account_ids:
            account = await services.accounts.account(principal, account_id)
            if account.kind != "household":
                volunteer_account = account_id
        for household in households:
            if household.household_id == principal.household_id:
                household_account = household.account_id
        return Me(
            user_id=principal.user_id,
            username=principal.username,
            role=principal.role.value,
            household_id=principal.household_id,
            volunteer_id=principal.volunteer_id,
            household_account_id=household_account,
            volunteer_account_id=volunteer_account,
            compound_ids=sorted(principal.compound_ids),
            households=[msgspec.convert(h, MyHousehold, from_attributes=True) for h in households],
        )

    @post("/users", operation_id="CreateUser", guards=ADMIN_ONLY)
    async def create_user(
        self, data: JSONBody[NewUser], principal: PrincipalDep, services: ServicesDep
    ) -> UserAdded:
        """A user with a role and, for staff, the compounds they serve (409 `username_taken`)."""
        request = LoginRequest(
            data.username,
            data.password,
            data.role,
            household_id=data.household_id,
            volunteer_id=data.volunteer_id,
            compound_ids=tuple(data.compound_ids),
        )
        return await services.users.create(principal, data.event_id, request)

    @patch("/users/{user:str}", operation_id="ChangeUser", guards=ADMIN_ONLY)
    async def change_user(
        self,
        user: UserPath,
        data: JSONBody[UserChange],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> UserDetails:
        """A new role and/or compound scope; the user's tokens stop working (sign in again).
        The same role and compounds again change nothing."""
        compounds = tuple(data.compound_ids) if data.compound_ids is not None else None
        return await services.users.change(
            principal, data.event_id, _user_id(user), data.role, compounds
        )

    @post(
        "/users/{user:str}", operation_id="UserAction", guards=ADMIN_ONLY, status_code=HTTP_200_OK
    )
    async def user_action(
        self,
        user: UserPath,
        data: JSONBody[EventOnly],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> UserDetails:
        """`{id}:deactivate`: the user cannot sign in any more and every token they hold stops
        working. `{id}:unlock`: lift the sign-in locks wrong passwords put on their name."""
        user_id, _, action = user.partition(":")
        if action == "deactivate":
            result = await services.users.deactivate(principal, data.event_id, _user_id(user_id))
        elif action == "unlock":
            result = await services.users.unlock(_user_id(user_id))
        else:
            raise NotFoundException(f"no such action on a user: {action or '(none)'}")
        return result


def _user_id(text: str) -> int:
    """The id in `/users/{id}` (the path is a string so that `{id}:action` can share it)."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= ID_MAX:
        raise NotFoundException(f"no user {text!r}")
    return int(text)
