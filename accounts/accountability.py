"""The request identity ("accountability", contract access-model.md §2, §4, §5).

Every credential type (session, JWT, static key, OAuth token, external JWT) ends here: the
transport resolves a credential to a user id and role, then :func:`accountability_for` computes
the role tree, the policies in effect and the global ``admin``/``app`` flags.

Results are cached per (user, role, ip) under an *access version* that every change to users'
roles or statuses, roles, policies, attachments or permissions replaces
(:mod:`accounts.signals`), so a change takes effect on every process at its next request.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.core.cache import cache
from django.db.models import Q

from accounts.credentials import Credential
from accounts.ipaccess import ip_allowed
from accounts.keyscope import KeyScope

if TYPE_CHECKING:
    from accounts.models import Access, User

logger = logging.getLogger("accounts.accountability")

ACCESS_VERSION_KEY = "access:version"
CACHE_TTL_SECONDS = 300


@dataclass(frozen=True)
class Accountability:
    """Who is asking, and with which grants. ``user=None``, ``share=None`` and ``api_key=None``
    is the public. An API key acting for a role has ``user=None`` and ``api_key`` set; ``scope``
    is the key's narrowing of its owner's permissions (``None``: none)."""

    user: uuid.UUID | None = None
    role: uuid.UUID | None = None
    roles: tuple[uuid.UUID, ...] = ()
    policies: tuple[uuid.UUID, ...] = ()
    admin: bool = False
    app: bool = False
    ip: str | None = None
    user_agent: str | None = None
    origin: str | None = None
    session: str | None = None
    share: uuid.UUID | None = None
    credential: str = "none"
    api_key: uuid.UUID | None = None
    scope: KeyScope | None = None
    #: The OAuth client whose token this is (``client_id``): the token's scopes are ``scope``.
    oauth_client: str | None = None
    #: The identity behind a narrowed credential is an admin: :func:`accounts.permissions.rules_for`
    #: grants it every collection its narrowing leaves, while ``admin`` stays False so that no
    #: admin-only door (keys, logs, health details, user management) opens to a narrowed token.
    scoped_admin: bool = False
    #: A policy of the user's has ``enforce_tfa`` and they have no second factor yet: they are
    #: granted nothing (no policies, not admin, no app access) until they set one up.
    tfa_setup_required: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_public(self) -> bool:
        return (
            self.user is None
            and self.share is None
            and self.api_key is None
            and self.oauth_client is None
        )

    def as_dict(self) -> dict[str, Any]:
        """The Directus wire shape of an accountability (ids as strings)."""
        return {
            "user": str(self.user) if self.user else None,
            "role": str(self.role) if self.role else None,
            "roles": [str(r) for r in self.roles],
            "admin": self.admin,
            "app": self.app,
            "ip": self.ip,
        }


@dataclass(frozen=True)
class _Grants:
    roles: tuple[uuid.UUID, ...]
    policies: tuple[uuid.UUID, ...]
    admin: bool
    app: bool
    tfa_setup_required: bool = False


#: How long a process trusts the access version it last read from the cache, and how often it
#: checks the database, which is the record (without Redis the cache is per process, so a change
#: made by another process — another worker, a ``manage.py`` command — is seen through it).
VERSION_MEMO_SECONDS = 0.25
VERSION_CHECK_SECONDS = 1.0
_version_memo: tuple[float, str] | None = None
_version_checked = 0.0


def access_version() -> str:
    """The current access version: from the cache, at most every :data:`VERSION_MEMO_SECONDS`,
    and from the database at most every :data:`VERSION_CHECK_SECONDS`."""
    global _version_memo, _version_checked
    memo, now = _version_memo, time.monotonic()
    if memo is not None and now - memo[0] < VERSION_MEMO_SECONDS:
        return memo[1]
    version = cache.get(ACCESS_VERSION_KEY)
    if version is None or now - _version_checked >= VERSION_CHECK_SECONDS:
        stored = _stored_version()
        _version_checked = now
        if stored != version:
            version = stored
            cache.set(ACCESS_VERSION_KEY, version, None)
    _version_memo = (now, str(version))
    return str(version)


def _stored_version() -> str:
    from accounts.models import AccessStamp

    stamp, _created = AccessStamp.objects.get_or_create(
        pk=1, defaults={"version": uuid.uuid4().hex}
    )
    return stamp.version


def bump_access_version() -> None:
    """Invalidate every cached accountability and permission set, on every process."""
    global _version_memo
    from accounts.models import AccessStamp

    version = uuid.uuid4().hex
    AccessStamp.objects.update_or_create(pk=1, defaults={"version": version})
    cache.set(ACCESS_VERSION_KEY, version, None)
    _version_memo = (time.monotonic(), version)


T = TypeVar("T")


class VersionedTable(Generic[T]):
    """A table built from configuration and database rows, rebuilt in each process the first
    time it is asked for after the access version changed (a row saved or deleted bumps it)."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._table: tuple[str, T] | None = None

    def get(self) -> T:
        version = access_version()
        table = self._table
        if table is not None and table[0] == version:
            return table[1]
        built = self._build()
        self._table = (version, built)
        return built

    def forget(self) -> None:
        """Drop this process's table (after a configuration change, and in tests)."""
        self._table = None


class VersionedMemo:
    """Values stored under keys that include the access version never go stale, so each process
    keeps the ones it used in a small LRU in front of the shared cache."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_set(self, key: str, compute: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = cache.get(key)
        if value is None:
            value = compute()
            cache.set(key, value, CACHE_TTL_SECONDS)
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


versioned = VersionedMemo()


def forget_local_state() -> None:
    """Drop this process's memo of the access version and its versioned entries (used when the
    shared cache is cleared, e.g. between tests)."""
    global _version_memo, _version_checked
    _version_memo = None
    _version_checked = 0.0
    with versioned.lock:
        versioned.items.clear()


def public_accountability(
    ip: str | None = None, user_agent: str | None = None, origin: str | None = None
) -> Accountability:
    return accountability_for(None, ip=ip, user_agent=user_agent, origin=origin)


def accountability_for(
    user_id: uuid.UUID | None,
    role_id: uuid.UUID | None = None,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    origin: str | None = None,
    session: str | None = None,
    credential: str = "none",
) -> Accountability:
    """Compute the accountability of ``user_id`` acting with ``role_id`` (both may be None)."""
    grants = _cached_grants(user_id, role_id, ip)
    return Accountability(
        user=user_id,
        role=role_id,
        roles=grants.roles,
        policies=grants.policies,
        admin=grants.admin,
        app=grants.app,
        tfa_setup_required=grants.tfa_setup_required,
        ip=ip,
        user_agent=(user_agent or None) and user_agent[:1024],
        origin=origin,
        session=session,
        credential=credential if user_id else "none",
    )


def authenticated_by_key(
    acc: Accountability, key_id: uuid.UUID, scope: KeyScope | None, credential: str
) -> Accountability:
    """``acc`` as authenticated by a static key: the key, its narrowing (applied by
    :func:`accounts.permissions.rules_for`) and the credential kind, also for a role key
    (no user), which is therefore not public."""
    return replace(acc, api_key=key_id, scope=scope, credential=credential)


def accountability_from(
    credential: Credential,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    origin: str | None = None,
) -> Accountability:
    """The accountability a resolved credential stands for, on every transport: its user and
    role, its session, and the credential's narrowing (an API key's scope)."""
    acc = accountability_for(
        credential.user_id,
        credential.role_id,
        ip=ip,
        user_agent=user_agent,
        origin=origin,
        session=credential.session,
        credential=credential.kind,
    )
    if credential.client_id is not None:
        return authenticated_by_client(acc, credential)
    if credential.key_id is None:
        return acc
    return authenticated_by_key(acc, credential.key_id, credential.scope, credential.kind)


def authenticated_by_client(acc: Accountability, credential: Credential) -> Accountability:
    """``acc`` as an OAuth token's: the client, the token's scopes as the narrowing, and the
    client's own policies added (client-credentials tokens). Never ``admin`` itself: an admin
    behind the token is ``scoped_admin``, which the narrowing limits (see the field)."""
    if credential.policies:
        acc = _with_policies(acc, credential.policies)
    return replace(
        acc,
        admin=False,
        scoped_admin=acc.admin,
        scope=credential.scope,
        oauth_client=credential.client_id,
        credential=credential.kind,
    )


def _with_policies(acc: Accountability, extra: tuple[uuid.UUID, ...]) -> Accountability:
    """``acc`` with the policies ``extra`` after its own (those whose ``ip_access`` admits the
    caller), and their ``admin_access``/``app_access``."""
    from accounts.models import Policy

    key = f"pol:{access_version()}:{','.join(str(p) for p in extra)}"
    rows: list[tuple[uuid.UUID, bool, bool, str]] = versioned.get_or_set(
        key,
        lambda: list(
            Policy.objects.filter(pk__in=extra).values_list(
                "id", "admin_access", "app_access", "ip_access"
            )
        ),
    )
    admitted = [r for r in rows if not r[3] or ip_allowed(acc.ip, r[3])]
    return replace(
        acc,
        policies=tuple(dict.fromkeys([*acc.policies, *(r[0] for r in admitted)])),
        admin=acc.admin or any(r[1] for r in admitted),
        app=acc.app or any(r[1] or r[2] for r in admitted),
    )


def accountability_for_user(user: User, **kwargs: Any) -> Accountability:
    """The accountability of a loaded user, with the role from the database."""
    return accountability_for(user.pk, user.role_id, **kwargs)


def _cached_grants(user_id: uuid.UUID | None, role_id: uuid.UUID | None, ip: str | None) -> _Grants:
    key = f"acc:{access_version()}:{user_id}:{role_id}:{ip}"
    grants: _Grants = versioned.get_or_set(key, lambda: _compute_grants(user_id, role_id, ip))
    return grants


def role_chain(role_id: uuid.UUID | None) -> tuple[uuid.UUID, ...]:
    """The role and its ancestors, root first and ``role_id`` last (contract §3)."""
    from accounts.models import Role

    chain: list[uuid.UUID] = []
    current = role_id
    while current is not None:
        if current in chain:
            logger.error("Role tree has a cycle at %s; ignoring the rest of the chain", current)
            break
        parents = list(Role.objects.filter(pk=current).values_list("parent_id", flat=True))
        if not parents:
            break
        chain.append(current)
        current = parents[0]
    return tuple(reversed(chain))


def _compute_grants(
    user_id: uuid.UUID | None, role_id: uuid.UUID | None, ip: str | None
) -> _Grants:
    from accounts.models import Access

    roles = role_chain(role_id)
    selector = Q(role_id__in=roles) if roles else Q(role__isnull=True, user__isnull=True)
    if user_id is not None:
        selector |= Q(user_id=user_id)
    rows = list(Access.objects.filter(selector).select_related("policy"))
    position = {role: index for index, role in enumerate(roles)}
    rows.sort(key=lambda a: _order_key(a, position))
    in_effect = [a for a in rows if not a.policy.ip_access or ip_allowed(ip, a.policy.ip_access)]
    policies = tuple(dict.fromkeys(a.policy_id for a in in_effect))
    global_rows = [a for a in rows if a.role_id is not None or a.user_id is not None]
    if _tfa_setup_required(user_id, in_effect):
        return _Grants(roles=roles, policies=(), admin=False, app=False, tfa_setup_required=True)
    admin, app = _global_access(global_rows, ip)
    return _Grants(roles=roles, policies=policies, admin=admin, app=app)


def _tfa_setup_required(user_id: uuid.UUID | None, in_effect: list[Access]) -> bool:
    """Whether a policy in effect for ``user_id`` has ``enforce_tfa`` while the user has no
    second factor (neither a TFA secret nor a passkey, allauth's ``Authenticator`` of type
    webauthn). Directus leaves this to its Data Studio (contract http-auth.md §7.9); here every
    transport refuses such a user everything that needs more than their identity, and adding
    or removing a factor moves the access version."""
    if user_id is None or not any(a.policy.enforce_tfa for a in in_effect):
        return False
    from allauth.mfa.models import Authenticator

    from accounts.models import User

    has_totp = User.objects.filter(pk=user_id, tfa_secret__isnull=False).exclude(tfa_secret="")
    if has_totp.exists():
        return False
    return not Authenticator.objects.filter(user_id=user_id, type="webauthn").exists()


def _order_key(access: Access, position: dict[uuid.UUID, int]) -> tuple[int, int, int]:
    """Parent-role policies first, then child roles, then user/public rows (contract §5.1)."""
    role_rank = position.get(access.role_id, len(position)) if access.role_id else len(position)
    return (role_rank, access.sort if access.sort is not None else 1 << 30, 0)


def _global_access(rows: list[Access], ip: str | None) -> tuple[bool, bool]:
    """``admin``/``app`` flags (contract §4): an unknown IP does not exclude restricted policies
    there in Directus; we do exclude them, so a request without a known IP never gains more."""
    admin = app = False
    for access in rows:
        policy = access.policy
        if policy.ip_access and not ip_allowed(ip, policy.ip_access):
            continue
        admin = admin or policy.admin_access
        app = app or policy.app_access
    return admin, app or admin
