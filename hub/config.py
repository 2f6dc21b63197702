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

from hub.private_files import make_private, private_dir, private_sqlite
from hub.sealed import kek_from
from hub.secret_key import (
    DEV_SECRET,
    SECRET_FILE,
    Origin,
    SecretFileError,
    is_loopback,
    read_or_create,
    weakness,
)

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
    statement_timeout_s: float = Field(
        30.0,
        ge=0,
        le=86400,
        description="PostgreSQL: longest a store statement may run before the server cancels "
        "it (a hung server or lock must not hold requests for good); 0: no limit",
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
    sync_call_timeout_s: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="Deadline of one call to a source system during a sync (one page), "
        "however slowly it trickles; past it the run is marked down",
    )
    sync_run_timeout_s: float = Field(
        1800.0,
        gt=0,
        le=86400,
        description="Deadline of one source system's whole sync run",
    )
    feed_retention_s: float = Field(
        7 * 86400,
        ge=3600,
        description="How long the change feed keeps an entry (never past what the knowledge "
        "graph has taken); one worker at a time deletes older ones",
    )
    feed_prune_every_s: float = Field(
        3600.0, gt=0, le=86400, description="How often the change feed's old entries are deleted"
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
    telemetry_max_ahead_s: float = Field(
        86_400.0,
        gt=0,
        description="A reading more than this far ahead of the hub's clock is refused (epoch "
        "milliseconds sent for seconds are)",
    )
    telemetry_max_behind_s: float = Field(
        30 * 86_400.0,
        ge=0,
        description="A reading more than this far behind the hub's clock is refused; 0: no limit",
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
    secret_key: SecretStr | None = Field(
        None,
        description="Keys person ids and seals the private keys at rest; empty: a random key "
        "generated on first start into DATA_DIR/secret.key (0600). At least 32 bytes to serve "
        "beyond loopback",
    )
    key_encryption_key: SecretStr | None = Field(
        None,
        description="Seals the signing and audit private keys at rest (AES-GCM, HKDF); empty: "
        "derived from the secret key. Keep it outside the data folder",
    )
    audit_export: str = Field(
        "",
        description="Where each signed audit checkpoint is also sent, outside the hub: a file "
        "path, or an http(s):// URL it is POSTed to (retried later on failure)",
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

    @field_validator("secret_key", "key_encryption_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

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

    @property
    def audit_key_path(self) -> Path:
        """The audit checkpoints' Ed25519 key (private half sealed, file 0600)."""
        return self.data_dir / "audit-key.json"

    @property
    def secret_file(self) -> Path:
        return self.data_dir / SECRET_FILE

    def secret_origin(self) -> Origin:
        """configured (CITYHUB_SECRET_KEY or the file), generated (DATA_DIR/secret.key), or
        default (the old built-in development value, configured by hand)."""
        if self.secret_key is None:
            return "generated"
        return "default" if self.secret_key.get_secret_value() == DEV_SECRET else "configured"

    def effective_secret(self) -> str:
        """The configured secret key, else the generated one (made on first use)."""
        return self._secret

    @cached_property
    def _secret(self) -> str:
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        private_dir(self.data_dir, tighten=True)
        try:
            return read_or_create(self.secret_file)
        except SecretFileError as exc:
            raise ConfigError(f"{ENV_PREFIX}SECRET_KEY: {exc}") from None

    def kek(self) -> bytes:
        """The 32-byte key-encryption key that seals private keys at rest."""
        return self._kek

    @cached_property
    def _kek(self) -> bytes:
        given = self.key_encryption_key
        return kek_from(given.get_secret_value() if given else self.effective_secret())

    def secure_data_dir(self, *store_urls: str) -> None:
        """The data folder 0700 and the secrets and stores in it 0600 (see private_files);
        ``store_urls``: stores opened elsewhere (SQLite files are made 0600 too)."""
        private_dir(self.data_dir, tighten=True)
        for url in (self.store_url, self.search_store_url, self.graph_store_url, *store_urls):
            private_sqlite(url)
        for path in (self.sources_file, self.audit_checkpoint_path, self.audit_key_path):
            make_private(path)
        make_private(self.secret_file)

    def check_serving(self) -> None:
        """Refuse to serve beyond loopback with a guessable secret key (one-line error)."""
        if self.secret_key is None or is_loopback(self.host):
            return
        why = weakness(self.secret_key.get_secret_value())
        if why:
            raise ConfigError(
                f"{ENV_PREFIX}SECRET_KEY {why}: refusing to serve on {self.host} (not loopback); "
                f"set a random key of 32 bytes or more, or unset it to use {self.secret_file}"
            )

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
            if name == "secret_key" or isinstance(value, SecretStr):
                value = "********"
            elif name == "database_url":
                value = mask_url(self.store_url)
            elif name.endswith("_url") and value:
                value = mask_url(value)
            elif isinstance(value, Path):
                value = str(value)
            shown[name] = value
        origin = self.secret_origin()
        shown["secret_key_origin"] = (
            f"generated ({self.secret_file})" if origin == "generated" else origin
        )
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
