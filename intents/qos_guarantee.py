"""``qos_guarantee``: a guaranteed rate between two VLANs, both directions, every equal-cost path.

Traffic from VLAN A to VLAN B runs from each access port of A over the L2 path to A's gateway,
over the routed path to B's gateway, and over the L2 path to each access port of B. Every egress
interface on every equal-cost path of that journey, in both directions, gets a class with the
full rate (hashing may put all of it on one path) and a reservation checked against the link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.device import Match
from engine.errors import TopologyError
from engine.frozen import frozen
from engine.model import Intent, Link
from engine.units import Rate, format_bps, parse_rate
from intents.base import JsonPath, ParseContext, load_schema
from intents.match import parse_dscp, parse_ports, parse_protocol
from intents.vlan import VlanIntent

if TYPE_CHECKING:
    from engine.build import Build, Segment
    from engine.checks import Check, Host, LabView, Step
    from engine.compilation import Compilation
    from engine.model import Site
    from engine.network import Network


@frozen
class QosGuaranteeIntent(Intent):
    """A qos_guarantee intent: a rate reserved for traffic between two VLANs, in both directions."""

    vlans: tuple[int, int]
    rate: Rate
    ceil: Rate | None = None
    priority: bool = False
    dscp: int | None = None
    protocol: int | None = None
    ports: tuple[int, int] | None = None
    queue: str = "fq_codel"


class QosGuaranteeKind:
    key = "qos_guarantee"
    order = 10
    schema = load_schema("intents", "qos_guarantee.schema.json")

    def parse(self, name: str, body: dict[str, Any], path: JsonPath, ctx: ParseContext) -> Intent | None:
        ok = True
        rate = ceil = None
        try:
            rate = parse_rate(body["rate"])
        except ValueError as exc:
            ctx.error((*path, "rate"), str(exc))
            ok = False
        if "ceil" in body:
            try:
                ceil = parse_rate(body["ceil"])
            except ValueError as exc:
                ctx.error((*path, "ceil"), str(exc))
                ok = False
        if rate and ceil and rate.bps is not None and ceil.bps is not None and ceil.bps < rate.bps:
            ctx.error((*path, "ceil"), f"ceil {ceil} is below the guaranteed rate {rate}")
            ok = False
        priority = bool(body.get("priority", False))
        if priority and ceil is not None:
            ctx.error((*path, "ceil"), "a priority guarantee is capped at its rate; remove ceil or set priority: false")
            ok = False
        match = body.get("match", {})
        dscp = protocol = None
        ports: tuple[int, int] | None = None
        try:
            dscp = parse_dscp(match["dscp"]) if "dscp" in match else None
        except ValueError as exc:
            ctx.error((*path, "match", "dscp"), str(exc))
            ok = False
        try:
            protocol = parse_protocol(match["protocol"]) if "protocol" in match else None
        except ValueError as exc:
            ctx.error((*path, "match", "protocol"), str(exc))
            ok = False
        try:
            ports = parse_ports(match["ports"]) if "ports" in match else None
        except ValueError as exc:
            ctx.error((*path, "match", "ports"), str(exc))
            ok = False
        if ports is not None and protocol not in (6, 17, 132):
            ctx.error((*path, "match", "ports"), "ports need a protocol with ports: add protocol: tcp, udp or sctp")
            ok = False
        vlans = tuple(end["vlan"] for end in body["between"])
        if vlans[0] == vlans[1]:
            ctx.error((*path, "between"), f"both ends are VLAN {vlans[0]}: a guarantee runs between two different VLANs")
            ok = False
        if not ok or rate is None:
            return None
        return QosGuaranteeIntent(
            name, self.key, (vlans[0], vlans[1]), rate, ceil, priority, dscp, protocol, ports,
            body.get("queue", "fq_codel"),
        )

    def check(self, intents: list[Intent], site: Site, ctx: ParseContext) -> None:
        known = ctx.declared.get("vlan", set())
        for intent in intents:
            assert isinstance(intent, QosGuaranteeIntent)
            for side, vlan in enumerate(intent.vlans):
                if vlan not in known:
                    ctx.error(
                        (*ctx.intent_path(intent.name), "between", side, "vlan"),
                        f"VLAN {vlan} is not defined by any vlan intent in this site",
                    )

    def describe(self, intent: Intent, compilation: Compilation) -> str:
        assert isinstance(intent, QosGuaranteeIntent)
        count = compilation.reservations_per_intent.get(intent.name, 0)
        style = "strict priority (capped at its rate)" if intent.priority else "guaranteed"
        return f"{intent.rate} {style} between VLAN {intent.vlans[0]} and VLAN {intent.vlans[1]}, both directions, " \
            f"on {count} egress interfaces"

    def verify(self, intents: list[Intent], lab: LabView) -> list[Step]:
        """In each direction the guaranteed flow runs against bulk flows that share its links."""
        vlans = {v.id: v for v in lab.site.intents if isinstance(v, VlanIntent)}
        steps: list[Step] = []
        for intent in intents:
            assert isinstance(intent, QosGuaranteeIntent)
            for source, target in (intent.vlans, intent.vlans[::-1]):
                steps.append(_guarantee_check(intent, vlans[source], vlans[target], lab))
        return steps

    def compile(self, intents: list[Intent], build: Build) -> None:
        for intent in intents:
            assert isinstance(intent, QosGuaranteeIntent)
            first, second = (build.vlans[v] for v in intent.vlans)
            for source, target in ((first, second), (second, first)):
                match = Match(
                    str(source.subnet), str(target.subnet), intent.dscp, intent.protocol,
                    (intent.ports,) if intent.ports else (),
                )
                for device, link in sorted(directional_hops(build.network, source, target), key=lambda h: (h[0], h[1].index)):
                    capacity = link.bandwidth_bps
                    rate = intent.rate.on(capacity)
                    wanted = intent.ceil.on(capacity) if intent.ceil else capacity
                    if not intent.priority and wanted > capacity:
                        build.notes[device].add(f"{intent.name}: ceil {intent.ceil} is above the {format_bps(capacity)} "
                                                f"of {link.local(device)}: capped at the link bandwidth there")
                    ceil = rate if intent.priority else min(wanted, capacity)
                    build.add_class(device, link, intent.name, rate, max(ceil, rate), intent.priority, intent.queue, match)


def _guarantee_check(intent: QosGuaranteeIntent, source: VlanIntent, target: VlanIntent, lab: LabView) -> Check:
    """One direction: the guaranteed flow, marked to fall in the class, against competing bulk flows that
    share its egress links without matching the class (the same host's unmarked traffic when the
    intent is narrowed, and every other lab host whose path crosses the same links)."""
    from engine.checks import BULK_PORT, GUARANTEED_PORT, NO_FLOW, Check, Flow

    direction = f"VLAN {source.id} -> VLAN {target.id}"
    egress = [r for r in lab.compilation.reservations if intent.name in r.intents]
    expected = min((intent.rate.on(r.capacity_bps) for r in egress), default=intent.rate.on(0))
    src = next(iter(lab.hosts_in(source.id)), None)
    dst = next(iter(lab.hosts_in(target.id)), None)
    if src is None or dst is None:
        missing = source.id if src is None else target.id
        return Check(intent.name, intent.kind, direction, expected, False, NO_FLOW,
                     skipped=f"VLAN {missing} has no host in the lab (its access ports are on non-lab devices)")
    protocol = "udp" if intent.protocol == 17 else "tcp"
    port = intent.ports[0] if intent.ports else GUARANTEED_PORT
    tos = (intent.dscp or 0) << 2
    measured = Flow("guaranteed", src, dst, port, protocol, tos, 1 if protocol == "udp" else 2,
                    int(expected * 1.5) if protocol == "udp" else 0)
    competing: list[Flow] = []
    narrowed = intent.dscp is not None or intent.protocol is not None or intent.ports is not None
    if narrowed:  # the same host's traffic that does not match the class
        competing.append(Flow(f"bulk from {src.netns} (unmarked)", src, dst, BULK_PORT, streams=8))
    path = {(device, link.index) for device, link in directional_hops(lab.network, source, target)}
    vlans = {v.id: v for v in lab.site.intents if isinstance(v, VlanIntent)}
    for vid in sorted({host.vlan for host in lab.hosts} - {source.id, target.id}):
        other: Host = lab.hosts_in(vid)[0]
        crossing = {(device, link.index) for device, link in directional_hops(lab.network, vlans[vid], target)}
        if path & crossing:
            competing.append(Flow(f"bulk from {other.netns}", other, dst, BULK_PORT + vid, streams=8))
    return Check(intent.name, intent.kind, direction, expected, False, measured, tuple(competing))


def directional_hops(network: Network, source: Segment, target: Segment) -> set[tuple[str, Link]]:
    """(sending device, link) for every hop of every equal-cost path from ``source`` hosts to ``target`` hosts."""
    hops: set[tuple[str, Link]] = set()
    try:
        for port in source.access:
            hops.update(network.path_links(port.device, source.gateway))
        if source.gateway != target.gateway:
            hops.update(network.path_links(source.gateway, target.gateway))
        for port in target.access:
            hops.update((link.other(sender).device, link) for sender, link in network.path_links(port.device, target.gateway))
    except TopologyError as exc:
        raise TopologyError(f"VLAN {source.id} to VLAN {target.id}: {exc}") from None
    return hops


KIND = QosGuaranteeKind()
