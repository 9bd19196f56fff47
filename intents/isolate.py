"""``isolate``: no routed traffic between two VLANs, either way, except the listed exceptions.

Compiles at every device that routes between the two VLANs: both gateways and every device on a
routed path between them. Each gets one ``Isolation`` per direction; platforms render it as what
they have (Linux: an nftables table where the kernel has nftables, else policy-routing ``prohibit``
rules; IOS, EOS, NX-OS: a named ACL inbound on each VLAN's SVI, and on a transit router between the
gateways the ACL ``INTENT-ISOLATE-TRANSIT`` inbound on the routed ports the pair's traffic arrives on;
Junos: a firewall filter on the irb unit, and on a transit router's routed units). A ``qos_guarantee`` between two isolated
VLANs contradicts the isolation and is refused, naming both intents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.device import Allowed, Isolation
from engine.frozen import frozen
from engine.model import Intent
from intents.base import JsonPath, ParseContext, load_schema
from intents.match import parse_port_list, parse_protocol

if TYPE_CHECKING:
    from engine.build import Build
    from engine.checks import LabView, Step
    from engine.compilation import Compilation
    from engine.model import Site

PORTED = (6, 17, 132)  # protocols with ports: tcp, udp, sctp
NAMES = {1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 132: "sctp"}


@frozen
class IsolateIntent(Intent):
    """An isolate intent: no routed traffic either way between two VLANs, except what ``allow`` lets through."""

    vlans: tuple[int, int]
    allow: tuple[Allowed, ...] = ()


def allowed_text(allowed: Allowed) -> str:
    name = NAMES.get(allowed.protocol, str(allowed.protocol))
    if allowed.ports is None:
        return name
    low, high = allowed.ports
    return f"{name} {low}" if low == high else f"{name} {low}-{high}"


class IsolateKind:
    key = "isolate"
    order = 5  # after vlan, before the QoS kinds (qos_share leaves isolated pairs out)
    schema = load_schema("intents", "isolate.schema.json")

    def parse(self, name: str, body: dict[str, Any], path: JsonPath, ctx: ParseContext) -> Intent | None:
        ok = True
        vlans = tuple(end["vlan"] for end in body["between"])
        if vlans[0] == vlans[1]:
            ctx.error((*path, "between"), f"both ends are VLAN {vlans[0]}: isolate separates two different VLANs")
            ok = False
        allow: list[Allowed] = []
        for index, entry in enumerate(body.get("allow", [])):
            where = (*path, "allow", index)
            try:
                protocol = parse_protocol(entry["protocol"])
            except ValueError as exc:
                ctx.error((*where, "protocol"), str(exc))
                ok = False
                continue
            if protocol == 0:  # IPv6 hop-by-hop, and "any protocol" to an ip rule or an IOS ACL: never an exception
                ctx.error((*where, "protocol"), "protocol 0 cannot be an exception (to policy routing and some ACLs "
                                                "it means every protocol): name the protocol, e.g. tcp, udp, icmp")
                ok = False
                continue
            ranges: list[tuple[int, int] | None] = [None]
            if "ports" in entry:
                try:
                    ranges = list(parse_port_list(entry["ports"]))
                except ValueError as exc:
                    ctx.error((*where, "ports"), str(exc))
                    ok = False
                    continue
                if protocol not in PORTED:
                    ctx.error((*where, "ports"), "ports need a protocol with ports: tcp, udp or sctp")
                    ok = False
                    continue
            allow += [Allowed(protocol, ports) for ports in ranges]  # a port list: one exception each
        if not ok:
            return None
        return IsolateIntent(name, self.key, (vlans[0], vlans[1]), tuple(dict.fromkeys(allow)))

    def check(self, intents: list[Intent], site: Site, ctx: ParseContext) -> None:
        from intents.qos_guarantee import QosGuaranteeIntent

        known = ctx.declared.get("vlan", set())
        pairs: dict[frozenset[int], str] = {}
        for intent in intents:
            assert isinstance(intent, IsolateIntent)
            path = ctx.intent_path(intent.name)
            for side, vlan in enumerate(intent.vlans):
                if vlan not in known:
                    ctx.error((*path, "between", side, "vlan"), f"VLAN {vlan} is not defined by any vlan intent in this site")
            pair = frozenset(intent.vlans)
            if pair in pairs:
                ctx.error((*path, "between"), f"VLAN {intent.vlans[0]} and VLAN {intent.vlans[1]} are already isolated "
                                              f"by intent {pairs[pair]!r}")
            pairs.setdefault(pair, intent.name)
        for other in site.intents:
            if isinstance(other, QosGuaranteeIntent) and frozenset(other.vlans) in pairs:
                ctx.error((*ctx.intent_path(other.name), "between"),
                          f"qos_guarantee {other.name!r} guarantees traffic between VLAN {other.vlans[0]} and VLAN "
                          f"{other.vlans[1]}, which isolate {pairs[frozenset(other.vlans)]!r} forbids; remove one "
                          "of the two intents")

    def describe(self, intent: Intent, compilation: Compilation) -> str:
        assert isinstance(intent, IsolateIntent)
        devices = sum(1 for model in compilation.models.values() if any(i.intent == intent.name for i in model.isolations))
        allowed = f", except {', '.join(allowed_text(a) for a in intent.allow)}" if intent.allow else ""
        return f"no routed traffic between VLAN {intent.vlans[0]} and VLAN {intent.vlans[1]}, either way{allowed}; " \
            f"enforced on {devices} device{'s' if devices != 1 else ''}"

    def verify(self, intents: list[Intent], lab: LabView) -> list[Step]:
        """Each direction: ICMP and a TCP connect that must be cut, and each allowed exception, which must pass."""
        from engine.checks import CLOSED_PROBE_PORT, GUARANTEED_PORT, NOWHERE, Probe

        probes: list[Step] = []
        for intent in intents:
            assert isinstance(intent, IsolateIntent)
            for source, target in (intent.vlans, intent.vlans[::-1]):
                direction = f"VLAN {source} -> VLAN {target}"
                if not lab.hosts_in(source) or not lab.hosts_in(target):
                    missing = source if not lab.hosts_in(source) else target
                    probes.append(Probe(intent.name, self.key, direction, NOWHERE, NOWHERE, "icmp", 0, False,
                                        skipped=f"VLAN {missing} has no host in the lab"))
                    continue
                src, dst = lab.hosts_in(source)[0], lab.hosts_in(target)[0]
                icmp_allowed = any(a.protocol == 1 for a in intent.allow)
                tcp_open = any(a.protocol == 6 and (a.ports is None or a.ports[0] <= CLOSED_PROBE_PORT <= a.ports[1])
                               for a in intent.allow)
                udp_open = any(a.protocol == 17 and (a.ports is None or a.ports[0] <= CLOSED_PROBE_PORT <= a.ports[1])
                               for a in intent.allow)
                if not icmp_allowed:
                    probes.append(Probe(intent.name, self.key, direction, src, dst, "icmp", 0, False))
                if not tcp_open:
                    probes.append(Probe(intent.name, self.key, direction, src, dst, "tcp", CLOSED_PROBE_PORT, False))
                if icmp_allowed and tcp_open:
                    # ICMP and TCP are exceptions: what is cut is proved over UDP, or not at all (said so)
                    probes.append(Probe(intent.name, self.key, direction, src, dst, "udp", CLOSED_PROBE_PORT, False,
                                        skipped="" if not udp_open else
                                        "ICMP, TCP and UDP are all exceptions: no probe can show what is cut"))
                for allowed in intent.allow:
                    protocol = PROBED.get(allowed.protocol)
                    port = allowed.ports[0] if allowed.ports else (GUARANTEED_PORT if protocol in ("tcp", "udp") else 0)
                    if protocol is None:
                        probes.append(Probe(intent.name, self.key, direction, src, dst, str(allowed.protocol), port, True,
                                            skipped=f"no probe for {allowed_text(allowed)}"))
                    else:
                        probes.append(Probe(intent.name, self.key, direction, src, dst, protocol, port, True))
        return probes

    def compile(self, intents: list[Intent], build: Build) -> None:
        for intent in intents:
            assert isinstance(intent, IsolateIntent)
            first, second = (build.vlans[v] for v in intent.vlans)
            gateways = {first.gateway, second.gateway}
            routers = set(gateways)
            arrivals: dict[tuple[str, int], set[str]] = {}  # (transit router, source VLAN) -> where it arrives
            if first.gateway != second.gateway:
                for source, target in ((first, second), (second, first)):
                    for sender, link in build.network.path_links(source.gateway, target.gateway):
                        routers.add(sender)
                        receiver = link.other(sender)
                        if receiver.device not in gateways:
                            arrivals.setdefault((receiver.device, source.id), set()).add(receiver.interface)
            for device in sorted(routers):
                for source, target in ((first, second), (second, first)):
                    build.add_isolation(device, Isolation(intent.name, source.id, str(source.subnet), target.id,
                                                          str(target.subnet), intent.allow,
                                                          build.class_minor(intent.name),
                                                          tuple(sorted(arrivals.get((device, source.id), ())))))


PROBED = {1: "icmp", 6: "tcp", 17: "udp"}  # the protocols a probe can try
KIND = IsolateKind()
