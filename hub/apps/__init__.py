"""The city's smart applications ("N" of "1+4+N"), each a thin module of resolvers.

An app is a package ``hub/apps/<name>/`` whose ``__init__`` exposes ``APP``, an :class:`App`:
the strawberry types whose fields join the shared Query / Mutation / Subscription, any extra
HTTP routes (e.g. Open311), a factory for the app's services (business rules, built once per
hub process) and background tasks. Apps never import one another; what they share lives in
``schema/``, ``hub/`` services and ``core_ext``.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from hub.services import HubServices

# In the order their fields appear in the schema.
APP_MODULES: tuple[str, ...] = (
    "live",
    "citizen_service",
    "hazchem",
    "finance",
    "muck_trucks",
    "sharp_eyes",
    "water",
    "gov_services",
    "citizen_app",
    "law_enforcement",
    "enterprise_services",
    "economy",
)


@dataclass(frozen=True)
class App:
    name: str
    query: type | None = None  # a @strawberry.type whose fields join Query
    mutation: type | None = None
    subscription: type | None = None
    types: Sequence[type] = ()  # types reachable only through interfaces / unions
    # Built once per hub process; resolvers reach it typed: ``kit.service(info, TheService)``.
    services: Callable[[HubServices], Any] | None = None
    routes: Callable[[HubServices], list[BaseRoute]] | None = None
    # Long-running coroutines started with the hub (consumers, schedulers), cancelled at exit.
    tasks: Callable[[HubServices], list[Callable[[], Awaitable[None]]]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_apps(names: Sequence[str] = APP_MODULES) -> list[App]:
    """The apps, imported by name (a missing module is an error, not a silent skip)."""
    apps: list[App] = []
    for name in names:
        module = importlib.import_module(f"hub.apps.{name}")
        app = module.APP
        if not isinstance(app, App):
            raise TypeError(f"hub.apps.{name}.APP is not an App")
        apps.append(app)
    return apps
