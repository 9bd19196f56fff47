"""The kinds one run knows: the built-in map plus third-party kinds.

Third-party kinds are found through the ``intent_engine.kinds`` entry-point group; the registry
lives on an instance (``Registry``), never on a class.
"""

from __future__ import annotations

from engine.entrypoints import EntryPoint, entry_points, source
from engine.errors import IntentError
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
    """The kinds one run knows: the built-in map plus any installed plugins. Two kinds with one name
    (a plugin that claims ``vlan``, two plugins of one name) are refused, never shadowed."""

    def __init__(self, kinds: dict[str, Kind] | None = None, plugins: bool = True) -> None:
        self.kinds: dict[str, Kind] = dict(BUILTIN if kinds is None else kinds)
        if not plugins:
            return
        found: dict[str, EntryPoint] = {}
        for entry in entry_points(group=ENTRY_POINT_GROUP):  # every name claimed before any plugin is imported
            if entry.name in self.kinds or entry.name in found:
                first = (f"{type(self.kinds[entry.name]).__module__} (built in)" if entry.name in self.kinds
                         else source(found[entry.name]))
                raise IntentError(f"two intent kinds are named {entry.name!r}: {first} and "
                                  f"{source(entry)}; uninstall one of the distributions that provide them")
            found[entry.name] = entry
        for entry in found.values():
            try:
                kind: Kind = entry.load()
            except Exception as exc:  # noqa: BLE001 - a broken plugin is the user's to fix, named, not a crash
                raise IntentError(f"the intent kind {entry.name!r} ({source(entry)}) cannot be loaded: "
                                  f"{type(exc).__name__}: {exc}") from exc
            if getattr(kind, "key", None) != entry.name:
                raise IntentError(f"the entry point {entry.name!r} of {ENTRY_POINT_GROUP} ({source(entry)}) gives "
                                  f"a kind whose key is {getattr(kind, 'key', None)!r}")
            self.kinds[entry.name] = kind

    def ordered(self) -> list[Kind]:
        return sorted(self.kinds.values(), key=lambda kind: (kind.order, kind.key))
