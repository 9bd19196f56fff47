"""The kinds one run knows: the built-in map plus third-party kinds.

Third-party kinds are found through the ``intent_engine.kinds`` entry-point group; the registry
lives on an instance (``Registry``), never on a class.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from intents import isolate, qos_guarantee, qos_limit, qos_share, vlan
from intents.base import Kind

BUILTIN: dict[str, Kind] = {
    vlan.KIND.key: vlan.KIND,
    qos_guarantee.KIND.key: qos_guarantee.KIND,
    qos_limit.KIND.key: qos_limit.KIND,
    isolate.KIND.key: isolate.KIND,
    qos_share.KIND.key: qos_share.KIND,
}

ENTRY_POINT_GROUP = "intent_engine.kinds"


class Registry:
    """The kinds one run knows: the built-in map plus any installed plugins."""

    def __init__(self, kinds: dict[str, Kind] | None = None, plugins: bool = True) -> None:
        self.kinds: dict[str, Kind] = dict(BUILTIN if kinds is None else kinds)
        if plugins:
            for entry in entry_points(group=ENTRY_POINT_GROUP):
                if entry.name not in self.kinds:
                    self.kinds[entry.name] = entry.load()

    def ordered(self) -> list[Kind]:
        return sorted(self.kinds.values(), key=lambda kind: (kind.order, kind.key))
