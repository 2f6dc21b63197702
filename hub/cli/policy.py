"""``cityhub policy``: the stewards' workflow on the command line (list, show, load, draft,
validate, dry-run, publish, approve, rollback). Changing commands name a steward with
``--steward``. A publish or rollback that widens access leaves the version pending; ``approve``
publishes it, by another steward who proves who they are with their password (four eyes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hub.cli.common import err, fail, open_store, out
from hub.policy.workflow import SEED_DIR, PolicyWorkflow, WorkflowError

policy_app = typer.Typer(
    help="Access policies: draft, dry-run, publish, approve, roll back (stewards).",
    no_args_is_help=True,
)
Steward = Annotated[str, typer.Option("--steward", help="Your steward user name")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept with the version)")]


@contextmanager
def _workflow() -> Iterator[tuple[PolicyWorkflow, Any]]:
    from hub.audit import AuditLog
    from hub.config import load_settings
    from hub.policy.engine import PolicyEngine

    store = open_store(load_settings())
    try:
        engine = PolicyEngine(store.engine)
        yield (
            PolicyWorkflow(store, engine, AuditLog(store.engine), known_fields=_schema_fields),
            store,
        )
    except WorkflowError as exc:
        fail(str(exc))
    finally:
        store.close()


def _schema_fields() -> dict[str, dict[str, tuple[str, str | None]]]:
    from hub.graphql_schema import build_schema
    from hub.policy.enforce import classification_table

    return classification_table(build_schema(max_depth=12, tracer_provider=None)._schema)


def _published_or_pending(v: Any, flow: PolicyWorkflow) -> str:
    if v.status == "published":
        return f"{v.name} v{v.version} published"
    why = "; ".join(flow.widening(v.name, v.version))
    return (
        f"{v.name} v{v.version} widens access ({why}): pending, another steward approves it "
        f"with `cityhub policy approve {v.name} {v.version}`"
    )


def _steward(store: Any, name: str) -> str:
    from hub.auth.accounts import AccountStore
    from hub.auth.scopes import STEWARD

    user = AccountStore(store.engine).user(name)
    if user is None or user.role != STEWARD or user.disabled:
        fail(f"{name!r} is not a steward (cityhub user create NAME --role steward)")
    return f"user:{name}"


@policy_app.command("list")
def policy_list(
    name: Annotated[str | None, typer.Argument(help="Only this policy")] = None,
) -> None:
    """Every version (or one policy's), oldest first."""

    with _workflow() as (flow, _):
        table = Table("name", "version", "status", "subject", "author", "created", "reason")
        for v in flow.versions(name):
            table.add_row(
                v.name,
                str(v.version),
                v.status,
                v.subject,
                v.author,
                v.created_at.strftime("%Y-%m-%d %H:%M"),
                v.reason,
            )
        out.print(table)


@policy_app.command("show")
def policy_show(
    name: str,
    version: Annotated[int | None, typer.Option(help="Default: the published one")] = None,
) -> None:
    """A version's TOML text."""
    with _workflow() as (flow, _):
        typer.echo(flow.get(name, version).source, nl=False)


@policy_app.command("load")
def policy_load(
    folder: Annotated[Path, typer.Option(help="Seed documents")] = SEED_DIR,
    steward: Annotated[
        str | None,
        typer.Option("--steward", help="Needed once the store has policies (then: pending)"),
    ] = None,
) -> None:
    """Load the seed documents (policies/*.toml) whose policies have no version yet: in
    force on an empty store; on one with policies, new ones await another steward."""

    with _workflow() as (flow, store):
        author = _steward(store, steward) if steward else "seed"
        loaded = flow.load_seeds(folder, author=author)
    names = ", ".join(f"{v.name}{'' if v.status == 'published' else ' (pending)'}" for v in loaded)
    out.print(f"loaded {len(loaded)} policies: {names or '-'}")


@policy_app.command("draft")
def policy_draft(file: Path, steward: Steward, reason: Reason) -> None:
    """Save a TOML document as a new draft version."""

    try:
        source = file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{file}: {exc.strerror}")
    with _workflow() as (flow, store):
        v = flow.draft(source, author=_steward(store, steward), reason=reason)
    out.print(f"{v.name} v{v.version} drafted")


@policy_app.command("validate")
def policy_validate(name: str, version: int) -> None:
    """What would stop a version's publication (exit 2 if anything)."""

    with _workflow() as (flow, _):
        problems = flow.validate(name, version)
    if problems:
        fail("; ".join(problems))
    out.print(f"{name} v{version} is valid")


@policy_app.command("dry-run")
def policy_dry_run(
    name: str,
    version: int,
    steward: Steward,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Per affected principal and type: access, fields and rows gained or lost."""

    with _workflow() as (flow, store):
        run = flow.dry_run(name, version, author=_steward(store, steward))
    if as_json:
        typer.echo(json.dumps(asdict(run), ensure_ascii=False, indent=2))
        return
    out.print(f"{name} v{version} governs {len(run.principals)} principals")
    table = Table("principal", "type", "access", "fields +", "fields -", "masked", "rows")
    for c in run.changes:
        table.add_row(
            c.principal,
            c.type,
            f"{c.access_before} → {c.access_after}",
            ", ".join(c.fields_gained),
            ", ".join(c.fields_lost),
            f"{','.join(c.masked_before)} → {','.join(c.masked_after)}",
            f"{c.rows_before} → {c.rows_after}",
        )
    out.print(table)


@policy_app.command("publish")
def policy_publish(name: str, version: int, steward: Steward, reason: Reason) -> None:
    """Put a version in force: running hubs take it within CITYHUB_POLICY_POLL_S seconds
    (at once when they share a Redis fan-out with this command). One that widens access
    becomes pending until another steward approves it."""

    with _workflow() as (flow, store):
        v = flow.publish(name, version, author=_steward(store, steward), reason=reason)
        said = _published_or_pending(v, flow)
    if v.status == "published":
        _notify_workers()
    out.print(said)


@policy_app.command("approve")
def policy_approve(
    name: str,
    version: int,
    steward: Steward,
    reason: Reason,
    password: Annotated[
        str,
        typer.Option(
            "--password",
            prompt="Your password",
            hide_input=True,
            help="The approving steward's password (asked when not given)",
        ),
    ],
) -> None:
    """Approve a pending version (one that widens access), which publishes it. Not the
    version's author: a second steward."""
    from hub.auth.accounts import AccountStore

    with _workflow() as (flow, store):
        approver = _steward(store, steward)
        if AccountStore(store.engine).authenticate_user(steward, password) is None:
            fail("wrong password: an approval is the named steward's own")
        v = flow.approve(name, version, approver=approver, reason=reason)
    _notify_workers()
    out.print(f"{v.name} v{v.version} approved by {approver} and published")


@policy_app.command("pending")
def policy_pending() -> None:
    """Versions awaiting a second steward's approval, and why they widen access."""

    with _workflow() as (flow, _):
        table = Table("name", "version", "author", "created", "reason", "widens")
        for v in flow.pending():
            table.add_row(
                v.name,
                str(v.version),
                v.author,
                v.created_at.strftime("%Y-%m-%d %H:%M"),
                v.reason,
                "; ".join(flow.widening(v.name, v.version)),
            )
        out.print(table)


@policy_app.command("rollback")
def policy_rollback(name: str, steward: Steward, reason: Reason) -> None:
    """Publish again the version in force before the current one."""

    with _workflow() as (flow, store):
        v = flow.rollback(name, author=_steward(store, steward), reason=reason)
        said = _published_or_pending(v, flow)
    if v.status == "published":
        _notify_workers()
    out.print(f"{said} ({v.reason})")


def _notify_workers() -> None:
    """Tell running hubs now, through the fan-out they share (Redis); with the in-process
    default there is nobody to tell and they notice by polling."""
    import asyncio

    from hub.config import load_settings
    from hub.fanout import open_broadcast
    from hub.policy.workflow import RELOAD_CHANNEL

    url = load_settings().fanout_url
    if not url or url.startswith("memory"):
        return

    async def send() -> None:
        broadcast = open_broadcast(url)
        try:
            await broadcast.publish(RELOAD_CHANNEL, "publish")
        finally:
            await broadcast.close()

    try:
        asyncio.run(send())
    except Exception as exc:  # published in the store all the same; workers will poll
        err.print(f"note: running hubs not notified ({exc}); they reload within seconds")


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
