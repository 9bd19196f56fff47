"""intent verify: prove each intent holds, by measuring real traffic, and report drift.

Pure planning and judging here; the traffic itself runs in the lab's host namespaces through a
``Measure`` function the caller provides (drivers.linux.traffic). For every qos_guarantee, in each
direction, the guaranteed flow (marked to fall in the class) runs while competing bulk flows share
its egress links without matching the class: the same host's unmarked traffic when the intent is
narrowed (DSCP, protocol, ports), and every other lab host whose path crosses the same links. It
passes when it gets at least the guaranteed rate, less the tolerance. For a qos_limit, traffic in
and out of the VLAN must stay at or under the cap, plus the tolerance. For a qos_share, a host of
two listed VLANs each saturates an egress interface where they share, towards the same host: what
each gets must stand in the ratio of the weights, within the tolerance. An isolate is proven by
probes in each direction (ICMP and a TCP connect to a listener the probe starts) that must fail,
and by each allowed exception, which must get through.
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
from intents.isolate import IsolateIntent, allowed_text
from intents.qos_guarantee import QosGuaranteeIntent, directional_hops
from intents.qos_limit import QosLimitIntent
from intents.qos_share import QosShareIntent
from intents.vlan import VlanIntent

TOLERANCE = 0.10
GUARANTEED_PORT, BULK_PORT = 5201, 5301
SHARE_PORT = 5401
CLOSED_PROBE_PORT = 5999  # isolate: a TCP port the probe listens on, which the isolation must cut


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
    ratio: float | None = None  # qos_share: measured / competing[0] must be this, within the tolerance


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
    probes: list[dict[str, Any]] = field(default_factory=list)  # isolate: each probe and what it found

    def as_dict(self) -> dict[str, Any]:
        result = {
            "name": self.name, "kind": self.kind, "ok": self.ok, "expected_bps": self.expected_bps,
            "measured_bps": self.measured_bps, "detail": self.detail,
            "directions": [{"direction": o.check.direction, "ok": o.ok, "expected_bps": o.check.expected_bps,
                            "measured_bps": o.measured_bps, "detail": o.detail} for o in self.directions],
        }
        if self.probes:
            result["probes"] = self.probes
        return result


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

    def probe(self, probe: Probe) -> bool:
        """isolate: True when ``probe.source`` reaches ``probe.destination`` by the probe's protocol: a ping, a
        TCP connect to a listener it starts on ``probe.port``, or a UDP datagram that listener echoes."""
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
        elif isinstance(intent, QosShareIntent):
            checks.append(_share(intent, hosts, vlans, compilation))
    return checks


def _share(intent: QosShareIntent, hosts: dict[int, list[Host]], vlans: dict[int, VlanIntent],
           compilation: Compilation) -> Check:
    """Two listed VLANs' hosts saturate the first egress interface where they share, towards one host."""
    by_subnet = {str(v.subnet): vid for vid, v in vlans.items()}
    for device, model in sorted(compilation.models.items()):
        for policy in model.egress:
            mine = [share for share in policy.shares if share.intent == intent.name and hosts.get(share.vlan)]
            for first_index, first in enumerate(mine):
                for second in mine[first_index + 1:]:
                    common = [by_subnet[d] for d in first.destinations if d in second.destinations and
                              hosts.get(by_subnet[d])]
                    if not common:
                        continue
                    target = hosts[common[0]][0]
                    left = policy.default_rate_bps
                    expected = left * first.weight // (first.weight + second.weight)
                    direction = f"VLAN {first.vlan} : VLAN {second.vlan} to VLAN {common[0]} on {device} {policy.interface}"
                    flows = [Flow(f"VLAN {share.vlan} from {hosts[share.vlan][0].netns}", hosts[share.vlan][0], target,
                                  SHARE_PORT + share.vlan, streams=8) for share in (first, second)]
                    return Check(intent.name, intent.kind, direction, expected, False, flows[0], (flows[1],),
                                 ratio=first.weight / second.weight)
    return Check(intent.name, intent.kind, "shares", 0, False, _placeholder(),
                 skipped="no egress interface where two listed VLANs share has lab hosts on both and at the far end")


@dataclass(frozen=True)
class Probe:
    """isolate: one attempt to reach a host across the isolation, and whether it must get through."""

    intent: str
    direction: str  # "VLAN 30 -> VLAN 10"
    source: Host
    destination: Host
    protocol: str  # icmp | tcp | udp
    port: int  # 0 for icmp
    expect: bool  # True: an allowed exception, must pass; False: must be cut
    skipped: str = ""

    @property
    def what(self) -> str:
        return self.protocol if self.protocol == "icmp" else f"{self.protocol} {self.port}"


PROBED = {1: "icmp", 6: "tcp", 17: "udp"}


def plan_probes(site: Site, spec: LabSpec) -> list[Probe]:
    """For every isolate, each direction: ICMP and a TCP connect that must fail, and each exception."""
    hosts: dict[int, list[Host]] = {}
    for host in spec.hosts:
        hosts.setdefault(host.vlan, []).append(host)
    probes: list[Probe] = []
    for intent in site.intents:
        if not isinstance(intent, IsolateIntent):
            continue
        for source, target in (intent.vlans, intent.vlans[::-1]):
            direction = f"VLAN {source} -> VLAN {target}"
            if not hosts.get(source) or not hosts.get(target):
                missing = source if not hosts.get(source) else target
                nowhere = _placeholder().source
                probes.append(Probe(intent.name, direction, nowhere, nowhere, "icmp", 0, False,
                                    skipped=f"VLAN {missing} has no host in the lab"))
                continue
            src, dst = hosts[source][0], hosts[target][0]
            icmp_allowed = any(a.protocol == 1 for a in intent.allow)
            tcp_open = any(a.protocol == 6 and (a.ports is None or a.ports[0] <= CLOSED_PROBE_PORT <= a.ports[1])
                           for a in intent.allow)
            if not icmp_allowed:
                probes.append(Probe(intent.name, direction, src, dst, "icmp", 0, False))
            if not tcp_open:
                probes.append(Probe(intent.name, direction, src, dst, "tcp", CLOSED_PROBE_PORT, False))
            for allowed in intent.allow:
                protocol = PROBED.get(allowed.protocol)
                port = allowed.ports[0] if allowed.ports else (GUARANTEED_PORT if protocol in ("tcp", "udp") else 0)
                if protocol is None:
                    probes.append(Probe(intent.name, direction, src, dst, str(allowed.protocol), port, True,
                                        skipped=f"no probe for {allowed_text(allowed)}"))
                else:
                    probes.append(Probe(intent.name, direction, src, dst, protocol, port, True))
    return probes


def judge_isolation(intent: IsolateIntent, probes: list[Probe], passed: list[bool | None]) -> IntentResult:
    """An isolation holds when every cut probe failed and every exception got through."""
    rows, parts, ok = [], [], True
    measured = 0
    for probe, through in zip(probes, passed, strict=True):
        if probe.skipped or through is None:
            rows.append({"direction": probe.direction, "probe": probe.what, "expect": "pass" if probe.expect else "cut",
                         "ok": False, "detail": f"not measured: {probe.skipped}"})
            parts.append(f"{probe.direction}: {probe.what} not measured ({probe.skipped})")
            ok = False
            continue
        measured += 1
        good = through == probe.expect
        ok = ok and good
        seen = "gets through" if through else "is cut"
        verdict = "" if good else (" (MUST BE CUT)" if not probe.expect else " (MUST PASS: an allowed exception)")
        rows.append({"direction": probe.direction, "probe": probe.what, "expect": "pass" if probe.expect else "cut",
                     "ok": good, "detail": f"{probe.what} {seen}"})
        parts.append(f"{probe.direction}: {probe.what} {seen}{verdict}")
    detail = "; ".join(parts) if parts else "not measured: no probe"
    return IntentResult(intent.name, intent.kind, ok and measured > 0, 0, None, detail, probes=rows)


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
    if check.ratio is not None:
        other = measured.get(check.competing[0].name, 0)
        got_ratio = got / other if other else float("inf")
        ok = other > 0 and abs(got_ratio / check.ratio - 1) <= tolerance
        detail = f"{check.direction}: {format_bps(got)} : {format_bps(other)} = {got_ratio:.2f}:1, " \
                 f"{'within' if ok else 'NOT within'} {tolerance:.0%} of the weights' {check.ratio:g}:1"
        return Outcome(check, got, ok, detail)
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
