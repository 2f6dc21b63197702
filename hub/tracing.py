"""OpenTelemetry tracing, configured by settings: no exporter, the console, or OTLP/HTTP."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)

from hub import __version__
from hub.config import Settings


def tracer_provider(settings: Settings, exporter: SpanExporter | None = None) -> TracerProvider:
    """A provider for this app; ``exporter`` (tests) overrides the configured one."""
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.service_name, "service.version": __version__}
        )
    )
    if exporter is None:
        exporter = _configured_exporter(settings)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _configured_exporter(settings: Settings) -> SpanExporter | None:
    if settings.telemetry_exporter == "console":
        return ConsoleSpanExporter()
    if settings.telemetry_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.otlp_endpoint or None)
    return None
