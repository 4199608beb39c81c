"""Which external issuers are trusted: those of ``TRUSTED_ISSUERS`` (:mod:`core.config.issuers`)
and the enabled :class:`tokens.models.TrustedIssuer` rows of the admin. On a clash of name or
``iss`` the environment wins and the row is ignored (with a warning).

The table is rebuilt when the access version moves (:mod:`accounts.accountability`); every change
to an issuer or a rule in the admin moves it, so a change applies on every process within the
version's check interval, without a restart.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save

from accounts.accountability import VersionedTable, bump_access_version
from core.config.issuers import IssuerRule, TrustedIssuer
from tokens.models import IssuerRule as IssuerRuleRow
from tokens.models import TrustedIssuer as TrustedIssuerRow

logger = logging.getLogger("tokens.external")


def trusted(iss: str) -> TrustedIssuer | None:
    """The trusted issuer whose tokens carry ``iss``, if any."""
    return issuers().get(iss)


def issuers() -> dict[str, TrustedIssuer]:
    """Every trusted issuer, by ``iss``."""
    return _table.get()


def forget() -> None:
    """Drop this process's table (tests, after changing the configuration)."""
    _table.forget()


def _build() -> dict[str, TrustedIssuer]:
    table = {issuer.issuer: issuer for issuer in settings.DIRECTUS.issuers}
    names = {issuer.name for issuer in table.values()}
    rows = TrustedIssuerRow.objects.filter(enabled=True).prefetch_related("rules__policies")
    for row in rows:
        if row.issuer in table or row.name in names:
            logger.warning(
                "Trusted issuer %r of the admin is ignored: the environment defines its name "
                "or iss",
                row.name,
            )
            continue
        table[row.issuer] = from_row(row)
        names.add(row.name)
    return table


def from_row(row: TrustedIssuerRow) -> TrustedIssuer:
    return TrustedIssuer(
        name=row.name,
        issuer=row.issuer,
        audiences=row.audience_list,
        jwks_url=row.jwks_url or None,
        algorithms=row.algorithm_list,
        required_claims=dict(row.required_claims or {}),
        clock_skew_s=row.clock_skew,
        scope_claim=row.scope_claim or "scope",
        group_claim=row.group_claim or "groups",
        rules=tuple(_rule(rule) for rule in row.rules.all()),
        jwks_ttl_s=max(1, row.jwks_ttl),
        refetch_per_minute=row.jwks_refetch_limit,
        timeout_s=max(0.1, row.timeout),
    )


def _rule(row: IssuerRuleRow) -> IssuerRule:
    policies: tuple[uuid.UUID, ...] = tuple(sorted(p.pk for p in row.policies.all()))
    return IssuerRule(
        scope=row.value if row.match == IssuerRuleRow.Match.SCOPE else None,
        group=row.value if row.match == IssuerRuleRow.Match.GROUP else None,
        role=row.role_id,
        policies=policies,
    )


def _changed(sender: Any, **kwargs: Any) -> None:
    bump_access_version()


for _model in (TrustedIssuerRow, IssuerRuleRow):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"issuer-save-{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"issuer-delete-{_model.__name__}")
m2m_changed.connect(
    _changed, sender=IssuerRuleRow.policies.through, dispatch_uid="issuer-rule-policies"
)


_table: VersionedTable[dict[str, TrustedIssuer]] = VersionedTable(_build)
