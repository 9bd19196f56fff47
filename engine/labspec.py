"""What ``intent lab up`` builds for a site: pure data, computed from the site (CONTRACT §6).

One network namespace per device with a ``netns`` var (Linux devices: their driver builds the lab), one veth pair per topology link
between two such devices (interface names as in the topology), and per VLAN access port a host
namespace ``h-<device>-<interface>`` whose ``eth0`` is addressed in the VLAN subnet with a
default route via the gateway. Addresses are deterministic: the k-th access port of a VLAN gets
the subnet's (k+2)-th address (the gateway has the first).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from engine.checks import Host
from engine.driver import DriverRegistry
from engine.errors import IntentError, TopologyError
from engine.model import Site
from intents.vlan import VlanIntent


@dataclass(frozen=True)
class Cable:
    a_netns: str
    a_interface: str
    b_netns: str
    b_interface: str


@dataclass(frozen=True)
class LabSpec:
    namespaces: tuple[str, ...]  # device namespaces
    cables: tuple[Cable, ...]
    hosts: tuple[Host, ...]
    trunks: tuple[str, ...]  # links that carry several VLANs (need 802.1Q)
    skipped: tuple[str, ...]  # links to devices that are not in the lab, with why

    @property
    def all_namespaces(self) -> tuple[str, ...]:
        return self.namespaces + tuple(host.netns for host in self.hosts)


def host_netns(device: str, interface: str) -> str:
    return f"h-{device}-{interface}".replace("/", "-")


def lab_spec(site: Site, vlans_per_link: dict[int, set[int]] | None = None) -> LabSpec:
    """The lab of ``site``. ``vlans_per_link`` (link index -> VLAN ids, from compile) marks trunks."""
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
    hosts = []
    for intent in site.intents_of("vlan"):
        assert isinstance(intent, VlanIntent)
        subnet = ipaddress.IPv4Network(intent.subnet)
        gateway = subnet.network_address + 1
        for index, port in enumerate(intent.access):
            if port.device not in lab:
                continue
            address = subnet.network_address + 2 + index
            if address >= subnet.broadcast_address:
                raise TopologyError(f"VLAN {intent.id}: subnet {subnet} has no address left for the host "
                                    f"on {port}")
            hosts.append(Host(host_netns(port.device, port.interface), lab[port.device], port.interface,
                              f"{address}/{subnet.prefixlen}", str(gateway), intent.id))
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
