"""The hub's configuration: defaults < TOML file < ``CITYHUB_*`` environment variables.

The TOML file is ``$CITYHUB_CONFIG`` if set, else ``./cityhub.toml`` if present. Keys in the file
are the setting names without the prefix (``database_url = "postgresql+psycopg://..."``).
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "CITYHUB_"


class ConfigError(Exception):
    """A configuration value is invalid; the message names the setting and fits on one line."""


def config_file() -> Path | None:
    explicit = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{ENV_PREFIX}CONFIG: no such file: {path}")
        return path
    local = Path("cityhub.toml")
    return local if local.is_file() else None


def read_config_file() -> dict[str, Any]:
    path = config_file()
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{ENV_PREFIX}CONFIG: cannot read {path}: {exc}") from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Field(Path("var"), description="Where embedded stores and demo data live")
    database_url: str = Field(
        "", description="SQLAlchemy URL of the store; empty means SQLite in data_dir"
    )
    search_url: str = Field(
        "", description="Search backend URL; empty means SQLite FTS5 in data_dir"
    )
    graph_url: str = Field(
        "", description="Knowledge-graph backend URL; empty means SQLite in data_dir"
    )
    sources: Path | None = Field(
        None,
        description="Endpoints file of the source systems (JSON); empty means the simulated "
        "city's, data_dir/sandbox/endpoints.json",
    )
    fanout_url: str = Field(
        "",
        description="Fan-out between workers and shared rate counters: empty means in-process, "
        "redis://host:port/db[?prefix=NAME] for Redis pub/sub",
    )
    audit_checkpoints: Path | None = Field(
        None,
        description="File the audit chain's signed head checkpoints are appended to; put it on "
        "storage the database's administrators cannot rewrite (default: DATA_DIR/"
        "audit-checkpoints.jsonl)",
    )
    sync_interval_s: float = Field(
        0.0,
        ge=0,
        le=86400,
        description="Seconds between scheduled incremental syncs of the pull-mode source "
        "systems (one worker at a time runs them); 0: only `cityhub sync` syncs",
    )
    policy_poll_s: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="How often each worker checks the store for policies published elsewhere",
    )
    mqtt_url: str = Field(
        "",
        description="MQTT broker (mqtt://host:port) whose cityhub/telemetry/# readings the hub "
        "ingests; empty: readings come over HTTP only",
    )
    host: str = Field("127.0.0.1", description="Address `cityhub serve` binds")
    port: int = Field(8000, ge=1, le=65535, description="Port `cityhub serve` binds")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    telemetry_exporter: Literal["none", "console", "otlp"] = Field(
        "none", description="Where OpenTelemetry spans go"
    )
    otlp_endpoint: str = Field("", description="OTLP/HTTP endpoint when the exporter is otlp")
    service_name: str = "cityhub"
    demo_seed: int = Field(2019, description="Seed of the demo city")
    demo_scale: int = Field(1, ge=1, le=1000, description="Multiplier of the demo city's counts")
    graphql_max_depth: int = Field(12, ge=2, le=64, description="Deepest query accepted")
    graphiql: bool = Field(True, description="Serve the GraphiQL IDE to browsers at /graphql")
    secret_key: SecretStr = Field(
        SecretStr("dev-only-change-me"), description="Signs the hub's own short-lived values"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's [auth] table belongs to hub.auth.config.AuthSettings.
        table = {k: v for k, v in read_config_file().items() if k != "auth"}
        return (init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=table))

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        if value:
            try:
                make_url(value)
            except ArgumentError as exc:
                raise ValueError(f"not a database URL: {exc}") from None
        return value

    @cached_property
    def store_url(self) -> str:
        """The effective store URL: the configured one, or SQLite under data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cityhub.db').resolve()}"

    @property
    def audit_checkpoint_path(self) -> Path:
        return self.audit_checkpoints or self.data_dir / "audit-checkpoints.jsonl"

    @cached_property
    def search_store_url(self) -> str:
        return self.search_url or f"sqlite:///{(self.data_dir / 'search.db').resolve()}"

    @cached_property
    def graph_store_url(self) -> str:
        return self.graph_url or f"sqlite:///{(self.data_dir / 'graph.db').resolve()}"

    @property
    def sources_file(self) -> Path:
        """The effective endpoints file of the source systems."""
        return self.sources or self.data_dir / "sandbox" / "endpoints.json"

    @property
    def demo_dir(self) -> Path:
        return self.data_dir / "demo" / f"binhai-{self.demo_seed}-x{self.demo_scale}"

    def public_view(self) -> dict[str, Any]:
        """Effective settings for display, with secrets and URL passwords masked."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********"
            elif name == "database_url":
                value = mask_url(self.store_url)
            elif name.endswith("_url") and value:
                value = mask_url(value)
            elif isinstance(value, Path):
                value = str(value)
            shown[name] = value
        return shown


def mask_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def load_settings(**overrides: Any) -> Settings:
    """Read the configuration; raise ConfigError with a one-line message on invalid values."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, ENV_PREFIX)) from None


def describe_error(exc: ValidationError, prefix: str) -> str:
    """The first validation error as one line naming the environment variable."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "?"
    given = first.get("input")
    shown = "" if isinstance(given, dict) else f" (got {given!r})"
    return f"{prefix}{field.upper()}: {first['msg']}{shown}"
