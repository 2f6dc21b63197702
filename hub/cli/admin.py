"""`cityhub config show`, `cityhub db upgrade`, `cityhub schema export`, `cityhub migrate`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import open_store, out
from hub.cli.migrate import migrate_command
from hub.config import ENV_PREFIX, load_settings

config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="The store's schema (Alembic migrations).", no_args_is_help=True)
schema_app = typer.Typer(help="The shared GraphQL schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
    app.add_typer(db_app, name="db")
    app.add_typer(schema_app, name="schema")
    app.command("migrate")(migrate_command)


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
