"""Mutable per-device builders that intent kinds contribute to, frozen into DeviceModels at the end.

Kinds never touch each other's data: the vlan kind adds VLANs, ports and routes; QoS kinds add
classes and reservations. ``finish()`` resolves port modes, checks link use for conflicts, runs
admission control and returns the frozen models.
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.device import (
    DeviceModel,
    EgressPolicy,
    Match,
    NextHop,
    Port,
    PortMode,
    QosClass,
    RateLimit,
    Route,
    Svi,
    Vlan,
)
from engine.errors import AdmissionError, TopologyError
from engine.model import Link, Site
from engine.network import Network
from engine.units import format_bps

if TYPE_CHECKING:
    from intents.vlan import VlanIntent

MIN_DEFAULT_RATE_BPS = 8_000


@dataclass(frozen=True)
class Reservation:
    device: str
    interface: str
    capacity_bps: int
    reservable_bps: int
    reserved_bps: int
    intents: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "device": self.device,
            "interface": self.interface,
            "capacity_bps": self.capacity_bps,
            "reservable_bps": self.reservable_bps,
            "reserved_bps": self.reserved_bps,
            "headroom_bps": self.reservable_bps - self.reserved_bps,
            "intents": list(self.intents),
        }


@dataclass
class _ClassDraft:
    intent: str
    rate_bps: int
    ceil_bps: int
    priority: bool
    queue: str
    matches: set[Match] = field(default_factory=set)


@dataclass
class _PortDraft:
    host_vlan: int | None = None
    vlans: set[int] = field(default_factory=set)
    link: Link | None = None
    address: str | None = None
    prefixlen: int | None = None


@dataclass
class DeviceBuilder:
    name: str
    vlans: dict[int, Vlan] = field(default_factory=dict)
    svis: dict[int, Svi] = field(default_factory=dict)
    ports: dict[str, _PortDraft] = field(default_factory=dict)
    routes: dict[str, tuple[str, set[NextHop]]] = field(default_factory=dict)
    egress: dict[str, tuple[int, dict[str, _ClassDraft]]] = field(default_factory=dict)
    limits: dict[int, RateLimit] = field(default_factory=dict)
    forwarding: bool = False
    intents: set[str] = field(default_factory=set)

    def port(self, name: str) -> _PortDraft:
        return self.ports.setdefault(name, _PortDraft())


class Build:
    """Shared state of one compilation."""

    def __init__(self, site: Site, network: Network | None = None) -> None:
        self.site = site
        self.network = network or Network(site)
        self.devices = {name: DeviceBuilder(name) for name in sorted(site.devices)}
        self.vlans: dict[int, VlanIntent] = {}
        self.l2_links: dict[int, set[int]] = defaultdict(set)  # link index -> VLAN ids carried
        self.routed_links: dict[int, str] = {}  # link index -> intent that routes over it
        self._ledger: dict[tuple[str, str], tuple[int, list[tuple[str, int]]]] = {}
        self._over: list[str] = []
        self._minors: dict[str, int] | None = None
        self.notes: dict[str, set[str]] = defaultdict(set)  # device -> what the plan should say about it

    # -- VLANs and routing ------------------------------------------------------------------

    def add_vlan(self, vlan: VlanIntent) -> None:
        self.vlans[vlan.id] = vlan
        entry = Vlan(vlan.id, vlan.vlan_name, str(vlan.subnet), vlan.name)
        gateway = self.devices[vlan.gateway]
        gateway.vlans[vlan.id] = entry
        gateway.svis[vlan.id] = Svi(vlan.id, vlan.vlan_name, str(vlan.gateway_address), vlan.subnet.prefixlen, vlan.name)
        gateway.forwarding = True
        gateway.intents.add(vlan.name)
        for port in vlan.access:
            builder = self.devices[port.device]
            builder.vlans[vlan.id] = entry
            builder.port(port.interface).host_vlan = vlan.id
            builder.intents.add(vlan.name)
            for _sender, link in self.network.path_links(port.device, vlan.gateway):
                self.l2_links[link.index].add(vlan.id)
                for end in (link.a, link.b):
                    end_builder = self.devices[end.device]
                    end_builder.vlans[vlan.id] = entry
                    draft = end_builder.port(end.interface)
                    draft.vlans.add(vlan.id)
                    draft.link = link
                    end_builder.intents.add(vlan.name)

    def route_between_gateways(self, vlans: list[VlanIntent]) -> None:
        """Static routes to each VLAN's subnet along every equal-cost path from every other gateway."""
        gateways = sorted({vlan.gateway for vlan in vlans})
        for target in vlans:
            for source in gateways:
                if source == target.gateway:
                    continue
                for sender, link in self.network.path_links(source, target.gateway):
                    self._route_over(sender, link, target)

    def _route_over(self, sender: str, link: Link, target: VlanIntent) -> None:
        self.routed_links.setdefault(link.index, target.name)
        network, prefixlen = self.transit(link)
        for end, offset in ((link.a, 0), (link.b, 1)):
            draft = self.devices[end.device].port(end.interface)
            draft.link = link
            draft.address = str(network + offset)
            draft.prefixlen = prefixlen
        neighbour = link.other(sender)
        hop_address = network + (0 if neighbour == link.a else 1)
        builder = self.devices[sender]
        builder.forwarding = True
        builder.intents.add(target.name)
        _, hops = builder.routes.setdefault(str(target.subnet), (target.name, set()))
        hops.add(NextHop(str(hop_address), link.local(sender).interface))

    def transit(self, link: Link) -> tuple[ipaddress.IPv4Address, int]:
        """The /31 of a routed link: its own ``subnet`` or the Nth /31 of the transit pool."""
        if link.subnet:
            net = ipaddress.IPv4Network(link.subnet)
            return net.network_address, net.prefixlen
        pool = ipaddress.IPv4Network(self.site.defaults.transit_pool)
        if 2 * link.index + 1 >= pool.num_addresses:
            raise TopologyError(f"transit pool {pool} is too small for link {link.a} -- {link.b} (link #{link.index + 1})")
        return pool.network_address + 2 * link.index, 31

    # -- QoS ------------------------------------------------------------------------------

    def class_minor(self, intent: str) -> int:
        """A stable HTB class minor per intent name (0x100..0x3fff; filter prefs build on it), unaffected by other intents' order."""
        if self._minors is None:
            self._minors = {}
            used: set[int] = set()
            for name in sorted(i.name for i in self.site.intents):
                minor = 0x100 + zlib.crc32(name.encode()) % 0x3F00
                while minor in used:
                    minor = 0x100 + (minor - 0x100 + 1) % 0x3F00
                used.add(minor)
                self._minors[name] = minor
        return self._minors[intent]

    def add_class(
        self,
        device: str,
        link: Link,
        intent: str,
        rate_bps: int,
        ceil_bps: int,
        priority: bool,
        queue: str,
        match: Match,
    ) -> None:
        """Put ``intent``'s guarantee on the egress of ``device`` onto ``link``, reserving it once."""
        interface = link.local(device).interface
        builder = self.devices[device]
        builder.intents.add(intent)
        _, classes = builder.egress.setdefault(interface, (link.bandwidth_bps, {}))
        if intent not in classes:
            classes[intent] = _ClassDraft(intent, rate_bps, ceil_bps, priority, queue)
            self._reserve(device, interface, link.bandwidth_bps, intent, rate_bps)
        classes[intent].matches.add(match)

    def _reserve(self, device: str, interface: str, capacity: int, intent: str, rate_bps: int) -> None:
        _, entries = self._ledger.setdefault((device, interface), (capacity, []))
        reservable = self.reservable(capacity)
        already = sum(bps for _, bps in entries)
        if already + rate_bps > reservable:
            holders = ", ".join(f"{name} ({format_bps(bps)})" for name, bps in entries)
            taken = f"already reserved {format_bps(already)} by {holders}" if entries else "nothing else reserved there"
            where = self.site_location(intent)
            self._over.append(
                f"{where}admission refused: {intent} needs {format_bps(rate_bps)} on {device} {interface}, "
                f"capacity {format_bps(capacity)}, reservable {format_bps(reservable)} "
                f"({self.site.defaults.reservable_percent:g}%), {taken}; "
                f"over by {format_bps(already + rate_bps - reservable)}"
            )
        entries.append((intent, rate_bps))

    def reservable(self, capacity: int) -> int:
        return int(capacity * self.site.defaults.reservable_percent / 100)

    def site_location(self, intent: str) -> str:
        where = self.site.locations.get(intent)
        return f"{where}: " if where else ""

    def add_limit(self, device: str, limit: RateLimit) -> None:
        builder = self.devices[device]
        builder.limits[limit.vlan] = limit
        builder.intents.add(limit.intent)

    # -- result ---------------------------------------------------------------------------

    def reservations(self) -> list[Reservation]:
        return [
            Reservation(device, interface, capacity, self.reservable(capacity), sum(b for _, b in entries),
                        tuple(name for name, _ in entries))
            for (device, interface), (capacity, entries) in sorted(self._ledger.items())
        ]

    def reserved_by(self) -> dict[tuple[str, str], tuple[tuple[str, int], ...]]:
        """(device, egress interface) -> (intent, bps) of each reservation there, in the order they were made."""
        return {key: tuple(entries) for key, (_, entries) in sorted(self._ledger.items())}

    def refusals(self) -> tuple[str, ...]:
        """The admission messages ``finish()`` raises."""
        return tuple(self._over)

    def finish(self) -> dict[str, DeviceModel]:
        for index in sorted(set(self.l2_links) & set(self.routed_links)):
            link = self.site.links[index]
            vlans = ", ".join(str(v) for v in sorted(self.l2_links[index]))
            raise TopologyError(
                f"link {link.a} -- {link.b} would carry VLAN {vlans} at layer 2 and also route between gateways "
                f"(for {self.routed_links[index]}); give the VLANs one gateway or add a link so the paths separate"
            )
        if self._over:
            raise AdmissionError(self._over)
        return {name: self._freeze(builder) for name, builder in self.devices.items()}

    def _freeze(self, builder: DeviceBuilder) -> DeviceModel:
        ports = []
        for name, draft in sorted(builder.ports.items()):
            peer = str(draft.link.other(builder.name)) if draft.link else "hosts"
            bandwidth = draft.link.bandwidth_bps if draft.link else None
            if draft.host_vlan is not None:
                ports.append(Port(name, PortMode.ACCESS, (draft.host_vlan,), peer=peer))
            elif draft.address is not None:
                ports.append(Port(name, PortMode.ROUTED, (), draft.address, draft.prefixlen, peer, bandwidth))
            else:
                mode = PortMode.TRUNK if len(draft.vlans) > 1 else PortMode.ACCESS
                ports.append(Port(name, mode, tuple(sorted(draft.vlans)), peer=peer, bandwidth_bps=bandwidth))
        routes = tuple(
            Route(prefix, tuple(sorted(hops, key=lambda h: (h.interface, h.address))), intent)
            for prefix, (intent, hops) in sorted(builder.routes.items(), key=lambda r: ipaddress.IPv4Network(r[0]))
        )
        traffic_classes = self._traffic_classes(builder)
        egress = []
        for interface, (capacity, drafts) in sorted(builder.egress.items()):
            classes = tuple(
                QosClass(
                    d.intent, f"INTENT-{d.intent}", self.class_minor(d.intent), d.rate_bps, d.ceil_bps, d.priority,
                    d.queue, tuple(sorted(d.matches, key=_match_key)), traffic_classes[d.intent],
                )
                for d in sorted(drafts.values(), key=lambda d: d.intent)
            )
            reserved = sum(c.rate_bps for c in classes)
            default_rate = max(capacity - reserved, MIN_DEFAULT_RATE_BPS)
            egress.append(EgressPolicy(interface, capacity, classes, default_rate, f"INTENT-OUT-{_safe(interface)}"))
        return DeviceModel(
            name=builder.name,
            platform=self.site.devices[builder.name].platform.value,
            site=self.site.name,
            vlans=tuple(builder.vlans[v] for v in sorted(builder.vlans)),
            svis=tuple(builder.svis[v] for v in sorted(builder.svis)),
            ports=tuple(ports),
            routes=routes,
            egress=tuple(egress),
            limits=tuple(builder.limits[v] for v in sorted(builder.limits)),
            forwarding=builder.forwarding,
            intents=tuple(sorted(builder.intents)),
        )

    @staticmethod
    def _traffic_classes(builder: DeviceBuilder) -> dict[str, int]:
        """Hardware queue per guarantee on this device: priority ones share 5, others get 1..4."""
        drafts = {d.intent: d for _, classes in builder.egress.values() for d in classes.values()}
        numbers: dict[str, int] = {}
        next_number = 1
        for intent in sorted(drafts):
            if drafts[intent].priority:
                numbers[intent] = 5
            else:
                numbers[intent] = next_number
                next_number += 1
        return numbers


def _safe(name: str) -> str:
    """An interface name as a policy-name fragment: GigabitEthernet1/0/1 -> GigabitEthernet1_0_1."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _match_key(match: Match) -> tuple[object, ...]:
    return (
        ipaddress.IPv4Network(match.src), ipaddress.IPv4Network(match.dst), match.dscp or -1, match.protocol or -1,
        match.ports,
    )
