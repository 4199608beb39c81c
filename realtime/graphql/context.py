"""The GraphQL context: who is calling, asked afresh by every resolver and every subscription
event; where the request came from (for the sign-in flows' limits and auth log); on HTTP the
request's cookies and the response to set cookies on; on a socket the consumer that receives
channel-layer messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.http import HttpResponse

from accounts.accountability import Accountability
from tokens.sessions import SessionContext

if TYPE_CHECKING:
    from strawberry.channels.handlers.base import ChannelsConsumer

CallerSource = Callable[[], Awaitable[Accountability]]


@dataclass(frozen=True)
class HttpExchange:
    """The HTTP side of one request: the cookies it sent and the response its cookies go on
    (``auth_login`` in cookie or session mode). A socket has none: it cannot set cookies."""

    cookies: Mapping[str, str]
    response: HttpResponse


@dataclass
class GraphQLContext:
    """``caller()`` returns the accountability to apply now (on a socket it revalidates the
    connection's token, so revoked credentials and role changes apply at once). A mutation
    that signs someone in never changes it."""

    caller: CallerSource
    consumer: ChannelsConsumer | None = None
    connection_params: dict[str, Any] = field(default_factory=dict)
    client: SessionContext = field(default_factory=SessionContext)
    http: HttpExchange | None = None


def fixed_caller(accountability: Accountability) -> CallerSource:
    """A caller that is always ``accountability`` (one HTTP request)."""

    async def caller() -> Accountability:
        return accountability

    return caller
