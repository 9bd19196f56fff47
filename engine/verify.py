"""intent verify: prove each intent holds, by measuring real traffic, and report drift.

Pure planning and judging here; the traffic itself runs in the lab's host namespaces through a
``Measure`` function the caller provides (drivers.linux.traffic). For every qos_guarantee, in each
direction, the guaranteed flow (marked to fall in the class) runs while competing bulk flows share
its egress links without matching the class: the same host's unmarked traffic when the intent is
narrowed (DSCP, protocol, ports), and every other lab host whose path crosses the same links. It
passes when it gets at least the guaranteed rate, less the tolerance. For a qos_limit, traffic in
and out of the VLAN must stay at or under the cap, plus the tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from engine.compilation import Compilation
from engine.labspec import Host, LabSpec
from engine.model import Site
from engine.network import Network
from engine.units import format_bps
from intents.qos_guarantee import QosGuaranteeIntent, directional_hops
from intents.qos_limit import QosLimitIntent
from intents.vlan import VlanIntent

TOLERANCE = 0.10
GUARANTEED_PORT, BULK_PORT = 5201, 5301


@dataclass(frozen=True)
class Flow:
    name: str  # "guaranteed", "bulk from h-core1-eth3"
    source: Host
    destination: Host
    port: int
    protocol: str = "tcp"  # tcp | udp
    tos: int = 0  # the IP TOS byte (DSCP << 2)
    streams: int = 1
    udp_rate_bps: int = 0  # offered load for udp flows


@dataclass(frozen=True)
class Check:
    intent: str
    kind: str
    direction: str  # "VLAN 10 -> VLAN 20"
    expected_bps: int
    at_most: bool  # a cap (True) or a guarantee (False)
    measured: Flow
    competing: tuple[Flow, ...] = ()
    skipped: str = ""  # why this direction cannot be measured here


@dataclass
class Outcome:
    check: Check
    measured_bps: int | None
    ok: bool
    detail: str


@dataclass
class IntentResult:
    name: str
    kind: str
    ok: bool
    expected_bps: int
    measured_bps: int | None
    detail: str
    directions: list[Outcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "ok": self.ok, "expected_bps": self.expected_bps,
            "measured_bps": self.measured_bps, "detail": self.detail,
            "directions": [{"direction": o.check.direction, "ok": o.ok, "expected_bps": o.check.expected_bps,
                            "measured_bps": o.measured_bps, "detail": o.detail} for o in self.directions],
        }


Measure = Callable[[Check], dict[str, int]]  # flow name -> measured bits per second at the receiver


@runtime_checkable
class Traffic(Protocol):
    """A driver family that sends real traffic between lab hosts (Linux: ping and iperf3 in namespaces)."""

    def measure(self, check: Check, seconds: int) -> dict[str, int]:
        """Run the check's flows at once for ``seconds``; what each receiver got in bit/s, by flow name:
        {"guaranteed": 19_400_000, "bulk from h-acc1-eth3": 75_100_000}. Raises DriverError."""
        ...

    def reach(self, host: Host, address: str) -> bool:
        """True when ``host`` gets an answer from ``address`` ("10.10.0.1"): one ping, two seconds."""
        ...

    def emulated(self) -> bool:
        """True under a software-emulated machine (qemu), where the site's rates are scaled down."""
        ...


def plan_checks(site: Site, compilation: Compilation, spec: LabSpec) -> list[Check]:
    hosts: dict[int, list[Host]] = {}
    for host in spec.hosts:
        hosts.setdefault(host.vlan, []).append(host)
    vlans = {v.id: v for v in site.intents if isinstance(v, VlanIntent)}
    network = Network(site)
    checks: list[Check] = []
    for intent in site.intents:
        if isinstance(intent, QosGuaranteeIntent):
            for source, target in (intent.vlans, intent.vlans[::-1]):
                checks.append(_guarantee(intent, vlans[source], vlans[target], hosts, network, compilation))
        elif isinstance(intent, QosLimitIntent):
            others = [vid for vid in sorted(hosts) if vid != intent.vlan]
            for out in (True, False):
                mine = hosts[intent.vlan][0] if hosts.get(intent.vlan) else None
                other = hosts[others[0]][0] if others else None
                direction = f"out of VLAN {intent.vlan}" if out else f"into VLAN {intent.vlan}"
                if mine is None or other is None:
                    checks.append(Check(intent.name, intent.kind, direction, intent.rate_bps, True,
                                        _placeholder(), skipped="no lab host on both sides"))
                    continue
                sender, receiver = (mine, other) if out else (other, mine)
                checks.append(Check(intent.name, intent.kind, direction, intent.rate_bps, True,
                                    Flow("capped", sender, receiver, GUARANTEED_PORT, streams=4)))
    return checks


def _guarantee(intent: QosGuaranteeIntent, source: VlanIntent, target: VlanIntent, hosts: dict[int, list[Host]],
               network: Network, compilation: Compilation) -> Check:
    direction = f"VLAN {source.id} -> VLAN {target.id}"
    egress = [r for r in compilation.reservations if intent.name in r.intents]
    expected = min((intent.rate.on(r.capacity_bps) for r in egress), default=intent.rate.on(0))
    src = hosts[source.id][0] if hosts.get(source.id) else None
    dst = hosts[target.id][0] if hosts.get(target.id) else None
    if src is None or dst is None:
        missing = source.id if src is None else target.id
        return Check(intent.name, intent.kind, direction, expected, False, _placeholder(),
                     skipped=f"VLAN {missing} has no host in the lab (its access ports are on non-Linux devices)")
    protocol = "udp" if intent.protocol == 17 else "tcp"
    port = intent.ports[0] if intent.ports else GUARANTEED_PORT
    tos = (intent.dscp or 0) << 2
    measured = Flow("guaranteed", src, dst, port, protocol, tos, 1 if protocol == "udp" else 2,
                    int(expected * 1.5) if protocol == "udp" else 0)
    competing: list[Flow] = []
    narrowed = intent.dscp is not None or intent.protocol is not None or intent.ports is not None
    if narrowed:  # the same host's traffic that does not match the class
        competing.append(Flow(f"bulk from {src.netns} (unmarked)", src, dst, BULK_PORT, streams=8))
    path = {(device, link.index) for device, link in directional_hops(network, source, target)}
    for vid, members in sorted(hosts.items()):
        if vid in (source.id, target.id):
            continue
        other = members[0]
        if path & _host_path(network, vid, target):
            competing.append(Flow(f"bulk from {other.netns}", other, dst, BULK_PORT + vid, streams=8))
    return Check(intent.name, intent.kind, direction, expected, False, measured, tuple(competing))


def _host_path(network: Network, vid: int, target: VlanIntent) -> set[tuple[str, int]]:
    source = next(v for v in network.site.intents if isinstance(v, VlanIntent) and v.id == vid)
    return {(device, link.index) for device, link in directional_hops(network, source, target)}


def _placeholder() -> Flow:
    nowhere = Host("", "", "", "0.0.0.0/32", "0.0.0.0", 0)
    return Flow("none", nowhere, nowhere, 0)


def judge(check: Check, measured: dict[str, int] | None, tolerance: float = TOLERANCE) -> Outcome:
    if check.skipped:
        return Outcome(check, None, False, f"not measured: {check.skipped}")
    assert measured is not None
    got = measured.get(check.measured.name, 0)
    competing = ", ".join(f"{name} {format_bps(bps)}" for name, bps in sorted(measured.items())
                          if name != check.measured.name)
    against = f" against {competing}" if competing else " (nothing else shares this path)"
    if check.at_most:
        limit = int(check.expected_bps * (1 + tolerance))
        ok = got <= limit
        detail = f"{check.direction}: {format_bps(got)} {'within' if ok else 'OVER'} the cap of " \
                 f"{format_bps(check.expected_bps)} (+{tolerance:.0%})"
    else:
        floor = int(check.expected_bps * (1 - tolerance))
        ok = got >= floor
        detail = f"{check.direction}: {format_bps(got)} {'meets' if ok else 'BELOW'} the guarantee of " \
                 f"{format_bps(check.expected_bps)} (-{tolerance:.0%}){against}"
    return Outcome(check, got, ok, detail)


def summarise(outcomes: list[Outcome]) -> list[IntentResult]:
    results: dict[str, IntentResult] = {}
    for outcome in outcomes:
        check = outcome.check
        result = results.setdefault(check.intent, IntentResult(check.intent, check.kind, True, check.expected_bps,
                                                               None, ""))
        result.directions.append(outcome)
    for result in results.values():
        measured = [o.measured_bps for o in result.directions if o.measured_bps is not None]
        at_most = result.directions[0].check.at_most
        result.ok = all(o.ok for o in result.directions)
        result.measured_bps = (max(measured) if at_most else min(measured)) if measured else None
        result.expected_bps = min(o.check.expected_bps for o in result.directions)
        result.detail = "; ".join(o.detail for o in result.directions)
    return list(results.values())
