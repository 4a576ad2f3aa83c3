"""Sign-in, the caller's identity, and new users."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.deps import PrincipalDep, ServicesDep
from api.schemas import Me, NewUser, TokenReply, TokenRequest, UserReply
from api.security import ADMIN_ONLY, ANY_ROLE, principal_claims


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/token", operation_id="SignIn", status_code=HTTP_200_OK, opt={"public": True})
    async def sign_in(
        self, data: JSONBody[TokenRequest], services: ServicesDep, request: Request[Any, Any, Any]
    ) -> TokenReply:
        """Exchange a username and password for a bearer token (401 `invalid_credentials`)."""
        principal = await services.users.authenticate(data.username, data.password)
        auth = request.app.state.jwt_auth
        token = auth.create_token(
            identifier=str(principal.user_id), token_extras=principal_claims(principal)
        )
        return TokenReply(
            access_token=token,
            token_type="bearer",  # noqa: S106
            role=principal.role.value,
            expires_in=int(auth.default_token_expiration.total_seconds()),
        )

    @get("/me", operation_id="WhoAmI", guards=ANY_ROLE)
    async def me(self, principal: PrincipalDep, services: ServicesDep) -> Me:
        """The signed-in user, with the accounts they may read."""
        household_account = volunteer_account = None
        for account_id in principal.account_ids:
            account = await services.accounts.account(principal, account_id)
            if account["kind"] == "household":
                household_account = account_id
            else:
                volunteer_account = account_id
        return Me(
            user_id=principal.user_id,
            username=principal.username,
            role=principal.role.value,
            household_id=principal.household_id,
            volunteer_id=principal.volunteer_id,
            household_account_id=household_account,
            volunteer_account_id=volunteer_account,
            compound_ids=sorted(principal.compound_ids),
        )

    @post("/users", operation_id="CreateUser", guards=ADMIN_ONLY)
    async def create_user(
        self, data: JSONBody[NewUser], principal: PrincipalDep, services: ServicesDep
    ) -> UserReply:
        """A user with a role and, for staff, the compounds they serve (409 `username_taken`)."""
        result = await services.users.create(
            principal,
            data.event_id,
            data.username,
            data.password,
            data.role,
            household_id=data.household_id,
            volunteer_id=data.volunteer_id,
            compound_ids=tuple(data.compound_ids),
        )
        return msgspec.convert(result, UserReply)
