"""cityhub: the city brain — a GraphQL data-sharing hub joining a city's departmental systems."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cityhub")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
