"""`cityhub demo generate|load` and `cityhub index`: the demo city and the full rebuild of
the knowledge graph and search (they otherwise follow the change feed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import err, fail, open_store, out, progress_bar
from hub.config import Settings, load_settings

demo_app = typer.Typer(
    help="The demo city (Binhai New Area): generate and load it.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
    app.command("index")(index_command)


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


def index_command() -> None:
    """Rebuild the knowledge graph and the search index from the store."""
    reindex(load_settings())
