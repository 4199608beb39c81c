"""The auth mutations of ``/graphql/system`` (contract system-api.md "/graphql/system auth
mutations"; Directus ``api/src/services/graphql/resolvers/system-global.ts``).

Each calls the function its REST twin calls, so the stall, the limits, the auth-log events
and the errors (``extensions.code`` ``INVALID_CREDENTIALS``, ``INVALID_OTP``,
``USER_SUSPENDED``, ``REQUESTS_EXCEEDED``…) are the REST ones:

* ``auth_login`` → :func:`signin.flow.sign_in` with the local driver (``POST /auth/login``);
* ``auth_refresh`` / ``auth_logout`` → :func:`signin.refresh.presented_token` with
  :func:`~signin.refresh.refresh_padded` / :func:`~signin.refresh.logout`;
* ``auth_password_request`` / ``auth_password_reset`` → :mod:`lifecycle.resets`;
  ``users_invite`` / ``users_invite_accept`` → :mod:`lifecycle.invites` (``users_register``
  and ``users_register_verify`` have no REST route here, so no twin either);
* ``users_me_tfa_generate`` / ``_enable`` / ``_disable`` → :mod:`signin.reauth`,
  :func:`factors.totp.enable`.

Modes (``auth_mode``, default ``json``): ``json`` answers both tokens; ``cookie`` sets the
refresh cookie on the HTTP response and answers the access token; ``session`` sets the session
cookie and answers only ``expires``. Refresh and logout read the token from the argument
(json), the refresh cookie (cookie) or the session cookie (session). A socket cannot set or
read cookies, so there ``cookie`` and ``session`` are ``INVALID_PAYLOAD``. Cookies are only
read from a JSON ``POST`` (mutations are refused over ``GET``, and strawberry takes no form
bodies), so a form on another site cannot spend them: the rule
:func:`api.auth.refuse_cross_site_form` enforces for REST holds here by construction.

None of them changes who the caller of the request is: a token issued here is for the next
request.
"""

from __future__ import annotations

import enum
from typing import Any

import strawberry

from accounts.accountability import Accountability
from accounts.models import DEFAULT_PROVIDER, User
from core.errors import InvalidCredentials, InvalidPayload
from factors import totp
from lifecycle.invites import accept_invite, invite_users, parse_invite
from lifecycle.resets import request_password_reset, reset_password
from signin.drivers import provider
from signin.flow import sign_in, stalled
from signin.reauth import disable_totp, generate_totp
from signin.refresh import logout, presented_token, refresh_padded
from system.users import COLLECTION as USERS
from system.users import UsersService
from tokens.cookies import (
    clear_refresh_cookie,
    clear_session_cookie,
    refresh_cookie,
    session_cookie,
    set_token_cookie,
    token_data,
)
from tokens.issue import IssuedTokens

from .context import GraphQLContext
from .errors import call_service
from .schema import context_of
from .types import GraphQLBigInt, nullable

NO_COOKIES = "A WebSocket cannot set or read cookies: use mode json"


@strawberry.enum(name="auth_mode")
class AuthMode(enum.Enum):
    json = "json"
    cookie = "cookie"
    session = "session"


@strawberry.type(name="auth_tokens")
class AuthTokens:
    """What a login or refresh answers (which fields are set depends on the mode)."""

    access_token: str | None = None
    expires: GraphQLBigInt | None = None
    refresh_token: str | None = None


@strawberry.type(name="users_me_tfa_generate_data")
class TfaSecret:
    secret: str | None = None
    otpauth_url: str | None = None


# ---------------------------------------------------------------- the work (worker thread)


def _check_transport(context: GraphQLContext, mode: AuthMode) -> None:
    """``cookie`` and ``session`` need an HTTP response to set cookies on."""
    if mode is not AuthMode.json and context.http is None:
        raise InvalidPayload(NO_COOKIES)


def _rendered(issued: IssuedTokens, context: GraphQLContext) -> dict[str, Any]:
    """The ``auth_tokens`` of a login or refresh and its cookie, by mode (what REST's
    ``api.auth.tokens_response`` answers, in GraphQL's shape)."""
    if context.http is not None:
        set_token_cookie(context.http.response, issued)
    return token_data(issued)


def login(
    context: GraphQLContext, email: str, password: str, mode: AuthMode, otp: str | None
) -> dict[str, Any]:
    """``POST /auth/login``'s flow: the body checked inside the stall, then :func:`sign_in`."""
    _check_transport(context, mode)
    driver = provider(DEFAULT_PROVIDER)
    body = {"email": email, "password": password, "mode": mode.value, "otp": otp}
    with stalled():
        payload = driver.parse({key: value for key, value in body.items() if value is not None})
    return _rendered(sign_in(driver, payload, context.client), context)


def _presented(context: GraphQLContext, refresh_token: str | None, mode: AuthMode) -> Any:
    _check_transport(context, mode)
    cookies = dict(context.http.cookies) if context.http is not None else {}
    body = {"mode": mode.value, "refresh_token": refresh_token}
    return presented_token(body, cookies, refresh_cookie().name, session_cookie().name)


def refresh(context: GraphQLContext, refresh_token: str | None, mode: AuthMode) -> dict[str, Any]:
    token = _presented(context, refresh_token, mode)
    return _rendered(refresh_padded(token, context.client), context)


def sign_out(context: GraphQLContext, refresh_token: str | None, mode: AuthMode) -> bool:
    """End the sign-in and expire whichever auth cookies the request sent (REST's
    ``api.auth.signed_out``)."""
    logout(_presented(context, refresh_token, mode), context.client)
    http = context.http
    if http is not None and refresh_cookie().name in http.cookies:
        clear_refresh_cookie(http.response)
    if http is not None and session_cookie().name in http.cookies:
        clear_session_cookie(http.response)
    return True


def _user(acc: Accountability) -> User:
    """The caller's user row; ``INVALID_CREDENTIALS`` for anyone else (as REST answers)."""
    user = User.objects.filter(pk=acc.user).first() if acc.user else None
    if user is None:
        raise InvalidCredentials()
    return user


def tfa_generate(context: GraphQLContext, acc: Accountability, password: str) -> dict[str, str]:
    secret, url = generate_totp(_user(acc), password, context.client)
    return {"secret": secret, "otpauth_url": url}


def tfa_enable(context: GraphQLContext, acc: Accountability, otp: str, secret: str) -> bool:
    totp.enable(_user(acc), secret, otp, context=context.client)
    return True


def tfa_disable(context: GraphQLContext, acc: Accountability, otp: str) -> bool:
    disable_totp(_user(acc), otp, context.client)
    return True


def password_request(context: GraphQLContext, email: str, reset_url: str | None) -> bool:
    request_password_reset(email, reset_url, context.client)
    return True


def password_reset(context: GraphQLContext, token: str, password: str) -> bool:
    reset_password(token, password, context.client)
    return True


def invite(context: GraphQLContext, acc: Accountability, data: dict[str, Any]) -> bool:
    """``POST /users/invite``: a signed-in caller, authorised to create users before the
    arguments are looked at."""
    if acc.user is None:
        raise InvalidCredentials()
    service = UsersService(USERS, acc)
    service.authorise("create")
    invite_users(parse_invite(data), service, context.client, inviter=str(acc.user))
    return True


def invite_accept(context: GraphQLContext, token: str, password: str) -> bool:
    accept_invite(token, password, context.client)
    return True


# ---------------------------------------------------------------- the fields


def _session_fields() -> list[Any]:
    async def auth_login(
        info: strawberry.Info,
        email: str,
        password: str,
        mode: AuthMode | None = None,
        otp: str | None = None,
    ) -> Any:
        mode = mode or AuthMode.json
        return await call_service(login, context_of(info), email, password, mode, otp)

    async def auth_refresh(
        info: strawberry.Info, refresh_token: str | None = None, mode: AuthMode | None = None
    ) -> Any:
        return await call_service(refresh, context_of(info), refresh_token, mode or AuthMode.json)

    async def auth_logout(
        info: strawberry.Info, refresh_token: str | None = None, mode: AuthMode | None = None
    ) -> Any:
        return await call_service(sign_out, context_of(info), refresh_token, mode or AuthMode.json)

    tokens = nullable(AuthTokens)
    return [
        strawberry.mutation(resolver=auth_login, graphql_type=tokens),
        strawberry.mutation(resolver=auth_refresh, graphql_type=tokens),
        strawberry.mutation(resolver=auth_logout, graphql_type=bool | None),
    ]


def _tfa_fields() -> list[Any]:
    async def users_me_tfa_generate(info: strawberry.Info, password: str) -> Any:
        context = context_of(info)
        return await call_service(tfa_generate, context, await context.caller(), password)

    async def users_me_tfa_enable(info: strawberry.Info, otp: str, secret: str) -> Any:
        context = context_of(info)
        return await call_service(tfa_enable, context, await context.caller(), otp, secret)

    async def users_me_tfa_disable(info: strawberry.Info, otp: str) -> Any:
        context = context_of(info)
        return await call_service(tfa_disable, context, await context.caller(), otp)

    return [
        strawberry.mutation(resolver=users_me_tfa_generate, graphql_type=nullable(TfaSecret)),
        strawberry.mutation(resolver=users_me_tfa_enable, graphql_type=bool | None),
        strawberry.mutation(resolver=users_me_tfa_disable, graphql_type=bool | None),
    ]


def _lifecycle_fields() -> list[Any]:
    async def auth_password_request(
        info: strawberry.Info, email: str, reset_url: str | None = None
    ) -> Any:
        return await call_service(password_request, context_of(info), email, reset_url)

    async def auth_password_reset(info: strawberry.Info, token: str, password: str) -> Any:
        return await call_service(password_reset, context_of(info), token, password)

    async def users_invite(
        info: strawberry.Info, email: str, role: str, invite_url: str | None = None
    ) -> Any:
        context = context_of(info)
        data = {"email": email, "role": role}
        data |= {"invite_url": invite_url} if invite_url is not None else {}
        return await call_service(invite, context, await context.caller(), data)

    async def users_invite_accept(info: strawberry.Info, token: str, password: str) -> Any:
        return await call_service(invite_accept, context_of(info), token, password)

    resolvers = (auth_password_request, auth_password_reset, users_invite, users_invite_accept)
    return [strawberry.mutation(resolver=r, graphql_type=bool | None) for r in resolvers]


def auth_mutations() -> list[Any]:
    """Every auth and account mutation of ``/graphql/system`` (module docstring)."""
    return [*_session_fields(), *_tfa_fields(), *_lifecycle_fields()]
