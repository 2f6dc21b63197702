"""The cityhub command line, run as a user runs it: a subprocess, exit codes, stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def cityhub(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_version_and_help() -> None:
    result = cityhub("--version")
    assert result.returncode == 0 and result.stdout.startswith("cityhub ")
    for args in ([], ["--help"], ["demo", "--help"], ["serve", "--help"], ["config", "--help"]):
        result = cityhub(*args)
        assert "Usage" in result.stdout, args


def test_config_show_masks_secrets_and_reads_env_and_toml(tmp_path: Path) -> None:
    toml = tmp_path / "hub.toml"
    toml.write_text('port = 9100\nlog_level = "debug"\n', encoding="utf-8")
    result = cityhub(
        "config",
        "show",
        "--json",
        env={
            "CITYHUB_CONFIG": str(toml),
            "CITYHUB_PORT": "9200",
            "CITYHUB_DATABASE_URL": "postgresql://hub:topsecret@db.internal/city",
            "CITYHUB_SECRET_KEY": "hush",
        },
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["port"] == 9200  # environment beats the file
    assert shown["log_level"] == "debug"  # the file beats the default
    assert shown["database_url"] == "postgresql://hub:***@db.internal/city"
    assert shown["secret_key"] == "********"
    assert "topsecret" not in result.stdout and "hush" not in result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CITYHUB_PORT": "eighty"}, "CITYHUB_PORT: Input should be a valid integer"),
        ({"CITYHUB_WORKERS": "0"}, "CITYHUB_WORKERS: Input should be greater than or equal to 1"),
        ({"CITYHUB_DATABASE_URL": "not a url"}, "CITYHUB_DATABASE_URL: "),
        ({"CITYHUB_TELEMETRY_EXPORTER": "zipkin"}, "CITYHUB_TELEMETRY_EXPORTER: "),
        ({"CITYHUB_CONFIG": "/nonexistent/hub.toml"}, "CITYHUB_CONFIG: no such file"),
    ],
)
def test_invalid_configuration_is_one_line_on_stderr(env: dict[str, str], expected: str) -> None:
    result = cityhub("config", "show", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"cityhub: error: {expected}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_unreachable_database_exits_with_one_line(tmp_path: Path) -> None:
    result = cityhub(
        "db",
        "upgrade",
        env={"CITYHUB_DATABASE_URL": "postgresql://hub:pw@127.0.0.1:1/city"},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        "cityhub: error: CITYHUB_DATABASE_URL: cannot connect to postgresql+psycopg://hub:***@127.0.0.1:1"
    )
    assert result.stderr.count("\n") == 1


def test_demo_load_fills_the_store(tmp_path: Path) -> None:
    env = {"CITYHUB_DATA_DIR": str(tmp_path / "var")}
    result = cityhub("demo", "load", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "GridCell" in result.stdout and "743" in result.stdout
    again = cityhub("demo", "load", env=env, cwd=tmp_path)  # idempotent
    assert again.returncode == 0, again.stderr
    from hub.store import RecordStore

    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'var' / 'cityhub.db'}")
    assert store.count("GridCell") == 743 and store.count("FinanceFirm") == 2701
    store.close()
