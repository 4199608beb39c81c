"""The GraphQL context: who is calling, asked afresh by every resolver and every subscription
event, and (on a socket) the consumer that receives channel-layer messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from accounts.accountability import Accountability

if TYPE_CHECKING:
    from strawberry.channels.handlers.base import ChannelsConsumer

CallerSource = Callable[[], Awaitable[Accountability]]


@dataclass
class GraphQLContext:
    """``caller()`` returns the accountability to apply now (on a socket it revalidates the
    connection's token, so revoked credentials and role changes apply at once)."""

    caller: CallerSource
    consumer: ChannelsConsumer | None = None
    connection_params: dict[str, Any] = field(default_factory=dict)


def fixed_caller(accountability: Accountability) -> CallerSource:
    """A caller that is always ``accountability`` (one HTTP request)."""

    async def caller() -> Accountability:
        return accountability

    return caller
