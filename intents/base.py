"""What an intent kind is: a JSON Schema, a parser into a frozen dataclass, semantic checks, its
build step (``compile``), a line for the plan (``describe``) and its verify step (``verify``).

Adding a kind means adding one module that defines a ``Kind`` and registering it; no other kind
and nothing in the engine changes. Third-party kinds register through the ``intent_engine.kinds``
entry-point group and get exactly the same interface: the engine names no kind.
"""

from __future__ import annotations

import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from engine.errors import Location
from engine.model import Device, Intent, Link

if TYPE_CHECKING:
    from engine.build import Build
    from engine.checks import Host, LabView, Step
    from engine.compilation import Compilation
    from engine.model import Site

JsonPath = tuple[str | int, ...]
Problem = tuple[Location, str]


@dataclass
class ParseContext:
    """What a kind's parser may consult: the inventory, the topology, and where things were written."""

    devices: dict[str, Device]
    links: tuple[Link, ...]
    where: Callable[[JsonPath], Location]
    problems: list[Problem] = field(default_factory=list)
    intent_paths: dict[str, JsonPath] = field(default_factory=dict)  # intent name -> ("intents", i, kind)
    # Names other intents may refer to, declared even when the declaring intent has errors of its
    # own (so one mistake does not cascade into "VLAN 10 is not defined" elsewhere): {"vlan": {10}}
    declared: dict[str, set[object]] = field(default_factory=dict)
    known_hosts: set[str] = field(default_factory=set)  # every inventory host, even ones with errors
    _link_endpoints: set[object] | None = field(default=None, repr=False)

    def is_link_endpoint(self, endpoint: object) -> bool:
        """True when ``endpoint`` (an Endpoint) is one end of a topology link."""
        if self._link_endpoints is None:
            self._link_endpoints = {end for link in self.links for end in (link.a, link.b)}
        return endpoint in self._link_endpoints

    def unknown_device(self, name: str) -> bool:
        """True when ``name`` is not in the inventory at all (not merely a host with its own errors)."""
        return name not in self.devices and name not in self.known_hosts

    def error(self, json_path: JsonPath, message: str) -> None:
        self.problems.append((self.where(json_path), message))

    def intent_path(self, name: str) -> JsonPath:
        """Where intent ``name``'s kind body is in the site file (for semantic checks)."""
        return self.intent_paths[name]


class Kind(Protocol):
    """One intent kind. ``key`` is the word users write in the site file (``qos_guarantee``)."""

    key: str
    order: int  # compile order: kinds others depend on (vlan) compile first
    schema: dict[str, Any]

    def parse(self, name: str, body: dict[str, Any], path: JsonPath, ctx: ParseContext) -> Intent | None:
        """Turn a schema-valid body into the kind's dataclass; report problems to ``ctx``."""
        ...

    def check(self, intents: list[Intent], site: Site, ctx: ParseContext) -> None:
        """Semantic checks that need the whole site (references to other intents, conflicts)."""
        ...

    def compile(self, intents: list[Intent], build: Build) -> None:
        """The build step: contribute this kind's configuration to the per-device builders
        (``build.add_vlan``, ``add_class``, ``add_limit``, ``build.devices[name]``). Pure: no I/O."""
        ...

    def describe(self, intent: Intent, compilation: Compilation) -> str:
        """One line for the plan's intent table: "VLAN 10 10.10.0.0/24, gateway core1 (10.10.0.1), 2 access ports"."""
        ...

    def verify(self, intents: list[Intent], lab: LabView) -> list[Step]:
        """The verify step: what to measure in the lab to prove these intents hold, e.g.
        [Check("video-10-20", "qos_guarantee", "VLAN 10 -> VLAN 20", 30_000_000, False, Flow(...))] or
        [Reach("users", "vlan", (host,), "10.10.0.1", "the gateway 10.10.0.1")]; [] when there is nothing to
        measure. Pure: ``engine.verify`` runs the traffic and judges it."""
        ...


@runtime_checkable
class LabHosts(Protocol):
    """A kind whose intents need hosts in the lab (``intent lab up``): a VLAN puts one behind each of
    its access ports. The lab asks every kind that has this ability; the engine names none."""

    def lab_hosts(self, intents: list[Intent], lab: dict[str, str]) -> list[Host]:
        """The hosts these intents need, given the lab's devices (``{"acc1": "lab-acc1"}``: device ->
        its netns), e.g. [Host("h-acc1-eth3", "lab-acc1", "eth3", "10.10.0.2/24", "10.10.0.1", 10)];
        ports on devices outside the lab get none. Raises TopologyError when one cannot be addressed."""
        ...


def load_schema(module: str, filename: str) -> dict[str, Any]:
    """The JSON Schema ``filename`` shipped in package ``module``. Read with pkgutil, which asks the package's
    loader as importlib.resources does, without importing importlib.resources (1.5 ms of every start-up)."""
    data = pkgutil.get_data(module, filename)
    if data is None:
        raise FileNotFoundError(f"{module}: no loader to read {filename} with")
    schema: dict[str, Any] = json.loads(data.decode("utf-8"))
    return schema
