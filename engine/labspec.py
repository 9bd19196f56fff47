"""What ``intent lab up`` builds for a site: pure data, computed from the site (CONTRACT §6).

One network namespace per device with a ``netns`` var (Linux devices: their driver builds the lab), one veth pair per topology link
between two such devices (interface names as in the topology), and per VLAN access port a host
namespace ``h-<device>-<interface>`` whose ``eth0`` is addressed in the VLAN subnet with a
default route via the gateway. The hosts are the kinds' to say (``intents.base.LabHosts``: the vlan
kind's ``lab_hosts``), so the lab names no kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from engine.checks import Host, host_netns
from engine.driver import DriverRegistry
from engine.errors import IntentError, TopologyError
from engine.frozen import frozen
from engine.model import Site
from intents.base import LabHosts
from intents.registry import Registry

__all__ = ["Cable", "LabBuilder", "LabSpec", "host_netns", "lab_builder", "lab_spec"]


@frozen
class Cable:
    a_netns: str
    a_interface: str
    b_netns: str
    b_interface: str


@frozen
class LabSpec:
    namespaces: tuple[str, ...]  # device namespaces
    cables: tuple[Cable, ...]
    hosts: tuple[Host, ...]
    trunks: tuple[str, ...]  # links that carry several VLANs (need 802.1Q)
    skipped: tuple[str, ...]  # links to devices that are not in the lab, with why

    @property
    def all_namespaces(self) -> tuple[str, ...]:
        return self.namespaces + tuple(host.netns for host in self.hosts)


def lab_spec(site: Site, vlans_per_link: dict[int, set[int]] | None = None, registry: Registry | None = None) -> LabSpec:
    """The lab of ``site``. ``vlans_per_link`` (link index -> VLAN ids, from compile) marks trunks;
    the hosts are what the kinds of ``registry`` that have ``lab_hosts`` ask for."""
    lab = {name: d.netns for name, d in site.devices.items() if d.netns}  # a netns is what makes a lab device
    if not lab:
        raise TopologyError(f"site {site.name} has no device with a netns: nothing to build a lab from")
    cables, skipped, trunks = [], [], []
    for link in site.links:
        outside = [end.device for end in (link.a, link.b) if end.device not in lab]
        if outside:
            skipped.append(f"{link.a} -- {link.b}: {', '.join(outside)} is not a lab device (no netns)")
            continue
        cables.append(Cable(lab[link.a.device], link.a.interface, lab[link.b.device], link.b.interface))
        if vlans_per_link and len(vlans_per_link.get(link.index, ())) > 1:
            vids = ",".join(str(v) for v in sorted(vlans_per_link[link.index]))
            trunks.append(f"{link.a} -- {link.b} (VLANs {vids})")
    hosts: list[Host] = []
    for kind in (registry or Registry()).ordered():
        intents = site.intents_of(kind.key)
        if intents and isinstance(kind, LabHosts):
            hosts += kind.lab_hosts(list(intents), lab)
    return LabSpec(tuple(sorted(set(lab.values()))), tuple(cables), tuple(hosts), tuple(trunks), tuple(skipped))


@runtime_checkable
class LabBuilder(Protocol):
    """A driver family that can build a lab of its devices here (Linux: network namespaces and veths)."""

    def up(self, spec: LabSpec, progress: Callable[[str], None]) -> list[str]:
        """Create what is missing; return what was created (["netns lab-core1", "veth core1:eth1 -- acc1:eth0"],
        empty when the lab was already up). Raises IntentError when it cannot be built here (not root)."""
        ...

    def down(self, spec: LabSpec, progress: Callable[[str], None]) -> list[str]:
        """Remove every namespace of the lab and the processes in it; return the namespaces removed."""
        ...


def lab_builder(site: Site, drivers: DriverRegistry) -> LabBuilder:
    """The driver family that builds the lab of ``site``'s lab devices (those with a ``netns``)."""
    families = sorted({device.driver for device in site.devices.values() if device.netns})
    builders = [plugin for plugin in map(drivers.get, families) if isinstance(plugin, LabBuilder)]
    if len(builders) != 1:
        raise IntentError(f"site {site.name}: no one driver can build a lab of its devices with a netns "
                          f"(drivers {', '.join(families) or 'none'})")
    return builders[0]
