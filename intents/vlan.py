"""``vlan``: a VLAN's subnet, its gateway, and the access ports of its hosts.

Compiles to: the VLAN on every device on a shortest path from each access port to the gateway,
access ports untagged, links as 802.1Q trunks (one VLAN on a link to a Linux device: untagged),
the gateway address (first host of the subnet), and routes between VLANs whose gateways differ.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from engine.errors import TopologyError
from engine.frozen import frozen
from engine.model import Endpoint, Intent
from intents.base import JsonPath, ParseContext, load_schema

if TYPE_CHECKING:
    from engine.build import Build
    from engine.checks import Host, LabView, Step
    from engine.compilation import Compilation
    from engine.model import Site


@frozen
class VlanIntent(Intent):
    """A vlan intent: a VLAN, its subnet, the device that routes it and its access ports."""

    id: int
    vlan_name: str
    subnet: ipaddress.IPv4Network
    gateway: str
    access: tuple[Endpoint, ...]
    takeover: bool = False  # replace what stands in the way on its ports (see engine.takeover)

    @property
    def gateway_address(self) -> ipaddress.IPv4Address:
        return self.subnet.network_address + 1


class VlanKind:
    key = "vlan"
    order = 0
    schema = load_schema("intents", "vlan.schema.json")

    def parse(self, name: str, body: dict[str, Any], path: JsonPath, ctx: ParseContext) -> Intent | None:
        ctx.declared.setdefault("vlan", set()).add(body["id"])
        ok = True
        try:  # a prefix without host bits, read once (the common case; parsing one costs 5 us)
            subnet = ipaddress.IPv4Network(body["subnet"])
        except ValueError:  # invalid, or host bits set: said which below
            try:
                subnet = ipaddress.IPv4Network(body["subnet"], strict=False)
            except ValueError:
                ctx.error((*path, "subnet"), f"invalid subnet {body['subnet']!r}: write an IPv4 prefix such as 10.10.0.0/24")
                return None
            if ipaddress.IPv4Interface(body["subnet"]).ip != subnet.network_address:
                ctx.error((*path, "subnet"), f"subnet {body['subnet']} has host bits set; did you mean {subnet}?")
                ok = False
        if subnet.prefixlen > 30:
            ctx.error((*path, "subnet"), f"subnet {subnet} is too small for a gateway and hosts (use /30 or larger)")
            ok = False
        gateway = body["gateway"]
        if gateway not in ctx.devices:
            if ctx.unknown_device(gateway):
                ctx.error((*path, "gateway"), f"gateway {gateway!r} is not in the inventory")
            ok = False
        access: list[Endpoint] = []
        for index, text in enumerate(body.get("access", [])):
            device, interface = text.split(":", 1)
            endpoint = Endpoint(device, interface)
            if device not in ctx.devices:
                if ctx.unknown_device(device):
                    ctx.error((*path, "access", index), f"access port {text}: device {device!r} is not in the inventory")
                ok = False
                continue
            declared = ctx.devices[device].interfaces
            if declared is not None and interface not in declared:
                ctx.error(
                    (*path, "access", index),
                    f"access port {text}: {device} has no interface {interface!r} (known: {', '.join(declared)})",
                )
                ok = False
            if ctx.is_link_endpoint(endpoint):
                ctx.error((*path, "access", index), f"access port {text} is a topology link, not a host port")
            access.append(endpoint)
        if not ok:
            return None  # the site-wide checks below would only repeat these problems
        return VlanIntent(name, self.key, body["id"], body.get("name", name), subnet, gateway, tuple(access),
                          bool(body.get("takeover", False)))

    def check(self, intents: list[Intent], site: Site, ctx: ParseContext) -> None:
        vlans = [i for i in intents if isinstance(i, VlanIntent)]
        seen_ids: dict[int, str] = {}
        seen_ports: dict[Endpoint, str] = {}
        overlapping = _overlaps(vlans, ctx)
        try:
            pool: ipaddress.IPv4Network | None = ipaddress.IPv4Network(site.defaults.transit_pool)
        except ValueError:
            pool = None
        pool_range = (int(pool.network_address), int(pool.broadcast_address)) if pool is not None else None
        for vlan in vlans:
            path = ctx.intent_path(vlan.name)
            if vlan.id in seen_ids:
                ctx.error((*path, "id"), f"VLAN {vlan.id} is already defined by intent {seen_ids[vlan.id]!r}")
            seen_ids.setdefault(vlan.id, vlan.name)
            for other in overlapping.get(vlan.name, ()):
                ctx.error((*path, "subnet"), f"subnet {vlan.subnet} overlaps {other.subnet} of VLAN {other.id} ({other.name})")
            if pool_range is not None and _meets(*pool_range, vlan.subnet):
                ctx.error((*path, "subnet"), f"subnet {vlan.subnet} overlaps the transit pool {pool} (defaults.transit_pool)")
            for index, port in enumerate(vlan.access):
                if port in seen_ports and seen_ports[port] != vlan.name:
                    ctx.error((*path, "access", index), f"access port {port} already belongs to VLAN intent {seen_ports[port]!r}")
                seen_ports.setdefault(port, vlan.name)

    def describe(self, intent: Intent, compilation: Compilation) -> str:
        assert isinstance(intent, VlanIntent)
        ports = len(intent.access)
        return f"VLAN {intent.id} {intent.subnet}, gateway {intent.gateway} ({intent.gateway_address}), " \
            f"{ports} access port{'s' if ports != 1 else ''}"

    def verify(self, intents: list[Intent], lab: LabView) -> list[Step]:
        """Every lab host of the VLAN reaches its gateway."""
        from engine.checks import Reach

        return [Reach(intent.name, intent.kind, tuple(lab.hosts_in(intent.id)), str(intent.gateway_address),
                      f"the gateway {intent.gateway_address}")
                for intent in intents if isinstance(intent, VlanIntent)]

    def lab_hosts(self, intents: list[Intent], lab: dict[str, str]) -> list[Host]:
        """A host behind each access port on a lab device: the k-th port of a VLAN gets the subnet's
        (k+2)-th address (the gateway has the first), default route via the gateway (CONTRACT §6)."""
        from engine.checks import Host, host_netns

        hosts = []
        for intent in intents:
            if not isinstance(intent, VlanIntent):
                continue
            subnet = intent.subnet
            for index, port in enumerate(intent.access):
                if port.device not in lab:
                    continue
                address = subnet.network_address + 2 + index
                if address >= subnet.broadcast_address:
                    raise TopologyError(f"VLAN {intent.id}: subnet {subnet} has no address left for the host "
                                        f"on {port}")
                hosts.append(Host(host_netns(port.device, port.interface), lab[port.device], port.interface,
                                  f"{address}/{subnet.prefixlen}", str(intent.gateway_address), intent.id))
        return hosts

    def compile(self, intents: list[Intent], build: Build) -> None:
        vlans = sorted((i for i in intents if isinstance(i, VlanIntent)), key=lambda v: v.id)
        for vlan in vlans:
            build.add_vlan(vlan)
        build.route_between_gateways(vlans)


def _meets(low: int, high: int, subnet: ipaddress.IPv4Network) -> bool:
    """Whether ``subnet`` has an address from ``low`` to ``high``: what IPv4Network.overlaps says of the
    network of those addresses, in two comparisons (its four containment tests are 2.4 us a VLAN)."""
    return low <= int(subnet.broadcast_address) and int(subnet.network_address) <= high


def _overlaps(vlans: list[VlanIntent], ctx: ParseContext) -> dict[str, list[VlanIntent]]:
    """For each VLAN, the VLANs written before it whose subnet overlaps its own (a sweep, not all pairs).

    Prefixes either nest or are disjoint, so in address order every prefix still open on the stack
    contains the next one."""
    position = {vlan.name: ctx.intent_path(vlan.name) for vlan in vlans}
    ordered = sorted(vlans, key=lambda v: (int(v.subnet.network_address), v.subnet.prefixlen))
    found: dict[str, list[VlanIntent]] = {}
    open_: list[VlanIntent] = []
    for vlan in ordered:
        start = int(vlan.subnet.network_address)
        while open_ and int(open_[-1].subnet.broadcast_address) < start:
            open_.pop()
        for other in open_:
            later, earlier = (vlan, other) if position[other.name] < position[vlan.name] else (other, vlan)
            found.setdefault(later.name, []).append(earlier)
        open_.append(vlan)
    for others in found.values():
        others.sort(key=lambda v: position[v.name])
    return found


KIND = VlanKind()
