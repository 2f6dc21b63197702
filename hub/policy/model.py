"""A policy document: for one subject (a role, a client or a user), what each type may show.

Documents are TOML (see ``policies/README.md``) and validated here with pydantic.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.policy.expr import ExpressionError, RowFilter, parse_filter

Classification = Literal["public", "internal", "sensitive", "personal"]
LEVELS: dict[str, int] = {"public": 0, "internal": 1, "sensitive": 2, "personal": 3}
MASK_KINDS = ("name", "phone", "id_number", "redact")
ALL = "*"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_SUBJECT = re.compile(r"^(role|client|user):[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_TYPE = re.compile(r"^(\*|[A-Z][A-Za-z0-9]{0,63})$")
_FIELD = re.compile(r"^(\*|[A-Za-z_][A-Za-z0-9_]{0,63})$")
_PURPOSE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class PolicyError(ValueError):
    """A document that is not a valid policy; the message names the place."""


def _names(value: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Field or step names as a rule lists them (``*``: all)."""
    for name in value:
        if not _FIELD.match(name):
            raise ValueError(f"bad {what} name {name[:40]!r}")
    return value


def _row_filter(value: str | None) -> str | None:
    """A row filter that parses (the error names what is wrong with it)."""
    if value is not None:
        try:
            parse_filter(value)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
    return value


class WriteRule(BaseModel):
    """What one subject may change of one type: which workflow steps, on which rows. Rows
    outside the type's read side are never acted on, whatever this says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: tuple[str, ...] = Field(default=(), description="Steps it may take, or *; none: none")
    row_filter: str | None = Field(default=None, description="Rows it may act on (expression)")

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _names(value, "step")

    @field_validator("row_filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        return _row_filter(value)

    def compiled_filter(self) -> RowFilter | None:
        return parse_filter(self.row_filter) if self.row_filter else None

    def allows_step(self, step: str) -> bool:
        return ALL in self.steps or step in self.steps


MIN_GROUP = 5  # k: the smallest group a counts-only figure may describe


class TypeRule(BaseModel):
    """What one subject may see of one type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: tuple[str, ...] = Field(default=(ALL,), description="Visible fields, or *")
    row_filter: str | None = Field(default=None, description="Rows visible (expression)")
    masks: dict[str, str] = Field(default_factory=dict, description="field -> mask kind")
    reveal: tuple[str, ...] = Field(default=(), description="Personal fields served whole")
    aggregate_only: bool = Field(default=False, description="Counts only, never rows")
    purpose: tuple[str, ...] = Field(default=(), description="Cityhub-Purpose values, if any")
    rate_limit: int | None = Field(default=None, ge=1, le=100_000, description="Per minute")
    min_group: int = Field(
        default=MIN_GROUP, ge=2, le=1000, description="Counts only: smallest group served (k)"
    )
    write: WriteRule | None = Field(default=None, description="Steps it may take; None: none")

    @field_validator("fields", "reveal")
    @classmethod
    def _field_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _names(value, "field")

    @field_validator("masks")
    @classmethod
    def _masks(cls, value: dict[str, str]) -> dict[str, str]:
        for name, kind in value.items():
            if not _FIELD.match(name) or name == ALL:
                raise ValueError(f"bad field name {name[:40]!r}")
            if kind not in MASK_KINDS:
                raise ValueError(f"mask {kind[:20]!r} for {name}: one of {', '.join(MASK_KINDS)}")
        return value

    @field_validator("purpose")
    @classmethod
    def _purposes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for purpose in value:
            if not _PURPOSE.match(purpose):
                raise ValueError(f"bad purpose {purpose[:40]!r} (lower-case words, - . _)")
        return value

    @field_validator("row_filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        return _row_filter(value)

    def compiled_filter(self) -> RowFilter | None:
        return parse_filter(self.row_filter) if self.row_filter else None

    def allows_field(self, field: str, *names: str) -> bool:
        return ALL in self.fields or any(n in self.fields for n in (field, *names))


class PolicyDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Stable name of the policy, e.g. partner")
    subject: str = Field(description="role:NAME, client:ID or user:NAME")
    description: str = ""
    clearance: Classification = Field(
        default="internal", description="The highest classification served (personal: masked)"
    )
    principals: dict[str, dict[str, str | int | float | bool]] = Field(
        default_factory=dict,
        description="Attributes of principals for row filters: {client:ID|user:NAME: {...}}",
    )
    types: dict[str, TypeRule] = Field(default_factory=dict, description="Type -> rule; * others")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("lower-case letters, digits, . _ - (max 63)")
        return value

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        if not _SUBJECT.match(value):
            raise ValueError("role:NAME, client:ID or user:NAME")
        return value

    @field_validator("types")
    @classmethod
    def _types(cls, value: dict[str, TypeRule]) -> dict[str, TypeRule]:
        for name in value:
            if not _TYPE.match(name):
                raise ValueError(f"bad type name {name[:40]!r}: CamelCase, or *")
        return value

    @field_validator("principals")
    @classmethod
    def _principals(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for label, attrs in value.items():
            if not re.match(r"^(client|user):[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", label):
                raise ValueError(f"principal {label[:40]!r}: client:ID or user:NAME")
            for attr in attrs:
                if not re.match(r"^[a-z][a-z0-9_]{0,63}$", attr):
                    raise ValueError(f"principal attribute {attr[:40]!r}: lower_case")
        return value

    def rule(self, type_name: str) -> TypeRule | None:
        return self.types.get(type_name) or self.types.get(ALL)


def parse_document(source: str) -> PolicyDocument:
    """A policy from TOML text, or PolicyError naming the first problem."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}") from None
    return document_of(data)


def document_of(data: Any) -> PolicyDocument:
    if not isinstance(data, dict):
        raise PolicyError("a policy must be a table")
    try:
        return PolicyDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise PolicyError(f"{where}: {message}") from None
