"""The ``cityhub`` command line: one module per command group, composed here.

The groups import only ``hub.cli.common``, never this package, so there is no import cycle.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from hub import __version__
from hub.cli import admin, auth, demo, policy, serve, sources
from hub.cli.common import CliError, err, fail, open_store, out, progress_bar
from hub.cli.serve import start_up_warnings
from hub.config import ConfigError
from hub.private_files import private_umask
from hub.store import StoreUnavailable

__all__ = [
    "CliError",
    "app",
    "err",
    "fail",
    "main",
    "open_store",
    "out",
    "progress_bar",
    "start_up_warnings",
]

app = typer.Typer(
    name="cityhub",
    help="The city brain: a GraphQL data-sharing hub joining the city's departmental systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
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


# demo before auth: auth adds `demo accounts` to the demo group
for group in (serve, demo, admin, sources, auth, policy):
    group.register(app)


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
