"""What a redirect sign-in remembers between its start and the identity provider's callback.

One :class:`Flow` per start, kept in the person's Django session (the database: any process
may receive the callback) under its random ``state``, for at most the provider's
``LOGIN_TIMEOUT``. :func:`take` removes it, so a callback is honoured once: a forged, replayed,
expired or cross-provider ``state`` finds nothing. The PKCE verifier and a carried one-time
code are sealed (:mod:`core.crypto`), never stored in clear.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from django.http import HttpRequest
from mozilla_django_oidc.utils import generate_code_challenge

from core.crypto import Unreadable, seal, unseal

SESSION_KEY = "sso_flows"
MAX_FLOWS = 10
_PURPOSE = "sso-flow"


@dataclass(frozen=True)
class Flow:
    provider: str
    state: str
    nonce: str
    verifier: str
    callback: str
    #: The resolved ``redirect`` of the start, or None when none was given.
    redirect: str | None
    otp: str | None
    prompt: bool
    started: float
    #: The ID of the SAML AuthnRequest the flow sent (its answer's ``InResponseTo``).
    request_id: str | None = None

    def challenge(self, method: str) -> str:
        return str(generate_code_challenge(self.verifier, method))


def begin(
    request: HttpRequest,
    provider: str,
    *,
    callback: str,
    redirect: str | None,
    otp: str | None,
    prompt: bool,
) -> Flow:
    """A new flow for ``provider``, remembered in the session (the oldest are dropped past
    :data:`MAX_FLOWS`: a person starting sign-ins in many tabs keeps the latest ones)."""
    flow = Flow(
        provider=provider,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(48),
        callback=callback,
        redirect=redirect,
        otp=otp or None,
        prompt=prompt,
        started=time.time(),
    )
    flows = _flows(request)
    while len(flows) >= MAX_FLOWS:
        del flows[min(flows, key=lambda key: flows[key].get("started", 0))]
    stored = asdict(flow)
    stored["verifier"] = seal(flow.verifier, _PURPOSE)
    stored["otp"] = seal(flow.otp, _PURPOSE) if flow.otp else None
    del stored["state"]
    flows[flow.state] = stored
    request.session[SESSION_KEY] = flows
    return flow


def with_request_id(request: HttpRequest, flow: Flow, request_id: str) -> Flow:
    """``flow`` with the id of the request its provider was sent (a SAML AuthnRequest's, which
    the answer's ``InResponseTo`` must repeat), remembered so."""
    flows = _flows(request)
    if flow.state in flows:
        flows[flow.state] = {**flows[flow.state], "request_id": request_id}
        request.session[SESSION_KEY] = flows
    return replace(flow, request_id=request_id)


def peek(request: HttpRequest, state: object) -> dict[str, Any] | None:
    """The stored flow of ``state`` without taking it (its redirect, for a failure answer)."""
    if not isinstance(state, str):
        return None
    stored = _flows(request).get(state)
    return stored if isinstance(stored, dict) else None


def take(request: HttpRequest, provider: str, state: object, timeout_s: float) -> Flow | None:
    """The flow ``state`` names, removed from the session; None unless it exists, belongs to
    ``provider`` and is younger than ``timeout_s``."""
    if not isinstance(state, str) or not state:
        return None
    flows = _flows(request)
    stored = flows.pop(state, None)
    if stored is None:
        return None
    request.session[SESSION_KEY] = flows
    try:
        flow = Flow(
            **{
                **stored,
                "state": state,
                "verifier": unseal(stored["verifier"], _PURPOSE),
                "otp": unseal(stored["otp"], _PURPOSE) if stored.get("otp") else None,
            }
        )
    except (TypeError, KeyError, Unreadable):
        return None
    if flow.provider != provider or time.time() - flow.started > timeout_s:
        return None
    return flow


def _flows(request: HttpRequest) -> dict[str, dict[str, Any]]:
    flows = request.session.get(SESSION_KEY)
    return dict(flows) if isinstance(flows, dict) else {}
