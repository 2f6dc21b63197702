"""`cityhub serve`: the hub under uvicorn, and what an operator must hear at every start."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from hub import __version__
from hub.cli.common import err, open_store
from hub.config import ENV_PREFIX, Settings, load_settings
from hub.store import RecordStore


def register(app: typer.Typer) -> None:
    app.command()(serve)


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
