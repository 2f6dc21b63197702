"""``cityhub migrate``: copy store, graph and search content between backends."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import err, fail, out
from hub.config import load_settings, mask_url

ROLES = ("store", "graph", "search")
_BY_SCHEME = {
    "postgresql": "store",
    "postgresql+psycopg": "store",
    "neo4j": "graph",
    "neo4j+s": "graph",
    "neo4j+ssc": "graph",
    "bolt": "graph",
    "bolt+s": "graph",
    "bolt+ssc": "graph",
    "elasticsearch": "search",
    "elasticsearch+http": "search",
    "elasticsearch+https": "search",
    "http": "search",
    "https": "search",
}


def _embedded(data_dir: Path) -> dict[str, str]:
    d = data_dir.resolve()
    return {
        "store": f"sqlite:///{d / 'cityhub.db'}",
        "graph": f"sqlite:///{d / 'graph.db'}",
        "search": f"sqlite:///{d / 'search.db'}",
    }


def resolve(specs: list[str], what: tuple[str, ...], side: str) -> dict[str, str]:
    """The URL of each role from ``--from``/``--to`` values: ``role=URL``, a data folder (the
    embedded stores in it), a ``.toml`` config file, or a bare URL (its role told by its
    scheme, or by ``--what`` when that names one role)."""
    urls: dict[str, str] = {}
    for spec in specs:
        role, sep, rest = spec.partition("=")
        if sep and role in ROLES:
            urls[role] = rest
        elif spec.endswith(".toml") and Path(spec).is_file():
            conf = tomllib.loads(Path(spec).read_text(encoding="utf-8"))
            base = _embedded(Path(conf.get("data_dir", "var")))
            urls.update(
                {
                    "store": conf.get("database_url") or base["store"],
                    "graph": conf.get("graph_url") or base["graph"],
                    "search": conf.get("search_url") or base["search"],
                }
            )
        elif "://" not in spec and Path(spec).is_dir():
            urls.update(_embedded(Path(spec)))
        elif "://" in spec:
            scheme = spec.split("://", 1)[0]
            if len(what) == 1:
                urls[what[0]] = spec
            elif scheme in _BY_SCHEME:
                urls[_BY_SCHEME[scheme]] = spec
            else:
                raise typer.BadParameter(
                    f"{spec.split('://', 1)[0]}:// could be any store: write store=, graph= "
                    "or search= before it, or name one role with --what",
                    param_hint=side,
                )
        else:
            raise typer.BadParameter(
                f"not a URL, data folder or .toml file: {spec}", param_hint=side
            )
    return urls


def migrate_command(
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--from",
            help="Where from: role=URL (role: store, graph, search), a data folder, a .toml "
            "config or a URL; repeatable. Default: the current configuration",
        ),
    ] = None,
    target: Annotated[
        list[str],
        typer.Option("--to", help="Where to, in the same forms as --from; repeatable"),
    ] = ...,  # type: ignore[assignment]  # typer's "required" after options with defaults
    what: Annotated[
        str, typer.Option(help="Comma-separated: store, graph, search")
    ] = "store,graph,search",
) -> None:
    """Copy the store, the knowledge graph and the search index between backends, and check
    that the counts on both sides are equal."""
    from hub.migrate import MigrationError, migrate

    roles = tuple(r.strip() for r in what.split(",") if r.strip())
    if not roles or any(r not in ROLES for r in roles):
        raise typer.BadParameter(f"choose from {', '.join(ROLES)}", param_hint="--what")
    if source:
        src = resolve(source, roles, "--from")
    else:
        settings = load_settings()
        src = {
            "store": settings.store_url,
            "graph": settings.graph_store_url,
            "search": settings.search_store_url,
        }
    dst = resolve(target, roles, "--to")
    for role in roles:
        if role not in src or role not in dst:
            fail(f"migrate: no {role} URL {'--from' if role not in src else '--to'}")
    try:
        with err.status("migrating") as status:
            report = migrate(src, dst, roles, say=lambda step: status.update(f"migrating: {step}"))
    except MigrationError as exc:
        fail(f"migrate: {exc}")
    table = Table("part", "count", "from", "to", title="migrated")
    for role in roles:
        part = report.parts[role]
        for name in sorted(set(part.source) | set(part.target)):
            a, b = part.source.get(name, 0), part.target.get(name, 0)
            table.add_row(role, name, f"{a:,}", f"{b:,}" if a == b else f"[red]{b:,}")
    out.print(table)
    for role in roles:
        out.print(f"{role}: {mask_url(src[role])} -> {mask_url(dst[role])}")
    if not report.equal:
        fail("migrate: counts differ between source and target")
