"""Declarative mappings: a source's native rows → ``Record``s with identity keys.

A connector for a system is mostly one :class:`KindMapping` per record kind it serves::

    KindMapping(
        kind="Enterprise", stream="t_scztdj",          # the table / path / topic / file
        key="nbbh", source_id="tyshxydm",              # identity: hub key, source's own id
        fields={"qymc": "name", "zczb": "registered_capital_10k_cny:float", ...},
        point=("jd", "wd"), updated_at="gxsj", required=("name", "uscc"),
    )

``fields`` maps native field names to attribute names, optionally with a type the value is
coerced to when the source delivered text (CSV cells, form posts): ``str``, ``int``,
``float``, ``bool``, ``json``. A native field that is absent leaves the attribute out; an
empty one becomes ``None``. A row that cannot become a valid record raises
:class:`~connectors.errors.MappingError` with the reason the operator will read in quarantine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from connectors.errors import MappingError
from schema.record import Record, RecordError

_TRUE = {"1", "true", "t", "yes", "y", "是"}
_FALSE = {"0", "false", "f", "no", "n", "否"}


def _coerce(value: Any, kind: str, native: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        try:
            if kind == "str":
                return value
            if kind == "int":
                return int(float(text)) if "." in text else int(text)
            if kind == "float":
                return float(text)
            if kind == "bool":
                low = text.lower()
                if low in _TRUE:
                    return True
                if low in _FALSE:
                    return False
                raise ValueError(text)
            if kind == "json":
                return json.loads(text)
        except ValueError:
            raise MappingError(f"field {native!r}: not a valid {kind}: {text[:40]!r}") from None
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "bool" and isinstance(value, int):
        return bool(value)
    return value


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from ISO text or a datetime (naive ones are taken as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class KindMapping:
    """How one stream of a source system becomes records of one kind."""

    kind: str
    stream: str
    key: str
    source_id: str
    fields: Mapping[str, str]
    point: tuple[str, str] | None = None  # native (lon, lat) fields
    geometry: str | None = None  # native field holding a GeoJSON geometry (object or text)
    datum: str = "GCJ-02"
    updated_at: str | None = None  # native field the incremental cursor follows
    required: tuple[str, ...] = ()  # attributes that must be present and non-empty
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # last-step fix-ups
    rest: Literal["drop", "same", "camel"] = "drop"  # unmapped native fields: drop, keep,
    # or keep with camelCase names turned into snake_case (JSON APIs)
    _parsed: dict[str, tuple[str, str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        parsed: dict[str, tuple[str, str]] = {}
        for native, spec in self.fields.items():
            attr, _, kind = spec.partition(":")
            kind = kind or "any"
            if kind not in ("any", "str", "int", "float", "bool", "json"):
                raise ValueError(f"{self.kind}.{native}: unknown type {kind!r}")
            parsed[native] = (attr, kind)
        object.__setattr__(self, "_parsed", parsed)

    @property
    def native_names(self) -> dict[str, str]:
        """attribute → native field (the inverse of ``fields``, without types)."""
        return {attr: native for native, (attr, _) in self._parsed.items()}

    def attr_types(self) -> dict[str, str]:
        return {attr: kind for attr, kind in self._parsed.values()}

    def row_time(self, row: Mapping[str, Any]) -> datetime | None:
        return parse_time(row.get(self.updated_at)) if self.updated_at else None

    def to_record(self, row: Mapping[str, Any], system: str, fetched_at: datetime) -> Record:
        """The record this row describes; MappingError (the quarantine reason) if it can't."""
        if not isinstance(row, Mapping):
            raise MappingError(f"a {self.kind} row must be an object, got {type(row).__name__}")
        key = _ident(row, self.key, "key")
        source_id = _ident(row, self.source_id, "source id")
        attrs: dict[str, Any] = {}
        for native, (attr, kind) in self._parsed.items():
            if native in row:
                value = row[native]
                if kind != "any":
                    value = _coerce(value, kind, native)
                elif isinstance(value, str) and not value.strip():
                    value = None  # a blank cell is a missing value
                attrs[attr] = value
        if self.rest != "drop":
            taken = self._taken()
            for native, value in row.items():
                if native not in taken and not native.startswith("__"):
                    attrs.setdefault(snake(native) if self.rest == "camel" else native, value)
        for attr in self.required:
            value = attrs.get(attr)
            if value is None or (isinstance(value, str) and not value.strip()):
                native = self.native_names.get(attr, attr)
                raise MappingError(f"missing required field {attr!r} ({native})")
        if self.transform is not None:
            attrs = self.transform(attrs)
        geometry = self._geometry(row)
        try:
            return Record.parse(
                {
                    "kind": self.kind,
                    "key": key,
                    "source_system": system,
                    "source_id": source_id,
                    "fetched_at": fetched_at,
                    "attrs": attrs,
                    "geometry": geometry,
                    "datum": self.datum if geometry is not None else None,
                }
            )
        except RecordError as exc:
            raise MappingError(f"invalid record: {exc}") from None

    def _geometry(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        if self.point is not None:
            lon_f, lat_f = self.point
            lon, lat = row.get(lon_f), row.get(lat_f)
            if lon in (None, "") and lat in (None, ""):
                return None
            try:
                x, y = float(lon), float(lat)  # type: ignore[arg-type]  # None: TypeError below
            except (TypeError, ValueError):
                raise MappingError(
                    f"coordinates ({lon_f}, {lat_f}) are not numbers: {lon!r}, {lat!r}"
                ) from None
            return {"type": "Point", "coordinates": [x, y]}
        if self.geometry is not None:
            value = row.get(self.geometry)
            if value in (None, ""):
                return None
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    raise MappingError(f"field {self.geometry!r}: not GeoJSON") from None
            if not isinstance(value, dict):
                raise MappingError(f"field {self.geometry!r}: not a GeoJSON object")
            return value
        return None

    def _taken(self) -> set[str]:
        taken = {self.key, self.source_id, *self._parsed}
        if self.point:
            taken.update(self.point)
        if self.geometry:
            taken.add(self.geometry)
        if self.updated_at:
            taken.add(self.updated_at)
        return taken

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A generator record (kind/key/attrs/geometry dict) in this source's native shape.

        The simulated city uses it to serve the demo city the way each system stores it.
        """
        attrs = record.get("attrs") or {}
        row: dict[str, Any] = {self.key: record["key"], self.source_id: record["source_id"]}
        for native, (attr, _) in self._parsed.items():
            if attr in attrs:
                row[native] = attrs[attr]
        if self.rest != "drop":
            mapped = {attr for attr, _ in self._parsed.values()}
            for attr, value in attrs.items():
                if attr not in mapped:
                    row[camel(attr) if self.rest == "camel" else attr] = value
        geometry = record.get("geometry")
        if geometry is not None:
            if self.point is not None and geometry.get("type") == "Point":
                row[self.point[0]], row[self.point[1]] = geometry["coordinates"]
            elif self.geometry is not None:
                row[self.geometry] = geometry
        return row


def _ident(row: Mapping[str, Any], native: str, what: str) -> str:
    value = row.get(native)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MappingError(f"missing {what} field {native!r}")
    return str(value).strip()


def camel(name: str) -> str:
    """snake_case → camelCase, reversibly (a part starting with a digit keeps its underscore):
    ``registered_capital_10k_cny`` → ``registeredCapital_10kCny``."""
    first, *rest = name.split("_")
    return first + "".join(p[:1].upper() + p[1:] if p[:1].isalpha() else "_" + p for p in rest)


_UPPER = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    """camelCase → snake_case, the inverse of :func:`camel`."""
    return _UPPER.sub(lambda m: "_" + m.group(1).lower(), name)
