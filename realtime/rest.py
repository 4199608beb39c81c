"""The REST-style socket, ``WEBSOCKETS_REST_PATH`` (contract websockets.md §2-§7).

Messages: ``auth`` (in :mod:`realtime.session`), ``ping`` → ``pong`` (§4), ``subscribe`` /
``unsubscribe`` (§6) and ``items`` (§7); other types are ignored. Item change events reach the
connection through the process :class:`realtime.hub.Hub` and are re-read with the subscriber's
current (revalidated) identity.
"""

from __future__ import annotations

from typing import Any, ClassVar

from channels.db import database_sync_to_async
from django.conf import settings

from core.config import Socket
from core.errors import DirectusError
from items.events import ItemChange, group_name
from realtime import frames
from realtime.base import Handler, SocketConsumer, logger
from realtime.crud import items_frame
from realtime.hub import EventMemo, current_hub
from realtime.subscriptions import (
    Subscription,
    event_payload,
    init_payload,
    parse_subscribe,
    subscription_frame,
    wants,
)
from realtime.visibility import change_of


class RestSocket(SocketConsumer):
    heartbeat: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions: list[Subscription] = []

    def socket(self) -> Socket:
        return settings.DIRECTUS.websockets.rest

    def handler(self, kind: str) -> tuple[str, Handler] | None:
        handlers: dict[str, tuple[str, Handler]] = {
            "ping": ("server", self.on_ping),
            "subscribe": ("subscribe", self.on_subscribe),
            "unsubscribe": ("subscribe", self.on_unsubscribe),
            "items": ("items", self.on_items),
        }
        return handlers.get(kind)

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.send_frame(frames.with_uid({"type": "pong"}, frames.uid_of(message)))

    async def on_items(self, message: dict[str, Any]) -> None:
        assert self.session.identity is not None
        acc = self.session.identity.accountability
        await self.send_frame(await database_sync_to_async(items_frame)(message, acc))

    async def on_subscribe(self, message: dict[str, Any]) -> None:
        """§6.1: read the initial state first; a failed read registers nothing."""
        assert self.session.identity is not None
        subscription = parse_subscribe(message)
        acc = self.session.identity.accountability
        payload = await database_sync_to_async(init_payload)(subscription.shape, acc)
        await self.forget(lambda s: subscription.uid is not None and s.uid == subscription.uid)
        self.subscriptions.append(subscription)
        await self.listen(subscription.collection)
        await self.send_frame(subscription_frame("init", payload, subscription.uid))

    async def on_unsubscribe(self, message: dict[str, Any]) -> None:
        """§6.3: by uid, or all of the connection's subscriptions without one."""
        uid = frames.uid_of(message)
        await self.forget(lambda s: uid is None or s.uid == str(uid))
        reply = frames.with_uid({"type": "subscription", "event": "unsubscribe"}, uid)
        await self.send_frame(reply)

    async def forget(self, matches: Any) -> None:
        dropped = [s for s in self.subscriptions if matches(s)]
        self.subscriptions = [s for s in self.subscriptions if not matches(s)]
        for collection in {s.collection for s in dropped}:
            if not any(s.collection == collection for s in self.subscriptions):
                await self.unlisten(collection)

    async def listen(self, collection: str) -> None:
        hub = current_hub()
        if hub is not None:
            await hub.join(group_name(collection), self)

    async def unlisten(self, collection: str) -> None:
        hub = current_hub()
        if hub is not None:
            await hub.leave(group_name(collection), self)

    async def on_close(self) -> None:
        await self.forget(lambda s: True)

    # ------------------------------------------------------------ events (§6.2)

    async def on_message(self, message: dict[str, Any], memo: EventMemo) -> None:
        change = change_of(message)
        targets = [
            s
            for s in self.subscriptions
            if s.collection == change.collection and wants(s.shape, change.action, change.keys)
        ]
        if not targets or self.closed:
            return
        identity = await self.session.refresh(memo)
        for subscription in targets:
            frame = await self.event_frame(subscription, identity.accountability, change, memo)
            if frame is not None:
                await self.send_frame(frame)

    async def event_frame(
        self, subscription: Subscription, acc: Any, change: ItemChange, memo: EventMemo
    ) -> frames.Frame | None:
        key = (_grants(acc), subscription.shape, change.action, change.keys)
        # The wrapper is built only by the connection that computes (building one is costly).
        try:
            payload = await memo.get(
                key,
                lambda: database_sync_to_async(event_payload)(subscription.shape, acc, change),
            )
        except DirectusError as error:
            return frames.from_directus("subscribe", error, subscription.uid)
        except Exception:
            logger.exception("Building a %s event for %s failed", change.action, change.collection)
            return frames.internal_error("subscribe", subscription.uid)
        if payload is None:
            return None
        return subscription_frame(change.action, payload, subscription.uid)


def _grants(acc: Any) -> tuple[Any, ...]:
    """What a read depends on: the same grants read the same items and fields."""
    return (acc.user, acc.role, acc.roles, acc.policies, acc.admin, acc.app, acc.share)
