"""``cityhub client|user|auth|audit`` and ``cityhub demo accounts``: accounts of the
authorization server, its signing keys, and the audit log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.table import Table

from hub.auth.accounts import AccountError, AccountStore
from hub.auth.config import load_auth_settings
from hub.auth.scopes import (
    ALL_SCOPES,
    GRAPH_INTROSPECT,
    GRAPH_READ,
    OPERATOR,
    PARTNER,
    PARTNER_VIEWER,
    STEWARD,
    USER_ROLES,
)
from hub.auth.service import issuer_of
from hub.cli.common import fail, open_store, out
from hub.config import Settings, load_settings
from hub.store import RecordStore

client_app = typer.Typer(
    help="OAuth clients: partners' and departments' apps.", no_args_is_help=True
)
user_app = typer.Typer(help="People with local accounts (argon2-hashed).", no_args_is_help=True)
auth_app = typer.Typer(
    help="The authorization server's signing keys; Open311 API keys.", no_args_is_help=True
)
audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)

DEMO_PASSWORDS = {
    "demo-operator": "operator-demo-pw",
    "demo-steward": "steward-demo-pw",
    # a second steward: a change that widens access needs another steward's approval
    "demo-steward2": "steward2-demo-pw",
    # a partner agency's person: the ops centre shows what partners see (personal data masked)
    "demo-viewer": "viewer-demo-pw",
}
DEMO_PARTNER = ("demo-partner", "demo-partner-secret-not-for-production")


def _store() -> tuple[Settings, RecordStore]:
    settings = load_settings()
    return settings, open_store(settings)


def _audit(store: RecordStore, action: str, detail: dict[str, object]) -> None:
    from hub.audit import AuditLog

    AuditLog(store.engine).append(action, principal="cli", detail=detail)


def _fail(message: str) -> NoReturn:

    fail(message)


@client_app.command("create")
def client_create(
    name: Annotated[str, typer.Argument(help="Short name, e.g. water-bureau-app")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help=f"Repeat or space-separate: {', '.join(ALL_SCOPES)}"),
    ] = None,
    role: Annotated[str, typer.Option(help="partner or department")] = PARTNER,
    public: Annotated[
        bool, typer.Option("--public", help="A browser/native app without a secret (PKCE)")
    ] = False,
    redirect_uri: Annotated[
        list[str] | None, typer.Option("--redirect-uri", help="For the authorization code flow")
    ] = None,
    cost_budget: Annotated[int | None, typer.Option(min=1, help="Query cost budget")] = None,
    rate: Annotated[int | None, typer.Option(min=1, help="Requests per minute")] = None,
    device: Annotated[
        list[str] | None,
        typer.Option(
            "--device",
            help="A telemetry:write client's devices (repeat): KIND:ID-GLOB "
            "(tank.level:TNK-0007-*), ID-GLOB, or '*' for every device",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Register a client; its secret is printed once and never stored in clear."""

    scopes = [s for value in (scope or [GRAPH_READ]) for s in value.split()]
    _, store = _store()
    try:
        client, secret = AccountStore(store.engine).create_client(
            name,
            scopes=scopes,
            role=role,
            public=public,
            redirect_uris=redirect_uri,
            cost_budget=cost_budget,
            rate_per_minute=rate,
            devices=device,
        )
        _audit(
            store,
            "client.create",
            {"client_id": client.client_id, "scopes": scopes, "devices": client.devices},
        )
    except AccountError as exc:
        _fail(str(exc))
    finally:
        store.close()
    if as_json:
        sys.stdout.write(
            json.dumps({"client_id": client.client_id, "client_secret": secret}) + "\n"
        )
        return
    out.print(f"client_id:     {client.client_id}")
    if secret:
        out.print(f"client_secret: {secret}")
        out.print("(the secret is shown this once; the hub keeps only its hash)")
    out.print(f"scopes:        {' '.join(client.scopes)}")
    if client.devices:
        out.print(f"devices:       {' '.join(client.devices)}")


@client_app.command("list")
def client_list() -> None:
    """The registered clients (no secrets)."""

    _, store = _store()
    try:
        clients = AccountStore(store.engine).clients()
    finally:
        store.close()
    table = Table("client_id", "name", "role", "type", "scopes", "created", "revoked")
    for c in clients:
        table.add_row(
            c.client_id,
            c.name,
            c.role,
            "public" if c.public else "confidential",
            " ".join(c.scopes),
            c.created_at.strftime("%Y-%m-%d %H:%M"),
            c.revoked_at.strftime("%Y-%m-%d %H:%M") if c.revoked_at else "",
        )
    out.print(table)


@client_app.command("revoke")
def client_revoke(client_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke a client: no new tokens, and its existing tokens are refused at once."""

    _, store = _store()
    try:
        AccountStore(store.engine).revoke_client(client_id)
        _audit(store, "client.revoke", {"client_id": client_id})
    except AccountError as exc:
        _fail(str(exc))
    finally:
        store.close()
    out.print(f"client {client_id} revoked")


@client_app.command("devices")
def client_devices(
    client_id: Annotated[str, typer.Argument()],
    device: Annotated[
        list[str],
        typer.Option("--device", help="KIND:ID-GLOB, ID-GLOB or '*' (repeat); replaces the list"),
    ],
) -> None:
    """Bind a telemetry:write client to the devices it may write readings for."""

    _, store = _store()
    try:
        client = AccountStore(store.engine).set_devices(client_id, device)
        _audit(store, "client.devices", {"client_id": client_id, "devices": client.devices})
    except AccountError as exc:
        _fail(str(exc))
    finally:
        store.close()
    out.print(f"client {client_id} writes for: {' '.join(client.devices or ())}")


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="User name")],
    role: Annotated[str, typer.Option(help=" | ".join(USER_ROLES))],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
) -> None:
    """Create a local account; the password is asked for (or read from stdin)."""

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    _, store = _store()
    try:
        AccountStore(store.engine).create_user(name, password, role)
        _audit(store, "user.create", {"username": name, "role": role})
    except AccountError as exc:
        _fail(str(exc))
    finally:
        store.close()
    out.print(f"user {name} ({role}) created")


@auth_app.command("rotate-keys")
def rotate_keys() -> None:
    """A new signing key signs from now on; old keys stay in the JWKS until their tokens
    expire, so running hubs keep accepting every token they issued."""
    from hub.auth.keys import KeyRing

    auth = load_auth_settings()
    settings, store = _store()
    try:
        ring = KeyRing(
            store.engine, alg=auth.key_alg, token_ttl=auth.access_token_ttl, kek=settings.kek()
        )
        kid, pruned = ring.rotate()
        _audit(store, "keys.rotate", {"kid": kid, "pruned": pruned})
    finally:
        store.close()
    out.print(f"new signing key {kid}" + (f"; removed {', '.join(pruned)}" if pruned else ""))


@auth_app.command("open311-key")
def open311_key(client_id: Annotated[str, typer.Argument(help="A confidential client")]) -> None:
    """Issue the client's Open311 API key (the GeoReport v2 api_key), replacing any earlier
    one. Printed once on stdout; the hub keeps only its SHA-256."""
    from hub.auth.open311_keys import new_open311_key

    key = new_open311_key()
    _, store = _store()
    try:
        AccountStore(store.engine).set_open311_key(client_id, key)
        _audit(store, "client.open311_key", {"client_id": client_id})
    except AccountError as exc:
        _fail(str(exc))
    finally:
        store.close()
    sys.stdout.write(key + "\n")
    sys.stderr.write("(the key is shown this once; the hub keeps only its hash)\n")


@audit_app.command("verify")
def audit_verify(
    public_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--public-key",
            help="The audit public key (PEM, from `cityhub audit public-key`) kept apart from "
            "the hub; repeat for rotated keys. Default: the key in the data folder",
        ),
    ] = None,
    witness: Annotated[
        list[Path] | None,
        typer.Option(
            "--witness",
            help="A copy of the checkpoints kept outside the hub (CITYHUB_AUDIT_EXPORT); "
            "every checkpoint in it must still match the chain",
        ),
    ] = None,
) -> None:
    """Recompute the hash chain and check it against the signed checkpoints: each must match
    the chain, and every checkpoint the chain records must be in the checkpoint file. Exit 2
    naming the first edited, inserted or deleted entry or checkpoint."""
    from hub.audit import AuditLog, ChainBroken
    from hub.audit.checkpoint import (
        CheckpointError,
        Checkpoints,
        read_checkpoints,
        recorded_checkpoints,
        verify_checkpoints,
        verify_complete,
    )
    from hub.audit.signer import AuditKeyError, AuditSigner, AuditVerifier

    settings, store = _store()
    path = settings.audit_checkpoint_path
    try:
        log = AuditLog(store.engine)
        count = log.verify()
        if public_key:
            verifier = AuditVerifier.from_pem_files(public_key)
        elif settings.audit_key_path.exists():
            verifier = AuditSigner.read_public(settings.audit_key_path)
        elif recorded_checkpoints(log):
            _fail(f"no audit key at {settings.audit_key_path}: pass --public-key")
        else:
            verifier = AuditVerifier({})
        found = read_checkpoints(path, verifier) if path.exists() else Checkpoints()
        checked = verify_checkpoints(log, found.points)
        recorded = verify_complete(log, found.points, path)
        witnessed = 0
        for copy in witness or []:
            if not copy.exists():
                _fail(f"audit checkpoints: no witness copy at {copy}")
            witnessed += verify_checkpoints(log, read_checkpoints(copy, verifier).points)
    except ChainBroken as exc:
        _fail(f"audit log broken: {exc}")
    except (CheckpointError, AuditKeyError) as exc:
        _fail(f"audit checkpoints: {exc}")
    finally:
        store.close()
    notes = []
    if not checked:
        notes.append(f"no checkpoints at {path}")
    if found.legacy:
        notes.append(f"{found.legacy} old HMAC lines not trusted")
    if witness:
        notes.append(f"{witnessed:,} witnessed outside match")
    if not public_key:
        notes.append("checked with the data folder's own audit key: pin it with --public-key")
    out.print(
        f"audit log intact: {count:,} entries; {checked:,} checkpoints match "
        f"({recorded:,} recorded in the chain, all present)" + "".join(f"; {n}" for n in notes),
        soft_wrap=True,
    )


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head with the audit key, append it to the checkpoint file
    (CITYHUB_AUDIT_CHECKPOINTS), record it in the chain, and export what is not exported yet
    (CITYHUB_AUDIT_EXPORT)."""
    from hub.audit import AuditLog
    from hub.audit.anchor import AuditAnchor

    settings, store = _store()
    path = settings.audit_checkpoint_path
    try:
        point = AuditAnchor.from_settings(settings, AuditLog(store.engine)).checkpoint()
    finally:
        store.close()
    if point is None:
        out.print("the audit log is empty: nothing to checkpoint")
    else:
        out.print(f"checkpoint: entry {point.seq:,} {point.hash[:16]}... -> {path}")


@audit_app.command("public-key")
def audit_public_key(
    path: Annotated[
        Path | None, typer.Argument(help="Write the PEM here instead of stdout")
    ] = None,
) -> None:
    """The audit key's public half (PEM; made on first use): keep it apart from the hub and
    verify with `cityhub audit verify --public-key FILE`."""
    from hub.audit.signer import AuditKeyError, AuditSigner

    settings = load_settings()
    settings.secure_data_dir()
    try:
        signer = AuditSigner.load_or_create(settings.audit_key_path, settings.kek())
    except AuditKeyError as exc:
        _fail(str(exc))
    if path is None:
        sys.stdout.write(signer.public_pem())
    else:
        path.write_text(signer.public_pem(), encoding="utf-8")
    print(f"audit key {signer.kid}", file=sys.stderr)


def demo_accounts() -> None:
    """Create the demo city's operator, steward and partner client (idempotent; DEMO ONLY:
    the credentials are public) and print how to get a token with each."""

    settings, store = _store()
    accounts = AccountStore(store.engine)
    try:
        for username, role in (
            ("demo-operator", OPERATOR),
            ("demo-steward", STEWARD),
            ("demo-steward2", STEWARD),
            ("demo-viewer", PARTNER_VIEWER),
        ):
            if accounts.user(username) is None:
                accounts.create_user(username, DEMO_PASSWORDS[username], role)
                _audit(store, "user.create", {"username": username, "role": role, "demo": True})
        client_id, secret = DEMO_PARTNER
        if accounts.client(client_id) is None:
            accounts.create_client(
                "demo-partner",
                client_id=client_id,
                secret=secret,
                scopes=[GRAPH_READ],
                role=PARTNER,
            )
            _audit(store, "client.create", {"client_id": client_id, "demo": True})
        base = issuer_of(settings, load_auth_settings())
        redirect = f"{base}/oauth/demo-callback"
        if accounts.client("demo-ops-center") is None:
            accounts.create_client(
                "demo-ops-center",
                client_id="demo-ops-center",
                public=True,
                redirect_uris=[redirect],
                scopes=[GRAPH_READ, GRAPH_INTROSPECT, "audit:read", "policy:write"],
                role="department",
            )
            _audit(store, "client.create", {"client_id": "demo-ops-center", "demo": True})
        # the operations centre's own public client (the hub also makes it at start-up)
        from hub.web.routes import ensure_ops_client

        ensure_ops_client(accounts, base)
    except AccountError as exc:
        _fail(str(exc))
    finally:
        store.close()
    gql = (
        f'curl -s {base}/graphql -H "Authorization: Bearer $TOKEN" '
        "-H 'Content-Type: application/json' "
        '-d \'{"query":"{ gridCells(first: 3) { totalCount edges { node { code name } } } }"}\''
    )
    out.print("[bold red]DEMO ONLY — these credentials are public; never use them in production.")
    out.print(
        f"partner client (client credentials): {client_id} / {secret}\n"
        f"  TOKEN=$(curl -s -u {client_id}:{secret} -d grant_type=client_credentials "
        f"{base}/oauth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)"
        '["access_token"])\')\n'
        f"  {gql}",
        soft_wrap=True,
    )
    out.print(
        'PKCE pair (verifier, S256 challenge): python3 -c "import secrets,hashlib,base64; '
        "v=secrets.token_urlsafe(48); print(v, base64.urlsafe_b64encode(hashlib.sha256("
        "v.encode()).digest()).rstrip(b'=').decode())\"",
        soft_wrap=True,
    )
    for username in DEMO_PASSWORDS:
        out.print(
            f"{username} / {DEMO_PASSWORDS[username]} (authorization code + PKCE, "
            f"public client demo-ops-center): open in a browser\n"
            f"  {base}/oauth/authorize?response_type=code&client_id=demo-ops-center"
            f"&redirect_uri={redirect}&code_challenge=<S256(verifier)>"
            "&code_challenge_method=S256\n"
            f"  then: curl -s -d grant_type=authorization_code -d client_id=demo-ops-center "
            f"-d code=<code> -d redirect_uri={redirect} -d code_verifier=<verifier> "
            f"{base}/oauth/token",
            soft_wrap=True,
        )
    out.print(
        f"operations centre: open {base}/ in a browser and sign in as demo-operator, "
        "demo-steward (policies, audit log; demo-steward2 approves what demo-steward widens) or "
        "demo-viewer (a partner's view)",
        soft_wrap=True,
    )
    out.print(
        "GraphiQL: open /graphql in a browser and put "
        '{"Authorization": "Bearer <token>"} in its Headers pane.',
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(client_app, name="client")
    app.add_typer(user_app, name="user")
    app.add_typer(auth_app, name="auth")
    app.add_typer(audit_app, name="audit")
    for group in app.registered_groups:
        if group.name == "demo" and group.typer_instance is not None:
            group.typer_instance.command("accounts")(demo_accounts)
