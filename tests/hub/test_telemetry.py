"""OpenTelemetry: a span for each HTTP request and for each resolver, with attributes."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from hub.app import create_app
from hub.config import load_settings
from hub.store import RecordStore
from tests.auth_helpers import authorize
from tests.hub.city import small_city


def test_spans_for_requests_and_resolvers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    store.upsert(small_city())
    exporter = InMemorySpanExporter()
    app = create_app(load_settings(data_dir=tmp_path), store=store, span_exporter=exporter)
    with TestClient(app) as client:
        authorize(client, app)
        response = client.post(
            "/graphql",
            json={"query": "query Cells { gridCells(first: 2) { edges { node { code } } } }"},
        )
        assert response.status_code == 200
        app.state.tracer_provider.force_flush()
    spans = exporter.get_finished_spans()
    by_name = {s.name: s for s in spans}

    http = [s for s in spans if s.kind.name == "SERVER" and s.name.startswith("POST /graphql")]
    assert http, [s.name for s in spans]
    server = http[0]
    attrs = dict(server.attributes or {})
    assert attrs.get("http.method", attrs.get("http.request.method")) == "POST"
    assert attrs.get("http.status_code", attrs.get("http.response.status_code")) == 200

    operation = by_name["GraphQL Query: Cells"]
    assert operation.attributes["component"] == "graphql"
    resolver = by_name["GraphQL Resolving: gridCells"]
    assert resolver.attributes["graphql.parentType"] == "Query"
    assert resolver.attributes["graphql.path"] == "gridCells"
    assert resolver.attributes["graphql.param.first"] == 2
    # the resolver span sits inside the operation, which sits inside the HTTP request
    assert resolver.parent is not None and resolver.context.trace_id == server.context.trace_id


def test_no_exporter_means_no_tracing_overhead(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(load_settings(data_dir=tmp_path))
    assert not app.user_middleware
