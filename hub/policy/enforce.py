"""The one place policies are enforced, for every resolver, search hit and subscription.

Two halves of one per-request ``RequestPolicy``:

* rows — the request context's record source and search source are wrapped
  (``PolicedRecordSource``, ``PolicedSearchSource``): a type the principal may not read is
  refused, an aggregate-only type yields counts and no rows, a row filter hides rows (and
  ``totalCount`` counts only visible rows), purpose and rate limits are checked once per type;
  federation ``_entities`` reads each representation's row through the same source
  (``PolicedRecordSource.reference``: a refused or hidden row is an error entry of its own);
* fields — ``PolicyExtension`` (a schema extension around every field resolution) refuses
  fields the policy does not allow or whose classification is above its clearance, and masks
  personal fields (and any the policy masks); ``SourceFact.attrs`` of ``entity360`` are
  filtered and masked by the fact's own type.

Resolvers build objects from whole records and never decide anything themselves. Every
masked ``Type.field`` is noted for the audit entry of the request.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema
from strawberry.extensions import SchemaExtension

from core_ext import mask_rows
from hub.fanout import RateCounter
from hub.policy.aggregates import EXACT, FigureRule
from hub.policy.engine import (
    Decision,
    FieldView,
    PolicyDenied,
    PolicyEngine,
    PolicyRateLimited,
    PrincipalLike,
)
from hub.policy.free_text import (
    FreeTextFields,
    free_text_fields,
    scrub_attrs,
    scrub_json,
    scrubs,
)
from hub.policy.search import PolicedSearchSource as PolicedSearchSource
from schema.classification import personal_masks
from schema.context import RecordSource
from schema.record import Record

PURPOSE_HEADER = "cityhub-purpose"
RATE_WINDOW_S = 60.0
SCAN_CHUNK = 1000
FACT_TYPE = "SourceFact"

# {GraphQL type: {field: (classification, default mask)}} for the record types
Classified = dict[str, dict[str, tuple[str, str | None]]]


def classification_table(schema: GraphQLSchema) -> Classified:
    """Field classifications declared on the schema (strawberry field ``metadata``). A type
    is policed when any of its fields declares one; its other fields count as internal."""
    table: Classified = {}
    for name, gql_type in schema.type_map.items():
        if not isinstance(gql_type, GraphQLObjectType) or name.startswith("__"):
            continue
        fields: dict[str, tuple[str, str | None]] = {}
        declared = False
        for field_name, gql_field in gql_type.fields.items():
            definition = (gql_field.extensions or {}).get("strawberry-definition")
            metadata = getattr(definition, "metadata", None) or {}
            level = metadata.get("classification")
            declared = declared or level is not None
            fields[field_name] = (str(level or "internal"), metadata.get("mask"))
        if declared:
            table[name] = fields
    return table


@dataclass(frozen=True)
class Countable:
    """The rows of a type a request may count (figures), whether it may also read them, the
    policy's name for those rows (figures over them can be cached under it), and how figures
    over them are published (``figures``: exact for a reader, the k rule for counts only —
    ``hub.policy.aggregates``)."""

    check: Callable[[Record], bool]
    readable: bool
    view: Hashable
    figures: FigureRule = EXACT


@dataclass
class RequestPolicy:
    """The policy as one request sees it: decisions per type, gates passed, fields masked."""

    engine: PolicyEngine
    principal: PrincipalLike | None
    purpose: str | None
    rates: RateCounter | None
    decisions: dict[str, Decision] = field(default_factory=dict)
    gated: set[str] = field(default_factory=set)
    fields_masked: set[str] = field(default_factory=set)
    # (GraphQL type, field) -> how this request is served that field (None: always whole —
    # ``id`` and ``__typename``). The view depends only on the field's definition and the
    # type's decision, both fixed for the request, so it is worked out once per field
    # definition, not once per resolved value (743 grid-cell buckets share five views).
    field_views: dict[tuple[str, str], FieldView | None] = field(default_factory=dict)
    # the schema's field classifications, set by PolicyExtension for the paths that serve
    # fields outside a resolver (search titles and snippets)
    classified: Classified = field(default_factory=dict)

    def decide(self, type_name: str) -> Decision:
        found = self.decisions.get(type_name)
        if found is None:
            found = self.decisions[type_name] = self.engine.decide(self.principal, type_name)
        return found

    async def gate(self, type_name: str) -> Decision:
        """The decision for a type the request reads, after its purpose and rate checks."""
        decision = self.decide(type_name)
        if not decision.allowed:
            raise PolicyDenied(f"access denied: {decision.reason}")
        if type_name in self.gated:
            return decision
        if decision.purpose and self.purpose not in decision.purpose:
            raise PolicyDenied(
                f"reading {type_name} needs a Cityhub-Purpose header, one of: "
                + ", ".join(decision.purpose)
            )
        limit = decision.rate_limit
        if limit and self.rates is not None and self.principal is not None:
            hits = await self.rates.hit(
                f"policy-rate:{self.principal.label}:{type_name}", RATE_WINDOW_S
            )
            if hits > limit:
                raise PolicyRateLimited(f"rate limit for {type_name}: {limit} requests per minute")
        self.gated.add(type_name)
        return decision

    async def readable(self, type_name: str) -> Callable[[Record], bool]:
        """Which rows of a type this request may read (after the gate); counts-only access
        is refused here, before any row is looked at."""
        decision = await self.gate(type_name)
        if decision.aggregate_only:
            raise PolicyDenied(f"{type_name} is served to you as counts only")
        return self.row_check(decision)

    async def countable(self, type_name: str) -> Countable:
        """The rows of a type this request may count (figures), whether it may also read
        them, and the policy's name for those rows (after the gate)."""
        decision = await self.gate(type_name)
        return Countable(
            self.row_check(decision),
            not decision.aggregate_only,
            self.row_view(decision),
            self.figure_rule(decision),
        )

    async def figures(self, *type_names: str) -> FigureRule:
        """How a figure computed over rows of these types is published to this request (after
        each type's gate): the strictest of their rules."""
        rule = EXACT
        for type_name in type_names:
            rule = rule.with_(self.figure_rule(await self.gate(type_name)))
        return rule

    def figure_rule(self, decision: Decision) -> FigureRule:
        """How figures over a decision's rows are published: exact to a principal that reads
        the rows, under the type rule's ``min_group`` (k) when it may only count them."""
        if not decision.aggregate_only or decision.rule is None:
            return EXACT
        return FigureRule(decision.rule.min_group, decision.policy)

    def visible(self, decision: Decision, record: Record) -> bool:
        return decision.row_visible(record.key, record.kind, record.attrs)

    def row_check(self, decision: Decision) -> Callable[[Record], bool]:
        """``visible`` for one decision as a function of the row: a decision without a row
        filter sees every row, so its check is a constant and costs no call per row."""
        if decision.row_filter is None:
            return _every_row
        return lambda record: decision.row_visible(record.key, record.kind, record.attrs)

    def row_view(self, decision: Decision) -> tuple[Any, ...]:
        """Which rows of ``decision.type_name`` the decision lets this request see, as a
        hashable value: two decisions with equal views see exactly the same rows (for
        caching results computed over the visible rows). Without a row filter: every row,
        whoever asks (refusals, counts-only, purpose and rate checks are the gate's, and
        are not part of the view). With one: the published policy generation, the policy,
        the filter's text and every principal attribute the filter can read — so
        principals never share a view unless the filter cannot tell them apart."""
        if decision.row_filter is None:
            return (decision.type_name, "every row")
        return (
            decision.type_name,
            self.engine.generation,
            decision.policy,
            decision.row_filter.text,
            repr(sorted(decision.principal_attrs.items())),
        )

    def field_view(
        self, type_name: str, name: str, fields: Mapping[str, tuple[str, str | None]], info: Any
    ) -> FieldView | None:
        """The view of field ``type_name.name`` for this request (see ``field_views``)."""
        key = (type_name, name)
        try:
            return self.field_views[key]
        except KeyError:
            pass
        view: FieldView | None = None
        if name != "id" and name != "__typename":
            level, default_mask = fields.get(name, ("internal", None))
            view = self.decide(type_name).field_view(name, level, default_mask, _python_name(info))
        self.field_views[key] = view
        return view


def _every_row(_record: Record) -> bool:
    return True


class PolicedRecordSource:
    """The context's record source, as the policy lets this request see it."""

    def __init__(self, inner: RecordSource, policy: RequestPolicy) -> None:
        self.inner = inner
        self.policy = policy
        self._counts: dict[str, int] = {}

    async def _readable(self, kind: str) -> Decision | None:
        decision = self.policy.decide(kind)
        if not decision.reads_rows:
            return None  # not readable, or counts only: no rows, silently (facts, links)
        return await self.policy.gate(kind)

    async def load(self, kind: str, key: str) -> Record | None:
        decision = await self._readable(kind)
        if decision is None:
            return None
        record = await self.inner.load(kind, key)
        return record if record is not None and self.policy.visible(decision, record) else None

    async def reference(self, kind: str, key: str) -> Record:
        """One row a federation gateway names (``_entities``), or the refusal as an error:
        unlike ``load`` (a link that quietly resolves to nothing), a representation the
        principal may not read is an error entry of its own. A row hidden by the row filter
        gets the same message as a row that does not exist."""
        decision = self.policy.decide(kind)
        if not decision.allowed:
            raise PolicyDenied(f"access denied: {decision.reason}")
        if decision.aggregate_only:
            raise PolicyDenied(f"{kind} is served to you as counts only")
        record = await self.load(kind, key)
        if record is None:
            raise LookupError(f"no {kind} with key {key[:80]!r}")
        return record

    async def acted_on(self, kind: str, key: str) -> Record:
        """The row a write acts on, read through the policy before the service runs its own
        rules: a row the policy hides answers exactly as a row that does not exist (the same
        ``LookupError`` text), so a step's refusals ("case X is closed", "cannot transfer a
        resolved case") are only ever told about rows the caller may see."""
        return await self.reference(kind, key)

    async def load_field(
        self,
        kind: str,
        key: str,
        name: str,
        fields: Mapping[str, tuple[str, str | None]],
        *aliases: str,
    ) -> Record | None:
        """The row when this request may read it and is served its field ``name`` (or its
        Python name among ``aliases``) whole; ``fields``: the type's classifications. For
        what a route serves on a row's behalf outside GraphQL (a case's photos). A refused
        type, counts-only access, a missing purpose, a hidden or missing row, a refused or
        masked field: None, all alike."""
        try:
            record = await self.load(kind, key)
        except PolicyDenied:
            return None
        if record is None:
            return None
        level, default_mask = fields.get(name, ("internal", None))
        view = self.policy.decide(kind).field_view(name, level, default_mask, *aliases)
        return record if view.allowed and view.mask is None else None

    async def load_many(self, kind: str, keys: Sequence[str]) -> list[Record | None]:
        decision = await self._readable(kind)
        if decision is None:
            return [None for _ in keys]
        found = await self.inner.load_many(kind, keys)
        return [r if r is not None and self.policy.visible(decision, r) else None for r in found]

    async def page(
        self, kind: str, *, after: str | None, before: str | None, limit: int, from_end: bool
    ) -> list[Record]:
        decision = await self.policy.gate(kind)
        if decision.aggregate_only:
            return []
        if decision.row_filter is None:
            return await self.inner.page(
                kind, after=after, before=before, limit=limit, from_end=from_end
            )
        # A filtered page: read on in chunks until enough visible rows are found.
        found: list[Record] = []
        lo, hi = after, before
        while len(found) < limit:
            chunk = await self.inner.page(
                kind, after=lo, before=hi, limit=SCAN_CHUNK, from_end=from_end
            )
            rows = list(reversed(chunk)) if from_end else chunk
            found.extend(r for r in rows if self.policy.visible(decision, r))
            if len(chunk) < SCAN_CHUNK:
                break
            if from_end:
                hi = chunk[0].key
            else:
                lo = chunk[-1].key
        found = found[:limit]
        return list(reversed(found)) if from_end else found

    async def any_from(self, kind: str, key: str, *, forward: bool) -> bool:
        decision = await self.policy.gate(kind)
        if decision.aggregate_only:
            return False
        if decision.row_filter is None:
            return await self.inner.any_from(kind, key, forward=forward)
        # "at or past key": the key itself, then the rows beyond it
        own = await self.inner.load(kind, key)
        if own is not None and self.policy.visible(decision, own):
            return True
        rows = await self.page(
            kind,
            after=key if forward else None,
            before=None if forward else key,
            limit=1,
            from_end=not forward,
        )
        return bool(rows)

    async def count(self, kind: str) -> int:
        """How many rows of ``kind`` this request may see (``totalCount``, ``count(type:)``);
        a count below the policy's k is refused to a counts-only principal."""
        decision = await self.policy.gate(kind)
        total = await self._visible_count(kind, decision)
        self.policy.figure_rule(decision).require(total, f"{kind} rows")
        return total

    async def _visible_count(self, kind: str, decision: Decision) -> int:
        if decision.row_filter is None:
            return await self.inner.count(kind)
        if kind not in self._counts:
            total, after = 0, None
            while True:
                chunk = await self.inner.page(
                    kind, after=after, before=None, limit=SCAN_CHUNK, from_end=False
                )
                total += sum(1 for r in chunk if self.policy.visible(decision, r))
                if len(chunk) < SCAN_CHUNK:
                    break
                after = chunk[-1].key
            self._counts[kind] = total
        return self._counts[kind]


async def acted_on(records: Any, kind: str, key: str) -> Record | None:
    """What every mutation on an existing row calls first, with the request's record source:
    the row through the policy (``PolicedRecordSource.acted_on``), or None when enforcement
    is off (benchmarks only) and the service's own lookup is the only one."""
    if isinstance(records, PolicedRecordSource):
        return await records.acted_on(kind, key)
    return None


def _mask_value(value: Any, mask: str) -> Any:
    if isinstance(value, str) and value:
        return mask_rows([{"v": value}], {"v": mask})[0]["v"]
    if isinstance(value, list):
        return [_mask_value(v, mask) for v in value]
    return value


def police_attrs(policy: RequestPolicy, kind: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A record's attributes as the policy shows them: allowed ones, personal ones masked."""
    decision = policy.decide(kind)
    personal = personal_masks(kind, dict(attrs))
    shown: dict[str, Any] = {}
    masks: dict[str, str] = {}
    for name, value in attrs.items():
        default = personal.get(name)
        view = decision.field_view(name, "personal" if default else "internal", default)
        if not view.allowed:
            continue
        shown[name] = value
        if view.mask and isinstance(value, str) and value:
            masks[name] = view.mask
            policy.fields_masked.add(f"{kind}.{name}")
    served = mask_rows([shown], masks)[0] if masks else shown
    return scrub_attrs(decision, kind, served, policy.fields_masked)  # typed-in free text


class PolicyExtension(SchemaExtension):
    """Field-level enforcement around every resolver (see the module's docstring)."""

    # the schema's free-text fields, looked up once per request (one instance per request)
    _free_text: FreeTextFields | None = None

    def __init__(self, *, table: Callable[[], Classified]) -> None:
        self._table = table

    def on_operation(self) -> Iterator[None]:
        policy = getattr(self.execution_context.context, "policy", None)
        if isinstance(policy, RequestPolicy):
            policy.classified = self._table()
        yield

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any
    ) -> Any:
        type_name = info.parent_type.name
        if self._free_text is None:
            self._free_text = free_text_fields(info.schema)
        free = self._free_text.get(type_name)
        if free is not None and info.field_name in free:
            _next = _scrubbing(_next, free[info.field_name])
        fields = self._table().get(type_name)
        if fields is None and type_name != FACT_TYPE:
            return _next(root, info, *args, **kwargs)
        policy: RequestPolicy | None = getattr(info.context, "policy", None)
        if policy is None:
            return _next(root, info, *args, **kwargs)
        name = info.field_name
        if type_name == FACT_TYPE:
            if name != "attrs" or root is None:
                return _next(root, info, *args, **kwargs)
            return _then(
                _next(root, info, *args, **kwargs),
                lambda v: police_attrs(policy, root.kind, v) if isinstance(v, dict) else v,
            )
        assert fields is not None
        view = policy.field_view(type_name, name, fields, info)
        if view is None:  # id, __typename
            return _next(root, info, *args, **kwargs)
        if not view.allowed:
            decision = policy.decide(type_name)
            raise PolicyDenied(f"{type_name}.{name} is not available to you under {_ref(decision)}")
        result = _next(root, info, *args, **kwargs)
        if view.mask is None:
            return result
        policy.fields_masked.add(f"{type_name}.{name}")
        mask = view.mask
        return _then(result, lambda v: _mask_value(v, mask))


def _ref(decision: Decision) -> str:
    return f"policy {decision.policy}" if decision.policy else "the access policy"


def _python_name(info: Any) -> str:
    field_def = info.parent_type.fields.get(info.field_name)
    definition = (field_def.extensions or {}).get("strawberry-definition") if field_def else None
    return str(getattr(definition, "python_name", info.field_name))


def _scrubbing(next_: Callable[..., Any], python_name: str) -> Callable[..., Any]:
    """A free-text field's resolver, its value scrubbed of personal data when the request's
    policy says so (``hub.policy.free_text``); noted like a masked field when it changed."""

    def resolve(root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        result = next_(root, info, *args, **kwargs)
        policy = getattr(info.context, "policy", None)
        type_name, name = info.parent_type.name, info.field_name
        if not isinstance(policy, RequestPolicy) or not scrubs(
            policy.decide(type_name), name, python_name
        ):
            return result

        def scrubbed(value: Any) -> Any:
            out = scrub_json(value)
            if out != value:
                policy.fields_masked.add(f"{type_name}.{name}")
            return out

        return _then(result, scrubbed)

    return resolve


def _then(result: Any, apply: Callable[[Any], Any]) -> Any:
    if inspect.isawaitable(result):

        async def awaited() -> Any:
            return apply(await result)

        return awaited()
    return apply(result)
