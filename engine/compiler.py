"""compile(site) -> per-device configuration. Pure: no I/O, no printing, no vendor libraries."""

from __future__ import annotations

from collections.abc import Callable

from engine import gcpause, parallel
from engine.build import Build
from engine.compilation import Compilation
from engine.device import DeviceModel
from engine.model import Site
from engine.network import Network
from engine.render import DeviceConfig, renderer
from intents.registry import Registry

__all__ = ["Compilation", "build_site", "compilation_of", "compile", "compile_site", "render_all"]


@gcpause.paused
def compile_site(site: Site, registry: Registry | None = None) -> Compilation:
    """Compile every intent of ``site``; raises TopologyError, AdmissionError or RenderError."""
    build = build_site(site, registry)
    models = build.finish()
    return compilation_of(build, models, render_all(models, renderer(models.values())))


def render_all(models: dict[str, DeviceModel], render_one: Callable[[DeviceModel], DeviceConfig]) -> dict[str, DeviceConfig]:
    """Device -> its config by ``render_one`` (``renderer(models.values())``), spread over processes: the
    first device that fails, in the order of ``models``, raises its RenderError."""
    return dict(zip(models, parallel.ordered_map(render_one, list(models.values()), first_of=_platform), strict=True))


def compilation_of(build: Build, models: dict[str, DeviceModel], configs: dict[str, DeviceConfig]) -> Compilation:
    """What compiling made: ``build``'s frozen ``models``, their ``configs`` and what the build knows of the site."""
    return Compilation(models, configs, tuple(build.reservations()), {k: set(v) for k, v in build.l2_links.items()},
                       {device: tuple(sorted(notes)) for device, notes in sorted(build.notes.items())},
                       build.network.dijkstra_runs)


def _platform(model: DeviceModel) -> str:
    return model.platform


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
