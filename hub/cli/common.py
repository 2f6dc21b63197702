"""What every command shares: the consoles, the one user-facing error, the store opener."""

from __future__ import annotations

from typing import NoReturn

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hub.config import Settings
from hub.store import RecordStore

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


def open_store(settings: Settings, *, migrate: bool = True) -> RecordStore:
    settings.secure_data_dir()
    store = RecordStore.from_url(settings.store_url)
    store.ping()
    if migrate:
        store.migrate()
    return store
