"""How a Binhai connector is declared: the system, its transport's options and its mappings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.descriptor import Mode
from connectors.mapping import KindMapping


def fields(spec: str) -> dict[str, str]:
    """``"qymc=name zczb=registered_capital_10k_cny:float uscc"`` → the mapping's fields.

    Each item is ``native=attribute[:type]``, or ``attribute[:type]`` when the source uses the
    hub's own name.
    """
    out: dict[str, str] = {}
    for item in spec.split():
        native, sep, target = item.partition("=")
        if not sep:
            target = native
            native = native.split(":", 1)[0]
        out[native] = target
    return out


@dataclass(frozen=True)
class ConnectorSpec:
    system: str
    protocol: str  # sql / rest / filedrop / mqtt / webhook / graphql
    mappings: tuple[KindMapping, ...]
    mode: Mode = "pull"
    options: dict[str, Any] = field(default_factory=dict)  # transport keyword arguments
    live_path: str | None = None  # REST path of one item's live state, with {id}
    # REST path (with the item's source id as {id}) where the system takes the hub's status
    # changes of its items back: a signed POST of {status, at, note} (Transport.write_back)
    write_back: str | None = None
