"""compile(site) -> per-device configuration. Pure: no I/O, no printing, no vendor libraries."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine import gcpause
from engine.build import Build, Reservation
from engine.device import DeviceModel
from engine.model import Site
from engine.network import Network
from engine.render import DeviceConfig, render
from intents import Registry


@dataclass(frozen=True)
class Compilation:
    models: dict[str, DeviceModel]
    configs: dict[str, DeviceConfig]
    reservations: tuple[Reservation, ...]
    vlans_per_link: dict[int, set[int]] = field(default_factory=dict)  # link index -> VLANs it carries at L2
    notes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # device -> notes for its plan
    path_computations: int = 0  # shortest-path trees computed (one per destination class)


@gcpause.paused
def compile_site(site: Site, registry: Registry | None = None) -> Compilation:
    """Compile every intent of ``site``; raises TopologyError, AdmissionError or RenderError."""
    build = build_site(site, registry)
    models = build.finish()
    configs = {name: render(model) for name, model in models.items()}
    return Compilation(models, configs, tuple(build.reservations()), {k: set(v) for k, v in build.l2_links.items()},
                       {device: tuple(sorted(notes)) for device, notes in sorted(build.notes.items())},
                       build.network.dijkstra_runs)


def build_site(site: Site, registry: Registry | None = None) -> Build:
    """Every kind's contribution, before the checks of ``finish()``: what ``intent graph`` draws even
    when admission control refuses the site (the over-reserved links are what it must show)."""
    registry = registry or Registry()
    build = Build(site, Network(site))
    for kind in registry.ordered():
        intents = site.intents_of(kind.key)
        if intents:
            kind.compile(intents, build)
    return build


def compile(site: Site) -> dict[str, DeviceConfig]:  # noqa: A001 - the name the design card gives it
    """The desired configuration of every device in the site."""
    return compile_site(site).configs
