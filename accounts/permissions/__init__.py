"""The permission engine (contract access-model.md §5.2), one package:

* :mod:`~accounts.permissions.rules` — which rows apply to a caller (policies → rules, in
  policy order, cached; API-key scope narrowing; the app-access minimum; merged presets);
* :mod:`~accounts.permissions.fields` — what a field list covers: ``*``, the privilege and
  secret fields of ``directus_users`` that ``*`` withholds;
* :mod:`~accounts.permissions.caps` — the filter language's operators and its shape checks
  with caps on hostile input;
* :mod:`~accounts.permissions.filters` — filters compiled to ``Q`` against a field resolver
  (the system-context one for stored rules, and value coercion per field);
* :mod:`~accounts.permissions.variables` — dynamic variables and their substitution;
* :mod:`~accounts.permissions.validation` — ``validation`` rules evaluated on payloads;
* :mod:`~accounts.permissions.forbidden` — the contract's FORBIDDEN messages.

The caller-side "may this caller query this field path" check needs the collection registry,
so it stays in the items layer (``items.scope.query_target``; ``items.variables`` resolves the
caller's ``$CURRENT_USER.<path>`` through it): accounts never imports items.

Everything callers use is re-exported here; import from ``accounts.permissions``.
"""

from __future__ import annotations

from accounts.permissions.caps import (
    FLAG_OPERATORS,
    LOGICAL,
    LOOKUPS,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_INTEGER,
    MAX_LIST_VALUES,
    MAX_LOGICAL_ITEMS,
    NEGATIONS,
    OPERATORS,
    TEXT_OPERATORS,
    FilterError,
    check_number,
    validate_filter_shape,
)
from accounts.permissions.fields import (
    ALL_FIELDS,
    APP_MINIMAL_USER_FIELDS,
    PRIVILEGE_USER_FIELDS,
    SECRET_USER_FIELDS,
    withheld_from_all,
)
from accounts.permissions.filters import (
    Resolver,
    Target,
    coercer,
    compile_filter,
    model_resolver,
)
from accounts.permissions.forbidden import collection_forbidden, field_forbidden, item_forbidden
from accounts.permissions.rules import FULL_ACCESS, Rule, RuleSet, rules_for
from accounts.permissions.validation import Failure, first_failure, matches
from accounts.permissions.variables import (
    DYNAMIC_ROOTS,
    Variables,
    shift,
    substitute,
    variables_for,
)

__all__ = [
    "ALL_FIELDS",
    "APP_MINIMAL_USER_FIELDS",
    "DYNAMIC_ROOTS",
    "FLAG_OPERATORS",
    "FULL_ACCESS",
    "LOGICAL",
    "LOOKUPS",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_INTEGER",
    "MAX_LIST_VALUES",
    "MAX_LOGICAL_ITEMS",
    "NEGATIONS",
    "OPERATORS",
    "PRIVILEGE_USER_FIELDS",
    "SECRET_USER_FIELDS",
    "TEXT_OPERATORS",
    "Failure",
    "FilterError",
    "Resolver",
    "Rule",
    "RuleSet",
    "Target",
    "Variables",
    "check_number",
    "coercer",
    "collection_forbidden",
    "compile_filter",
    "field_forbidden",
    "first_failure",
    "item_forbidden",
    "matches",
    "model_resolver",
    "rules_for",
    "shift",
    "substitute",
    "validate_filter_shape",
    "variables_for",
    "withheld_from_all",
]
