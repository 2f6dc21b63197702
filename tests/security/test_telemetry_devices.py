"""Issue 13 item 10: a ``telemetry:write`` client writes only for its own devices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from hub.auth.accounts import AccountError
from hub.auth.tables import ClientRow
from hub.cli import app as cli
from tests.auth.conftest import Hub
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.security.small_hub import small_hub

T0 = 1_790_000_000.0
ALARMS = "{ alarms(last: 200) { totalCount edges { node { kind subjectKey } } } }"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder: Path = tmp_path_factory.mktemp("devices")
    with small_hub(folder) as h:
        yield h


def _gateway(hub: Hub, name: str, devices: list[str]) -> dict[str, str]:
    client_id, secret = register_client(hub.app, name, scopes=["telemetry:write"], devices=devices)
    return bearer(fetch_token(hub.http, client_id, secret))


def _level(tank: str, at: float, value: float) -> dict[str, Any]:
    return {"kind": "tank.level", "id": tank, "at": at, "value": value}


def _alarms_for(hub: Hub, tank: str) -> list[str]:
    client_id, secret = register_client(hub.app, f"ops-{tank}", role="department")
    answer = hub.http.post(
        "/graphql", json={"query": ALARMS}, headers=bearer(fetch_token(hub.http, client_id, secret))
    )
    edges = answer.json()["data"]["alarms"]["edges"]
    return [e["node"]["kind"] for e in edges if e["node"]["subjectKey"] == tank]


def test_a_gateway_writing_another_firms_tank_is_refused_and_raises_no_alarm(hub: Hub) -> None:
    """Attack: firm A's tank gateway posts high-high levels for firm B's tank (one such client
    raised 5,000 critical tank alarms). Readings for devices outside the client's list are
    refused by index, raise no alarm and are not kept; a batch wholly of others' devices
    gets 403; its own tank in the same batch still counts."""
    gateway_a = _gateway(hub, "firm-a-gw", ["tank.level:TNK-A-*"])
    forged = [_level("TNK-B-01", T0 + i, 9.5) for i in range(50)]
    refused = hub.http.post("/telemetry", json={"readings": forged}, headers=gateway_a)
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["accepted"] == 0 and body["alarmCount"] == 0 and body["rejectedCount"] == 50
    assert {r["error"] for r in body["rejected"]} == {"not a device of this client"}
    mixed = [_level("TNK-A-01", T0, 5.0), _level("TNK-B-01", T0 + 60, 9.5)]
    mixed += [_level("TNK-A-01", T0 + 60, 9.5)]
    answer = hub.http.post("/telemetry", json=mixed, headers=gateway_a)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["accepted"] == 2
    assert got["rejected"] == [{"index": 1, "error": "not a device of this client"}]
    assert {a["subject_key"] for a in got["alarms"]} == {"TNK-A-01"}
    assert "tank.high_high" in _alarms_for(hub, "TNK-A-01")
    assert _alarms_for(hub, "TNK-B-01") == []
    # the same reading kind of firm B's own gateway is served
    gateway_b = _gateway(hub, "firm-b-gw", ["TNK-B-*"])
    own = hub.http.post("/telemetry", json=[_level("TNK-B-01", T0 + 120, 9.5)], headers=gateway_b)
    assert own.status_code == 200 and own.json()["alarmCount"] >= 1
    assert "tank.high_high" in _alarms_for(hub, "TNK-B-01")


def test_a_binding_to_one_kind_does_not_reach_another(hub: Hub) -> None:
    """Attack: a gateway bound to water levels sends tank levels under an id it matches."""
    water = _gateway(hub, "water-gw", ["water.level:*"])
    answer = hub.http.post("/telemetry", json=[_level("TNK-A-01", T0 + 300, 9.9)], headers=water)
    assert answer.status_code == 403 and answer.json()["alarmCount"] == 0


def test_telemetry_clients_must_name_their_devices(hub: Hub) -> None:
    """Attack: a telemetry client registered (or left from before step 9) with no devices
    writes for all of them. Registering one without devices is refused; a client row with
    none is answered 403 before its body is read."""
    with pytest.raises(AccountError, match="needs its devices"):
        register_client(hub.app, "unbound-gw", scopes=["telemetry:write"])
    with pytest.raises(AccountError, match="device"):
        register_client(hub.app, "bad-gw", scopes=["telemetry:write"], devices=["tank level"])
    with pytest.raises(AccountError, match="devices are for"):
        register_client(hub.app, "reader", scopes=["graph:read"], devices=["*"])
    legacy_id, secret = register_client(
        hub.app, "legacy-gw", scopes=["telemetry:write"], devices=["*"]
    )
    with hub.app.state.store.engine.begin() as conn:
        conn.execute(update(ClientRow).where(ClientRow.client_id == legacy_id).values(devices=None))
    legacy = bearer(fetch_token(hub.http, legacy_id, secret))
    answer = hub.http.post("/telemetry", json=[_level("TNK-A-01", T0 + 400, 9.9)], headers=legacy)
    assert answer.status_code == 403 and "no devices" in answer.json()["error"]


def test_the_cli_binds_a_gateway_to_its_devices(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's way in: ``cityhub client create --scope telemetry:write`` refuses to
    make an unbound gateway; ``--device`` binds it, ``cityhub client devices`` rebinds it."""
    folder = Path(str(hub.app.state.settings.data_dir))
    monkeypatch.setenv("CITYHUB_DATA_DIR", str(folder))
    monkeypatch.setenv("CITYHUB_DATABASE_URL", str(hub.app.state.store.engine.url))
    run = CliRunner().invoke
    create = ["client", "create", "cli-gw", "--scope", "telemetry:write", "--json"]
    unbound = run(cli, create)
    assert unbound.exit_code != 0
    made = run(cli, [*create, "--device", "tank.level:TNK-A-*"])
    assert made.exit_code == 0, made.output
    client_id = made.stdout.split('"client_id": "')[1].split('"')[0]
    assert hub.accounts.client(client_id).devices == ("tank.level:TNK-A-*",)  # type: ignore[union-attr]
    rebound = run(cli, ["client", "devices", client_id, "--device", "TNK-B-*"])
    assert rebound.exit_code == 0, rebound.output
    assert hub.accounts.client(client_id).devices == ("TNK-B-*",)  # type: ignore[union-attr]
