"""What a GraphQL document may cost before it runs (``GRAPHQL_QUERY_COST_LIMIT``,
``GRAPHQL_QUERY_DEPTH_LIMIT``), over HTTP and the socket alike (both run the schema's
validation).

The token limit (``GRAPHQL_QUERY_TOKEN_LIMIT``) bounds the document's size, not its work: 300
aliases of ``articles(limit: 100)`` fit in 5000 tokens and read 30,000 rows. The cost estimate
counts the rows a document may read: every list field reads its ``limit`` rows (a literal, or
the operation's variable; ``QUERY_LIMIT_DEFAULT`` when absent, at most ``QUERY_LIMIT_MAX``) for
every row of the lists around it, summed over aliases and fragments. A list with no limit at
all (``limit: -1`` with ``QUERY_LIMIT_MAX=-1``) counts as the whole budget: alone it fits,
with anything else it does not. Singular fields (``C_by_id``, many-to-one objects, mutations,
subscription events) read no list; introspection (``__schema``, ``__type``) is bounded by the
schema and not counted.

A document over the budget is refused in validation, before any resolver runs, with
``extensions.code`` ``GRAPHQL_VALIDATION`` (HTTP answers validation errors as it answers the
token limit).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)
from graphql.validation import ValidationContext, ValidationRule
from strawberry.extensions import SchemaExtension

from .errors import VALIDATION_CODE


@dataclass(frozen=True)
class Budget:
    """The limits one operation is estimated against."""

    rows: int
    default_limit: int
    max_limit: int
    """``QUERY_LIMIT_MAX``; ``-1``: no maximum."""

    def rows_of(self, limit: Any) -> int:
        """The rows one list field reads for its ``limit`` argument (``None``: absent)."""
        if not isinstance(limit, int) or isinstance(limit, bool):
            return self.default_limit
        if limit < 0:  # -1 is "no limit" where QUERY_LIMIT_MAX allows it, else refused later
            return self.rows if self.max_limit == -1 else self.max_limit
        return limit if self.max_limit == -1 else min(limit, self.max_limit)


@dataclass
class CostEstimate:
    """Rows a selection reads per row of its parent, fragments computed once each."""

    context: ValidationContext
    budget: Budget
    variables: Mapping[str, Any]
    fragments: dict[str, int] = field(default_factory=dict)
    visiting: set[str] = field(default_factory=set)

    def operation(self, node: OperationDefinitionNode) -> int:
        schema = self.context.schema
        roots = {
            OperationType.QUERY: schema.query_type,
            OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type,
        }
        root = roots.get(node.operation)
        return 0 if root is None else self.selection_set(node.selection_set, root)

    def selection_set(self, node: SelectionSetNode | None, parent: GraphQLCompositeType) -> int:
        """Rows read under one row of ``parent``: the sum over the selections, capped just
        above the budget so that numbers stay small."""
        total = 0
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(
                    selection.selection_set, self._type_of(selection, parent)
                )
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
            if total > self.budget.rows:
                return self.budget.rows + 1
        return total

    def field(self, node: FieldNode, parent: GraphQLCompositeType) -> int:
        name = node.name.value
        definition = None if name.startswith("__") else getattr(parent, "fields", {}).get(name)
        return 0 if definition is None else self._field_cost(node, definition.type)

    def _field_cost(self, node: FieldNode, kind: GraphQLOutputType) -> int:
        named = get_named_type(kind)
        if not is_composite_type(named):
            return 0
        child = self.selection_set(node.selection_set, named)
        if not _is_list(kind):
            return child
        rows = self.budget.rows_of(self._argument(node, "limit"))
        return min(rows + rows * child, self.budget.rows + 1)

    def fragment(self, name: str) -> int:
        if name in self.fragments:
            return self.fragments[name]
        definition = self.context.get_fragment(name)
        if definition is None or name in self.visiting:  # unknown or a cycle: other rules
            return 0
        kind = self.context.schema.get_type(definition.type_condition.name.value)
        if not is_composite_type(kind):
            return 0
        self.visiting.add(name)
        cost = self.selection_set(definition.selection_set, kind)
        self.visiting.discard(name)
        self.fragments[name] = cost
        return cost

    def _type_of(
        self, node: InlineFragmentNode, parent: GraphQLCompositeType
    ) -> GraphQLCompositeType:
        if node.type_condition is None:
            return parent
        kind = self.context.schema.get_type(node.type_condition.name.value)
        return kind if is_composite_type(kind) else parent

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return _small_int(value.value)
            if isinstance(value, VariableNode):
                return self.variables.get(value.name.value)
        return None


def _is_list(kind: GraphQLOutputType) -> bool:
    while isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)


def _small_int(text: str) -> int | None:
    """An integer literal; ``None`` beyond 64 bits (the service refuses those anyway)."""
    return int(text) if len(text.lstrip("-")) <= 19 else None


def _operation_variables(node: OperationDefinitionNode, given: Mapping[str, Any]) -> dict[str, Any]:
    """The operation's variables: the given values, else the definitions' literal defaults."""
    values: dict[str, Any] = {}
    for definition in node.variable_definitions or ():
        name = definition.variable.name.value
        default = definition.default_value
        if name in given:
            values[name] = given[name]
        elif isinstance(default, IntValueNode):
            values[name] = _small_int(default.value)
    return values


def cost_rule(budget: Budget, variables: Mapping[str, Any]) -> type[ValidationRule]:
    """A validation rule refusing operations that read more than ``budget.rows`` rows."""

    class QueryCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            estimate = CostEstimate(self.context, budget, _operation_variables(node, variables))
            cost = estimate.operation(node)
            if cost > budget.rows:
                message = (
                    f"The query may read more than {budget.rows} rows "
                    "(each list counts its limit for every row of the lists around it)."
                )
                extensions = {"code": VALIDATION_CODE}
                self.report_error(GraphQLError(message, node, extensions=extensions))

    return QueryCostRule


class QueryCostLimiter(SchemaExtension):
    """Adds :func:`cost_rule` with the operation's variables to every validation."""

    def on_operation(self) -> Iterator[None]:
        limits = settings.DIRECTUS.limits
        budget = Budget(limits.graphql_query_cost, limits.query_default, limits.query_max)
        context = self.execution_context
        variables = context.variables if isinstance(context.variables, Mapping) else {}
        context.validation_rules = (*context.validation_rules, cost_rule(budget, variables))
        yield
