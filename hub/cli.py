"""The ``cityhub`` command line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub import __version__
from hub.cli_migrate import migrate_command
from hub.config import ENV_PREFIX, ConfigError, Settings, load_settings
from hub.private_files import private_umask
from hub.store import RecordStore, StoreUnavailable

app = typer.Typer(
    name="cityhub",
    help="The city brain: a GraphQL data-sharing hub joining the city's departmental systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
demo_app = typer.Typer(
    help="The demo city (Binhai New Area): generate and load it.", no_args_is_help=True
)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="The store's schema (Alembic migrations).", no_args_is_help=True)
schema_app = typer.Typer(help="The shared GraphQL schema.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(schema_app, name="schema")
app.command("migrate")(migrate_command)

out = Console()
err = Console(stderr=True)


class CliError(Exception):
    """A user-facing failure: printed as one line on stderr, exit status 2."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=not err.is_terminal,
    )


def _version(value: bool) -> None:
    if value:
        out.print(f"cityhub {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version")
    ] = False,
) -> None:
    """Configuration: CITYHUB_* environment variables and an optional TOML file
    ($CITYHUB_CONFIG, else ./cityhub.toml). See `cityhub config show`."""


def open_store(settings: Settings, *, migrate: bool = True) -> RecordStore:
    settings.secure_data_dir()
    store = RecordStore.from_url(settings.store_url)
    store.ping()
    if migrate:
        store.migrate()
    return store


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind [CITYHUB_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind [CITYHUB_PORT]")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes [CITYHUB_WORKERS]")] = None,
) -> None:
    """Run the hub (GraphQL at /graphql) with uvicorn."""
    import uvicorn

    # Workers are separate processes that read the configuration again: hand them the
    # command-line overrides through the environment.
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"{ENV_PREFIX}{name}"] = str(value)
    settings = load_settings()
    settings.check_serving()
    store = open_store(settings)
    try:
        start_up_warnings(settings, store)
    finally:
        store.close()
    err.print(
        f"cityhub {__version__} on http://{settings.host}:{settings.port}/graphql "
        f"(store: {settings.public_view()['database_url']}, workers: {settings.workers})"
    )
    uvicorn.run(
        "hub.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
    )


def start_up_warnings(settings: Settings, store: RecordStore) -> None:
    """What an operator must hear at every start: a guessable secret key, demo accounts."""
    from hub.auth.accounts import AccountStore
    from hub.demo import demo_accounts_in
    from hub.secret_key import weakness

    if settings.secret_key is not None:
        why = weakness(settings.secret_key.get_secret_value())
        if why:
            err.print(f"[bold red]warning:[/] {ENV_PREFIX}SECRET_KEY {why}: loopback only")
    demo = demo_accounts_in(AccountStore(store.engine))
    if demo:
        err.print(
            f"[bold red]warning:[/] demo accounts with public credentials exist: "
            f"{', '.join(demo)} (DEMO ONLY; remove them before real use)",
            soft_wrap=True,
        )


@demo_app.command("generate")
def demo_generate(
    seed: Annotated[int | None, typer.Option(help="Random seed [CITYHUB_DEMO_SEED]")] = None,
    scale: Annotated[
        int | None, typer.Option(min=1, help="Multiply entity counts [CITYHUB_DEMO_SCALE]")
    ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder")] = None,
    force: Annotated[bool, typer.Option(help="Generate even if the folder is up to date")] = False,
) -> None:
    """Generate the Binhai demo city (deterministic: same seed, same bytes)."""
    from hub.demo import generate

    settings = load_settings(
        **{k: v for k, v in (("demo_seed", seed), ("demo_scale", scale)) if v is not None}
    )
    target = out_dir or settings.demo_dir
    with progress_bar() as bar:
        manifest = generate(target, settings.demo_seed, settings.demo_scale, bar, force=force)
    out.print(f"demo city in {target}: {sum(manifest['counts'].values()):,} records")


@demo_app.command("load")
def demo_load(
    seed: Annotated[int | None, typer.Option(help="Random seed [CITYHUB_DEMO_SEED]")] = None,
    scale: Annotated[int | None, typer.Option(min=1, help="Scale [CITYHUB_DEMO_SCALE]")] = None,
    from_dir: Annotated[Path | None, typer.Option("--from", help="Generated folder")] = None,
) -> None:
    """Generate the demo city if needed and load it into the store."""
    from hub.demo import generate, load

    settings = load_settings(
        **{k: v for k, v in (("demo_seed", seed), ("demo_scale", scale)) if v is not None}
    )
    target = from_dir or settings.demo_dir
    store = open_store(settings)
    try:
        with progress_bar() as bar:
            if from_dir is None:
                generate(target, settings.demo_seed, settings.demo_scale, bar)
            report = load(store, target, bar)
    finally:
        store.close()
    table = Table("kind", "records", title="demo city loaded")
    for kind, n in sorted(report.counts.items()):
        table.add_row(kind, f"{n:,}")
    out.print(table)
    if report.rejected:
        fail(f"{report.rejected} records rejected, first: {report.errors[0]}")
    reindex(settings)


def reindex(settings: Settings) -> None:
    from hub.graph import open_graph
    from hub.indexing import rebuild
    from hub.search import open_search

    store = open_store(settings, migrate=False)
    graph = open_graph(settings.graph_store_url)
    search = open_search(settings.search_store_url)
    try:
        with err.status("indexing") as status:
            report = rebuild(
                store,
                graph,
                search,
                secret=settings.effective_secret(),
                progress=lambda step: status.update(f"indexing: {step}"),
            )
    finally:
        store.close()
        graph.close()
        search.close()
    out.print(
        f"knowledge graph: {report.graph.entities:,} entities from {report.graph.records:,} "
        f"records ({report.graph.merged:,} merged), {report.graph.relations:,} relations; "
        f"search: {report.documents:,} documents"
    )


@app.command("index")
def index_command() -> None:
    """Rebuild the knowledge graph and the search index from the store."""
    reindex(load_settings())


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Print the effective configuration (secrets masked)."""
    from hub.auth.config import load_auth_settings

    view = load_settings().public_view()
    auth = {f"auth_{k}": v for k, v in load_auth_settings().model_dump().items()}
    view.update(auth)
    if as_json:
        out.print_json(json.dumps(view))
        return
    table = Table("setting", "value")
    for name, value in view.items():
        table.add_row(f"{ENV_PREFIX}{name.upper()}", str(value))
    out.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the store's migrations up to the newest."""
    settings = load_settings()
    open_store(settings).close()
    out.print("store schema is up to date")


@schema_app.command("export")
def schema_export(
    path: Annotated[Path | None, typer.Argument(help="Write here instead of stdout")] = None,
) -> None:
    """Print (or write) the schema's SDL; schema/schema.graphql is this output."""
    from hub.graphql_schema import sdl

    text = sdl() + "\n"
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")


from hub.cli_sources import register as _register_sources  # noqa: E402

_register_sources(app)

from hub.cli_auth import register as _register_auth  # noqa: E402

_register_auth(app)

from hub.cli_policy import register as _register_policy  # noqa: E402

_register_policy(app)


def main() -> None:
    # the data folder's stores, keys and the sandbox's webhook secrets: this user's alone
    private_umask()
    try:
        app()
    except (CliError, ConfigError, StoreUnavailable) as exc:
        print(f"cityhub: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
