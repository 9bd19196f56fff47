"""The compiled, platform-neutral model of one device: what every template renders from.

``compile()`` produces one ``DeviceModel`` per device that any intent touches. Templates in
``templates/<platform>/`` turn it into that platform's configuration. Everything here is frozen
and sorted, so the same site always renders the same bytes.
"""

from __future__ import annotations

import ipaddress
from dataclasses import field
from enum import StrEnum
from functools import lru_cache

from engine.frozen import frozen


@lru_cache(maxsize=64)  # 0..32: every port and SVI asks
def netmask(prefixlen: int) -> str:
    """24 -> "255.255.255.0"."""
    return str(ipaddress.IPv4Network(f"0.0.0.0/{prefixlen}").netmask)


class PortMode(StrEnum):
    ACCESS = "access"  # untagged member of one VLAN
    TRUNK = "trunk"  # 802.1Q tagged, several VLANs
    ROUTED = "routed"  # layer-3 transit between gateways


@frozen
class Vlan:
    """A VLAN the device carries, from the vlan intent that made it."""

    id: int
    name: str
    subnet: str  # "10.10.0.0/24"
    intent: str


@frozen
class Svi:
    """The routed interface of a VLAN on its gateway (Linux: address on the VLAN's bridge)."""

    vlan: int
    name: str
    address: str  # "10.10.0.1"
    prefixlen: int
    intent: str

    @property
    def netmask(self) -> str:
        return netmask(self.prefixlen)


@frozen
class Port:
    """A physical interface the engine configures: an access port, a trunk, or a routed transit."""

    name: str
    mode: PortMode
    vlans: tuple[int, ...] = ()
    address: str | None = None  # routed ports: "10.255.0.0"
    prefixlen: int | None = None
    peer: str = ""  # "acc1:eth0", or "hosts" for an access port
    bandwidth_bps: int | None = None

    @property
    def netmask(self) -> str | None:
        return None if self.prefixlen is None else netmask(self.prefixlen)


@frozen
class NextHop:
    """One next hop of a static route: the gateway's address and the interface towards it."""

    address: str
    interface: str


@frozen
class Route:
    """A static route to a remote VLAN subnet (or a summary of several), over one or more next hops."""

    prefix: str  # "10.20.0.0/24"
    next_hops: tuple[NextHop, ...]
    intent: str

    @property
    def network(self) -> str:
        return str(ipaddress.IPv4Network(self.prefix).network_address)

    @property
    def netmask(self) -> str:
        return str(ipaddress.IPv4Network(self.prefix).netmask)


@frozen
class Match:
    """One direction of traffic a class takes: source and destination prefixes plus narrowing."""

    src: str  # "10.10.0.0/24"
    dst: str
    dscp: int | None = None
    protocol: int | None = None  # IP protocol number (6 tcp, 17 udp)
    ports: tuple[tuple[int, int], ...] = ()  # destination port ranges, inclusive


@frozen
class QosClass:
    """A guarantee on one egress interface."""

    intent: str
    name: str  # platform-safe identifier: "INTENT-video-10-20"
    minor: int  # HTB class minor (hex in tc), stable per intent name
    rate_bps: int
    ceil_bps: int
    priority: bool
    queue: str
    matches: tuple[Match, ...]
    traffic_class: int = 1  # hardware queue / forwarding class number on vendor platforms (1..6)


@frozen
class ShareClass:
    """One VLAN's weighted share of what the guarantees leave on an egress interface (qos_share)."""

    intent: str
    name: str  # "INTENT-SHARE-20": the VLAN's classifier (ACL, class-map, forwarding class)
    vlan: int
    subnet: str  # traffic of the VLAN = what its hosts send: matched by source prefix
    weight: int  # 1..100
    traffic_class: int = 1  # hardware queue on vendor platforms, after the guarantees' ones
    # Subnets this VLAN's traffic leaving here goes to. Vendors classify per device, so their ACLs
    # match source and destination: traffic of the VLAN that leaves by other ports is not put in a
    # queue those ports do not schedule.
    destinations: tuple[str, ...] = ()

    @property
    def minor(self) -> int:
        """Linux class minor (0x4000 + VLAN id, above every guarantee's): stable per VLAN."""
        return 0x4000 + self.vlan


@frozen
class EgressPolicy:
    """The shaping tree on one egress interface: guarantees plus a default class for the rest."""

    interface: str
    capacity_bps: int
    classes: tuple[QosClass, ...]
    default_rate_bps: int
    name: str  # "INTENT-OUT-eth1"
    shares: tuple[ShareClass, ...] = ()  # qos_share: the default class's bandwidth, shared by weight


@frozen
class Allowed:
    """Traffic an isolation still lets through: a protocol, optionally a destination port range."""

    protocol: int
    ports: tuple[int, int] | None = None


@frozen
class Isolation:
    """No routed traffic from ``subnet`` (VLAN ``vlan``) to ``peer_subnet``, except ``allow`` (isolate).

    One per direction: an isolate intent between A and B gives A->B and B->A on every device
    that routes between them. A stateless filter, so each exception passes its forward packets
    (destination port) and the replies to ones the other side started (source port).

    ``transit``: on a router between the two gateways (an SVI for neither VLAN), the interfaces this
    direction's traffic arrives on, where vendor platforms filter it (Linux filters device-wide)."""

    intent: str
    vlan: int
    subnet: str
    peer_vlan: int
    peer_subnet: str
    allow: tuple[Allowed, ...] = ()
    minor: int = 0x100  # the intent's stable number (Build.class_minor): Linux rule prefs derive from it
    transit: tuple[str, ...] = ()


@frozen
class RateLimit:
    """A hard cap on everything routed in and out of a VLAN at its gateway."""

    intent: str
    name: str
    vlan: int
    subnet: str
    rate_bps: int


@frozen
class DeviceModel:
    """Everything the engine configures on one device, each part sorted: what its platform's template renders."""

    name: str
    platform: str
    site: str
    vlans: tuple[Vlan, ...] = ()
    svis: tuple[Svi, ...] = ()
    ports: tuple[Port, ...] = ()
    routes: tuple[Route, ...] = ()
    egress: tuple[EgressPolicy, ...] = ()
    limits: tuple[RateLimit, ...] = ()
    isolations: tuple[Isolation, ...] = ()  # isolate: sorted by (vlan, peer_vlan)
    forwarding: bool = False
    intents: tuple[str, ...] = field(default=())
