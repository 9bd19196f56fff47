"""Mutable per-device builders that intent kinds contribute to, frozen into DeviceModels at the end.

Kinds never touch each other's data: the vlan kind adds VLANs, ports and routes; QoS kinds add
classes and reservations. ``finish()`` resolves port modes, checks link use for conflicts, runs
admission control and returns the frozen models.
"""

from __future__ import annotations

import functools
import ipaddress
import operator
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from engine.device import (
    DeviceModel,
    EgressPolicy,
    Isolation,
    Match,
    NextHop,
    Port,
    PortMode,
    QosClass,
    RateLimit,
    Route,
    ShareClass,
    Svi,
    Vlan,
)
from engine.errors import AdmissionError, TopologyError
from engine.frozen import frozen
from engine.model import Endpoint, Link, Site
from engine.network import ClassDag, Network
from engine.platforms import platform_data
from engine.routing import DONT_CARE, NO_ROUTE, PrefixTrie, Value
from engine.units import format_bps

MIN_DEFAULT_RATE_BPS = 8_000


@runtime_checkable
class Segment(Protocol):
    """A routed layer-2 segment, what ``add_vlan`` builds and ``route_between_gateways`` routes between:
    VLAN ``id`` with its ``subnet``, one ``gateway`` device and the ``access`` ports of its hosts.
    The vlan kind's intents are segments; so can a plugin kind's be. (Defined here, not imported from
    a kind, so the builder depends on no kind; ``intent graph`` asks ``isinstance(intent, Segment)``.)"""

    @property
    def name(self) -> str: ...  # the intent that asked for it: "users"
    @property
    def id(self) -> int: ...  # 10
    @property
    def vlan_name(self) -> str: ...  # "users"
    @property
    def subnet(self) -> ipaddress.IPv4Network: ...  # 10.10.0.0/24
    @property
    def gateway(self) -> str: ...  # "core1"
    @property
    def gateway_address(self) -> ipaddress.IPv4Address: ...  # 10.10.0.1
    @property
    def access(self) -> tuple[Endpoint, ...]: ...  # (acc1:eth3,)


def segments(intents: Sequence[object]) -> list[Segment]:
    """The intents that are segments, in order. Whether an intent has the Segment shape is asked once
    per class (a kind's intents are instances of one class): ``isinstance`` against a runtime Protocol
    looks up each of its members every time, 27 ms for the 1,096 intents of a 1,000-device fabric."""
    found: list[Segment] = []
    for intent in intents:
        shaped = _SEGMENT_CLASSES.get(type(intent))
        if shaped is None:
            shaped = _SEGMENT_CLASSES[type(intent)] = isinstance(intent, Segment)
        if shaped:
            found.append(intent)  # type: ignore[arg-type]  # a Segment: its class was checked
    return found


_SEGMENT_CLASSES: dict[type, bool] = {}  # intent class -> whether it has the Segment shape


@frozen
class Reservation:
    """What guarantees reserve on one egress interface, out of what it may reserve of its capacity."""

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
    """A guarantee's class on one egress interface while the device is built (its matches still a set)."""

    intent: str
    rate_bps: int
    ceil_bps: int
    priority: bool
    queue: str
    matches: set[Match] = field(default_factory=set)


@dataclass
class _PortDraft:
    """A port of the device while it is built: its access VLAN, the VLANs it trunks, its link and address."""

    host_vlan: int | None = None
    vlans: set[int] = field(default_factory=set)
    link: Link | None = None
    address: str | None = None
    prefixlen: int | None = None


@frozen
class _ClassRoutes:
    """Routing towards one destination class: its DAG, its gateways, and every device that routes there."""

    dag: ClassDag
    members: tuple[str, ...]  # the gateways of the class
    senders: frozenset[str]
    _counts: list[int] = field(default_factory=list, compare=False, repr=False)
    member_set: frozenset[str] = field(default=frozenset(), compare=False, repr=False)  # ``in`` without a scan

    def __post_init__(self) -> None:
        object.__setattr__(self, "member_set", frozenset(self.members))

    def subnet_count(self, of_gateway: dict[str, list[int]]) -> int:
        """VLAN subnets behind the gateways of the class (counted once, not once per device)."""
        if not self._counts:
            self._counts.append(sum(len(of_gateway[member]) for member in self.members))
        return self._counts[0]


@dataclass
class DeviceBuilder:
    """One device's model while intents add to it, mutable; ``Build.finish`` freezes it into a DeviceModel."""

    name: str
    vlans: dict[int, Vlan] = field(default_factory=dict)
    svis: dict[int, Svi] = field(default_factory=dict)
    ports: dict[str, _PortDraft] = field(default_factory=dict)
    egress: dict[str, tuple[int, dict[str, _ClassDraft]]] = field(default_factory=dict)
    limits: dict[int, RateLimit] = field(default_factory=dict)
    forwarding: bool = False
    intents: set[str] = field(default_factory=set)
    routing: list[_ClassRoutes] = field(default_factory=list)  # destination classes this device routes towards
    isolations: dict[tuple[int, int], Isolation] = field(default_factory=dict)  # (vlan, peer vlan) -> isolation
    # qos_share: interface -> (bandwidth, VLAN -> (intent, weight, VLANs its traffic here goes to))
    shares: dict[str, tuple[int, dict[int, tuple[str, int, set[int]]]]] = field(default_factory=dict)

    def port(self, name: str) -> _PortDraft:
        draft = self.ports.get(name)
        if draft is None:
            draft = self.ports[name] = _PortDraft()
        return draft


class Build:
    """Shared state of one compilation."""

    def __init__(self, site: Site, network: Network | None = None) -> None:
        self.site = site
        self.network = network or Network(site)
        self.devices = {name: DeviceBuilder(name) for name in sorted(site.devices)}
        self.vlans: dict[int, Segment] = {}
        self.l2_links: dict[int, set[int]] = defaultdict(set)  # link index -> VLAN ids carried
        self.routed_links: dict[int, str] = {}  # link index -> intent that routes over it
        self._ledger: dict[tuple[str, str], tuple[int, list[tuple[str, int]]]] = {}
        self._over: list[str] = []
        self._minors: dict[str, int] | None = None
        self.notes: dict[str, set[str]] = defaultdict(set)  # device -> what the plan should say about it
        self._by_gateway: dict[str, list[Segment]] = {}
        self._transit: dict[int, tuple[int, int]] = {}  # link index -> (network address, prefix length)
        self._transit_pool: tuple[int, int] | None = None
        self._subnet_cache: tuple[list[Segment], dict[str, list[int]], PrefixTrie] | None = None
        self._classes: list[tuple[str, ...]] = []  # the gateways of each destination class
        self._hops: dict[int, tuple[NextHop, NextHop]] = {}  # link index -> next hop from its a end, from its b end
        self.isolated: dict[frozenset[int], str] = {}  # VLAN pair -> isolate intent (qos_share skips these paths)
        # summaries of tables equal up to the names of their next hops (see _summarise)
        self._notes_of_node: dict[int, str] = {}  # trie node -> the note of a route there that covers unused space
        self._summaries: dict[tuple[Value, frozenset[tuple[int, Value | None]]], list[tuple[int, Value]]] = {}

    # -- VLANs and routing ------------------------------------------------------------------

    def add_vlan(self, vlan: Segment) -> None:
        self.vlans[vlan.id] = vlan
        subnet = vlan.subnet
        network = int(subnet.network_address)
        prefixlen = subnet.prefixlen
        entry = Vlan(vlan.id, vlan.vlan_name, f"{_dotted(network)}/{prefixlen}", vlan.name)  # str(subnet), faster
        gateway = self.devices[vlan.gateway]
        gateway.vlans[vlan.id] = entry
        gateway.svis[vlan.id] = Svi(vlan.id, vlan.vlan_name, _dotted(int(vlan.gateway_address)), prefixlen, vlan.name)
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

    def route_between_gateways(self, vlans: Sequence[Segment]) -> None:
        """Routes to each VLAN's subnet on every device of every equal-cost path from every other gateway.

        One DAG per destination class (see engine.network): the devices that route towards a
        gateway, their next hops and the links they route over are found once per class and
        shared by all its gateways; nothing is computed per (source gateway, target) pair.
        """
        by_gateway: dict[str, list[Segment]] = defaultdict(list)
        for vlan in vlans:
            by_gateway[vlan.gateway].append(vlan)
        gateways = set(by_gateway)
        classes: dict[tuple[tuple[str, int], ...], list[str]] = defaultdict(list)
        for gateway in sorted(gateways):
            classes[self.network.attachment(gateway)].append(gateway)
        owner: dict[int, tuple[int, str]] = {}  # link index -> (VLAN id, intent) of the first route over it

        def use(link: Link, sender: str, vlan: Segment) -> None:
            known = owner.get(link.index)
            if known is None:
                self._address_transit(link)
            if known is None or vlan.id < known[0]:
                owner[link.index] = (vlan.id, vlan.name)

        self._classes = [tuple(members) for members in classes.values()]
        for members in self._classes:  # the same tuples as the tables' ``members`` (compared by identity)
            dag = self.network.dag(members[0])
            for source in sorted(gateways):
                if source not in dag.distance and (source not in dag.members or len(members) > 1):
                    target = next(m for m in members if m != source)
                    raise TopologyError(f"no path from {source} to {target} in the topology")
            sources = (gateways - dag.members) | (set(members) if len(members) > 1 else set())
            senders = dag.reach(sources, set(members))
            if not senders:
                continue
            first = min((v for m in members for v in by_gateway[m]), key=lambda v: v.id)
            table = _ClassRoutes(dag, members, frozenset(senders))
            for sender in sorted(senders):
                builder = self.devices[sender]
                builder.forwarding = True
                builder.routing.append(table)
                for link in dag.shared[sender]:
                    use(link, sender, first)
            for member in members:
                lowest = min(by_gateway[member], key=lambda v: v.id)
                for link, neighbour in self.network.adjacency[member]:
                    if neighbour in senders and neighbour not in dag.members and neighbour not in dag.hanging \
                            and link.cost == dag.distance[neighbour]:
                        use(link, neighbour, lowest)
        for index, (_, name) in owner.items():
            self.routed_links.setdefault(index, name)
        self._by_gateway = by_gateway

    def route_hops(self, intent: str) -> set[tuple[str, str]]:
        """(device, egress interface) of every route towards the subnet of VLAN intent ``intent``."""
        vlan = next((v for group in self._by_gateway.values() for v in group if v.name == intent), None)
        if vlan is None:
            return set()
        target = vlan.gateway
        hops: set[tuple[str, str]] = set()
        for name, builder in self.devices.items():
            if name == target or not any(target in table.member_set for table in builder.routing):
                continue
            hops.update((name, link.local(name).interface) for link in self.network.next_hops(name, target))
        return hops

    def _address_transit(self, link: Link) -> None:
        network, prefixlen = self.transit(link)
        a, b = link.a, link.b
        address_a, address_b = _dotted(network), _dotted(network + 1)
        for end, address in ((a, address_a), (b, address_b)):
            draft = self.devices[end.device].port(end.interface)
            draft.link = link
            draft.address = address
            draft.prefixlen = prefixlen
        # the next hop over the link from each end: the other end's address
        self._hops[link.index] = (NextHop(address_b, a.interface), NextHop(address_a, b.interface))

    def _hop(self, sender: str, link: Link) -> NextHop:
        """``sender``'s next hop over a routed link."""
        pair = self._hops.get(link.index)
        if pair is None:
            network, _ = self.transit(link)
            pair = self._hops[link.index] = (NextHop(_dotted(network + 1), link.a.interface),
                                             NextHop(_dotted(network), link.b.interface))
        return pair[0] if link.a.device == sender else pair[1]

    def transit(self, link: Link) -> tuple[int, int]:
        """The /31 of a routed link (network address as an integer, prefix length): its own ``subnet``
        or the Nth /31 of the transit pool."""
        known = self._transit.get(link.index)
        if known is None:
            known = self._transit[link.index] = self._transit_uncached(link)
        return known

    def _pool(self) -> tuple[int, int]:
        """The transit pool as (network address, number of addresses), parsed once."""
        if self._transit_pool is None:
            pool = ipaddress.IPv4Network(self.site.defaults.transit_pool)
            self._transit_pool = (int(pool.network_address), pool.num_addresses)
        return self._transit_pool

    def _transit_uncached(self, link: Link) -> tuple[int, int]:
        if link.subnet:
            net = ipaddress.IPv4Network(link.subnet)
            return int(net.network_address), net.prefixlen
        start, size = self._pool()
        if 2 * link.index + 1 >= size:
            pool = ipaddress.IPv4Network(self.site.defaults.transit_pool)
            raise TopologyError(f"transit pool {pool} is too small for link "
                                f"{link.a} -- {link.b} (link #{link.index + 1})")
        return start + 2 * link.index, 31

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

    # -- isolation and shares (isolate, qos_share) -----------------------------------------

    def add_isolation(self, device: str, isolation: Isolation) -> None:
        builder = self.devices[device]
        builder.isolations[(isolation.vlan, isolation.peer_vlan)] = isolation
        builder.intents.add(isolation.intent)
        self.isolated[frozenset((isolation.vlan, isolation.peer_vlan))] = isolation.intent

    def add_share(self, device: str, link: Link, intent: str, vlan: int, weight: int, targets: set[int]) -> None:
        """VLAN ``vlan``'s weight in the leftover bandwidth of ``device``'s egress onto ``link``, for its
        traffic to ``targets`` (the VLANs whose journey from ``vlan`` leaves the device there)."""
        interface = link.local(device).interface
        builder = self.devices[device]
        builder.intents.add(intent)
        _, weights = builder.shares.setdefault(interface, (link.bandwidth_bps, {}))
        weights.setdefault(vlan, (intent, weight, set()))[2].update(targets)

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
        self.check()
        return {name: self._freeze(builder) for name, builder in self.devices.items()}

    def check(self) -> None:
        """What ``finish()`` refuses before it freezes any model: TopologyError, AdmissionError."""
        for index in sorted(set(self.l2_links) & set(self.routed_links)):
            link = self.site.links[index]
            vlans = ", ".join(str(v) for v in sorted(self.l2_links[index]))
            raise TopologyError(
                f"link {link.a} -- {link.b} would carry VLAN {vlans} at layer 2 and also route between gateways "
                f"(for {self.routed_links[index]}); give the VLANs one gateway or add a link so the paths separate"
            )
        if self._over:
            raise AdmissionError(self._over)

    def freeze(self, name: str) -> DeviceModel:
        """Device ``name``'s model as ``finish()`` makes it (once ``check()`` passed); freezing it again gives
        an equal model."""
        return self._freeze(self.devices[name])

    def _freeze(self, builder: DeviceBuilder) -> DeviceModel:
        name = builder.name
        ports = []
        for port_name, draft in sorted(builder.ports.items()):
            link = draft.link
            if link is None:
                peer, bandwidth = "hosts", None
            else:
                end = link.b if link.a.device == name else link.a  # link.other(name)
                peer, bandwidth = f"{end.device}:{end.interface}", link.bandwidth_bps  # str(end)
            if draft.host_vlan is not None:
                ports.append(Port(port_name, PortMode.ACCESS, (draft.host_vlan,), peer=peer))
            elif draft.address is not None:
                ports.append(Port(port_name, PortMode.ROUTED, (), draft.address, draft.prefixlen, peer, bandwidth))
            else:
                one = len(draft.vlans) == 1 and (link is None or self._untagged(link))
                mode = PortMode.ACCESS if one else PortMode.TRUNK
                ports.append(Port(port_name, mode, tuple(sorted(draft.vlans)), peer=peer, bandwidth_bps=bandwidth))
        routes = self._routes(builder)
        return DeviceModel(
            name=name,
            platform=self.site.devices[name].platform,
            site=self.site.name,
            vlans=_in_key_order(builder.vlans),
            svis=_in_key_order(builder.svis),
            ports=tuple(ports),
            routes=routes,
            egress=self._egress(builder) if builder.egress or builder.shares else (),
            limits=_in_key_order(builder.limits),
            isolations=_in_key_order(builder.isolations),
            forwarding=builder.forwarding,
            intents=tuple(sorted(builder.intents)),
        )

    def _egress(self, builder: DeviceBuilder) -> tuple[EgressPolicy, ...]:
        """The shaping tree of each interface the device sends guaranteed or shared traffic from."""
        traffic_classes = self._traffic_classes(builder)
        share_queues = self._share_queues(builder, traffic_classes)
        egress = []
        for interface in sorted(set(builder.egress) | set(builder.shares)):
            capacity, drafts = builder.egress.get(interface) or (builder.shares[interface][0], {})
            classes = tuple(
                QosClass(
                    d.intent, f"INTENT-{d.intent}", self.class_minor(d.intent), d.rate_bps, d.ceil_bps, d.priority,
                    d.queue, _in_match_order(d.matches), traffic_classes[d.intent],
                )
                for d in sorted(drafts.values(), key=lambda d: d.intent)
            )
            reserved = sum(c.rate_bps for c in classes)
            default_rate = max(capacity - reserved, MIN_DEFAULT_RATE_BPS)
            shares = tuple(
                ShareClass(intent, f"INTENT-SHARE-{vid}", vid, str(self.vlans[vid].subnet), weight, share_queues[vid],
                           tuple(str(self.vlans[t].subnet) for t in sorted(targets)))
                for vid, (intent, weight, targets) in sorted(builder.shares.get(interface, (0, {}))[1].items())
            )
            egress.append(EgressPolicy(interface, capacity, classes, default_rate, f"INTENT-OUT-{_safe(interface)}",
                                       shares))
        return tuple(egress)

    def _untagged(self, link: Link) -> bool:
        """Whether a link that carries one VLAN carries it untagged: when the platform of one of its ends
        says so (``one_vlan_link: untagged``: Linux, whose kernel may lack 802.1Q). Between two switches
        a link port is a trunk whatever its VLAN count, so it never flips to an access port when a VLAN
        intent goes (that would take the link's other VLANs down, and over a trunk the engine does not
        own it is a takeover): the engine only adds and removes its VLANs on it. A one-VLAN link to a
        Linux device stays a trunk too where the switch already runs the port as one, and a port a switch runs
        as an access port stays one while the link carries one VLAN (``plan.keep_link_modes``)."""
        devices = self.site.devices
        return any(platform_data(devices[end.device].platform).get("one_vlan_link") == "untagged"
                   for end in (link.a, link.b))

    # -- routes -----------------------------------------------------------------------------

    def _subnets(self) -> tuple[list[Segment], dict[str, list[int]], PrefixTrie]:
        """Every routed VLAN in id order, the subnet indices of each gateway, and the trie of their subnets."""
        if self._subnet_cache is None:
            vlans = sorted((v for group in self._by_gateway.values() for v in group), key=lambda v: v.id)
            of_gateway: dict[str, list[int]] = defaultdict(list)
            for index, vlan in enumerate(vlans):
                of_gateway[vlan.gateway].append(index)
            trie = PrefixTrie([(int(v.subnet.network_address), v.subnet.prefixlen) for v in vlans])
            self._subnet_cache = (vlans, of_gateway, trie)
        return self._subnet_cache

    def _routes(self, builder: DeviceBuilder) -> tuple[Route, ...]:
        """The device's static routes: explicit (``routing: static-full``) or summarised (ORTC)."""
        if not builder.routing:
            return ()
        name = builder.name
        vlans, of_gateway, trie = self._subnets()
        adjacency = self.network.adjacency[name]
        # The explicit table as blocks: per destination class, one next-hop set for every gateway
        # of the class, except the gateways this device reaches over a direct link.
        blocks: list[tuple[_ClassRoutes, Value, dict[str, Value]]] = []
        for table in builder.routing:
            dag = table.dag
            base = tuple(link.index for link in dag.shared[name])  # ascending: adjacency is in link order
            straight: dict[str, Value] = {}
            if name not in dag.hanging:
                here = dag.distance[name]
                targets = dag.members
                for link, neighbour in adjacency:
                    if link.cost == here and neighbour in targets and neighbour in of_gateway:
                        known = straight.get(neighbour)
                        straight[neighbour] = (link.index,) if known is None else (*known, link.index)
                if base:
                    for neighbour, links in straight.items():
                        straight[neighbour] = tuple(sorted((*base, *links)))
            blocks.append((table, base, straight))
        if self.site.defaults.routing == "static-full":
            return self._explicit_routes(builder, blocks, vlans, of_gateway)
        own = of_gateway.get(name, ())
        counts: dict[Value, int] = defaultdict(int)
        routed = 0
        for table, base, straight in blocks:
            total = table.subnet_count(of_gateway)
            direct = 0
            for target, value in straight.items():
                behind = len(of_gateway[target])
                counts[value] += behind
                direct += behind
            others = total - (len(own) if name in table.member_set else 0) - direct
            if others and base:
                counts[base] += others
            routed += others + direct
        counts[NO_ROUTE] += len(vlans) - routed - len(own)
        most = max(counts.values())
        default = min(value for value, count in counts.items() if count == most)  # the most used, then the lowest
        exceptions: dict[int, Value | None] = dict.fromkeys(own, DONT_CARE)
        covered = {id(table.members) for table in builder.routing}  # hashing 4,000 names per device was O(n^2)
        for table, base, straight in blocks:
            for target, value in straight.items():
                if value != default:
                    for index in of_gateway[target]:
                        exceptions[index] = value
            if base != default:
                for member in table.members:
                    if member != name and member not in straight:
                        for index in of_gateway[member]:
                            exceptions[index] = base
        if default != NO_ROUTE:
            for members in self._classes:  # destination classes this device does not route towards
                if id(members) not in covered:
                    for gateway in members:
                        if gateway != name:
                            for index in of_gateway[gateway]:
                                exceptions[index] = NO_ROUTE
        result = []
        leaf, prefix, next_hops = trie.leaf, trie.prefix, self._next_hops
        for node_index, value in self._summarise(trie, default, exceptions):
            subnet = leaf[node_index]
            if subnet >= 0:  # a VLAN subnet: it covers its own addresses only
                intent = vlans[subnet].name
                builder.intents.add(intent)
            else:
                intent = SUMMARY
                if trie.nodes[node_index].covers_unused:
                    self.notes[name].add(self._covering_note(trie, node_index))
            result.append(Route(prefix(node_index), next_hops(name, value), intent))
        return tuple(result)

    def _covering_note(self, trie: PrefixTrie, index: int) -> str:
        """What the plan says of a route on node ``index`` that covers address space no VLAN uses
        (written once per node: every leaf of a fabric has the same covering route)."""
        note = self._notes_of_node.get(index)
        if note is None:
            node = trie.nodes[index]
            unused = (1 << (32 - node.prefixlen)) - node.addresses
            note = self._notes_of_node[index] = (f"route {node.prefix} summarises {node.subnets} VLAN subnets and "
                                                 f"also covers address space no VLAN uses ({_plural(unused, 'address')})")
        return note

    def _summarise(self, trie: PrefixTrie, default: Value, exceptions: dict[int, Value | None]) -> list[tuple[int, Value]]:
        """``trie.summarise``, computed once for every device whose table is the same up to the names of
        its next hops (the spines of a fabric: each routes every leaf's subnet over its own link to
        that leaf). ORTC only compares next-hop sets and takes the lowest, so relabelling them by rank
        among the table's sets (the lowest set 0, ...) gives the same routes, relabelled."""
        if len(exceptions) < SHARED_SUMMARY_FROM:
            return trie.summarise(default, exceptions)
        values = sorted({value for value in exceptions.values() if value} | ({default} if default else set()))
        rank: dict[Value | None, Value | None] = {value: (number,) for number, value in enumerate(values)}
        rank[NO_ROUTE] = NO_ROUTE
        rank[DONT_CARE] = DONT_CARE
        relabelled = {subnet: rank[value] for subnet, value in exceptions.items()}
        relabelled_default = rank[default]
        assert relabelled_default is not None
        key = (relabelled_default, frozenset(relabelled.items()))
        routes = self._summaries.get(key)
        if routes is None:
            routes = self._summaries[key] = trie.summarise(relabelled_default, relabelled)
        return [(node, values[value[0]] if value else NO_ROUTE) for node, value in routes]

    def _next_hops(self, name: str, value: Value) -> tuple[NextHop, ...]:
        """The next hops of ``name`` over the links ``value``, by interface then address."""
        links = self.site.links
        if len(value) == 1:
            return (self._hop(name, links[value[0]]),)
        return tuple(sorted((self._hop(name, links[i]) for i in value), key=_HOP_ORDER))

    def _explicit_routes(self, builder: DeviceBuilder, blocks: list[tuple[_ClassRoutes, Value, dict[str, Value]]],
                         vlans: list[Segment], of_gateway: dict[str, list[int]]) -> tuple[Route, ...]:
        name = builder.name
        entries: list[tuple[int, Route]] = []
        for table, base, straight in blocks:
            for member in table.members:
                if member == name:
                    continue
                value = straight.get(member, base)
                if not value:
                    continue
                hops = self._next_hops(name, value)
                for index in of_gateway[member]:
                    vlan = vlans[index]
                    builder.intents.add(vlan.name)
                    entries.append((int(vlan.subnet.network_address), Route(str(vlan.subnet), hops, vlan.name)))
        entries.sort(key=lambda entry: entry[0])
        return tuple(route for _, route in entries)

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

    @staticmethod
    def _share_queues(builder: DeviceBuilder, traffic_classes: dict[str, int]) -> dict[int, int]:
        """Hardware queue per shared VLAN on this device: the numbers after the guarantees', skipping 5
        (the priority queue). Each platform's templates say how many queues it has."""
        used = set(traffic_classes.values())
        numbers: dict[int, int] = {}
        candidate = 1
        for vid in sorted({vid for _, weights in builder.shares.values() for vid in weights}):
            while candidate in used or candidate == 5:
                candidate += 1
            numbers[vid] = candidate
            used.add(candidate)
        return numbers


_HOP_ORDER = operator.attrgetter("interface", "address")  # next hops by interface, then address
SUMMARY = "summary"  # the intent label of a route that summarises several VLANs' subnets
SHARED_SUMMARY_FROM = 64  # exceptions from which a device's summary is looked up among the others' (Build._summarise)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else ('es' if word.endswith('ss') else 's')}"


_K = TypeVar("_K", int, tuple[int, int])  # VLAN ids, VLAN pairs
_V = TypeVar("_V")


def _in_key_order(entries: dict[_K, _V]) -> tuple[_V, ...]:
    """The values of ``entries`` in the order of their keys."""
    return tuple(map(entries.__getitem__, sorted(entries))) if entries else ()


@functools.lru_cache(maxsize=4096)
def _safe(name: str) -> str:
    """An interface name as a policy-name fragment: GigabitEthernet1/0/1 -> GigabitEthernet1_0_1."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _dotted(address: int) -> str:
    """``str(IPv4Address(address))`` without the object."""
    return f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}"


def _in_match_order(matches: set[Match]) -> tuple[Match, ...]:
    """A guarantee's matches on one interface, sorted by ``_match_key`` (most have one: nothing to sort)."""
    return tuple(matches) if len(matches) == 1 else tuple(sorted(matches, key=_match_key))


def _match_key(match: Match) -> tuple[object, ...]:
    return (_network_order(match.src), _network_order(match.dst), match.dscp or -1, match.protocol or -1, match.ports)


@functools.lru_cache(maxsize=65536)
def _network_order(prefix: str) -> tuple[int, int]:
    """The order of ``ipaddress.IPv4Network(prefix)`` (address, then netmask) as plain integers, parsed once."""
    network = ipaddress.IPv4Network(prefix)
    return int(network.network_address), network.prefixlen
