"""What a provider's endpoint answered, remembered per process: an OpenID discovery document, a
SAML metadata document. A success is kept for ``ttl`` seconds (for good without one); a failure
is remembered too, so a provider that does not answer is asked again only once ``retry_after``
seconds have passed, and every sign-in meanwhile fails at once instead of waiting on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class RecentFailure(Exception):
    """The provider failed less than ``retry_after`` seconds ago."""


class Remembered(Generic[T]):
    def __init__(self) -> None:
        self._known: dict[Hashable, tuple[float, T | None]] = {}
        self._lock = threading.Lock()

    def available(self, key: Hashable, *, retry_after: float) -> bool:
        """Whether ``key`` may be asked for: never failed, or its failure is old enough."""
        known = self._known.get(key)
        return known is None or known[1] is not None or _due(known[0], retry_after)

    def get(
        self,
        key: Hashable,
        fetch: Callable[[], T],
        *,
        retry_after: float,
        failures: tuple[type[Exception], ...],
        ttl: float | None = None,
    ) -> T:
        """``key``'s value, remembered or ``fetch()``-ed now. An exception of ``failures`` that
        ``fetch`` raises is remembered and raised again; :class:`RecentFailure` is raised within
        ``retry_after`` seconds of the last one."""
        known = self._known.get(key)
        if known is not None:
            at, value = known
            if value is not None and (ttl is None or not _due(at, ttl)):
                return value
            if value is None and not _due(at, retry_after):
                raise RecentFailure()
        try:
            value = fetch()
        except failures:
            self._remember(key, None)
            raise
        self._remember(key, value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._known.clear()

    def _remember(self, key: Hashable, value: T | None) -> None:
        with self._lock:
            self._known[key] = (time.monotonic(), value)


def _due(since: float, after: float) -> bool:
    return time.monotonic() - since >= after
