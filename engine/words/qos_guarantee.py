"""How sentences say a ``qos_guarantee`` intent: ``guarantee 100Mbps for video between VLAN 10 and 20`` /
``garantir 100 Mb/s pour la voix entre le VLAN 10 et le VLAN 40 en priorité stricte``."""

from __future__ import annotations

from typing import Any

from engine.words import Clauses, KindPhrases, vlan_id
from intents.match import parse_dscp, parse_ports, parse_protocol
from intents.qos_guarantee import KIND


def build(said: Clauses) -> tuple[dict[str, Any], str]:
    between = said.need("between", "between which VLANs (add: between VLAN 10 and 20 / entre VLAN 10 et 20)")
    first, second = (vlan_id(said, part) for part in between.parts)
    if first == second:
        raise said.error(between.parts[1], f"both ends are VLAN {first}: a guarantee runs between two VLANs")
    rate = said.need("rate", "the guaranteed rate (add: 100Mbps)")
    body: dict[str, Any] = {"between": [{"vlan": first}, {"vlan": second}], "rate": rate.value}
    ceil, priority = said.get("ceil"), said.get("priority")
    if ceil is not None:
        if priority is not None:
            raise said.error(ceil, "a strict-priority guarantee is capped at its rate: it cannot borrow")
        body["ceil"] = ceil.value
    if priority is not None:
        body["priority"] = True
    match: dict[str, Any] = {}
    dscp, protocol, ports = said.get("dscp"), said.get("protocol"), said.get("ports")
    for found, check in ((dscp, parse_dscp), (protocol, parse_protocol)):
        if found is not None:
            try:
                check(found.value)
            except ValueError as exc:
                raise said.error(found, str(exc)) from None
            match[found.field] = found.value
    if ports is not None:
        values = [part.value for part in ports.parts]
        try:
            low, high = parse_ports("-".join(str(v) for v in values))
        except ValueError as exc:
            raise said.error(ports, str(exc).split(": ", 1)[-1]) from None
        if protocol is None or protocol.value not in ("tcp", "udp", "sctp", 6, 17, 132):
            raise said.error(ports, "ports need a protocol with ports: say tcp, udp or sctp")
        match["ports"] = low if low == high else f"{low}-{high}"
    if match:
        body["match"] = match
    queue = said.get("queue")
    if queue is not None:
        body["queue"] = queue.value
    description = said.get("description")
    return body, f"{description.value if description else 'guarantee'}-{first}-{second}"


# The leaf queues the kind's schema allows, as the grammar's queue_name rule.
_QUEUES = KIND.schema["properties"]["queue"]["enum"]
PHRASES = KindPhrases("qos_guarantee", build, extra_rules="!queue_name: " + " | ".join(
    f'"{name}"i' for name in sorted(_QUEUES, key=lambda n: (-len(n), n))) + "\n")
