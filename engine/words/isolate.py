"""How sentences say an ``isolate`` intent: ``isolate the guest vlan 30 from vlan 10 except udp port 53`` /
``isoler le VLAN 30 du VLAN 10 sauf udp port 53``."""

from __future__ import annotations

from typing import Any

from engine.words import Clauses, KindPhrases, Part, vlan_id
from intents.match import parse_ports


def build(said: Clauses) -> tuple[dict[str, Any], str]:
    pair = said.get("between")
    parts = pair.parts if pair is not None else tuple(s.parts[0] for s in said.said if s.field == "vlan")
    first, second = (vlan_id(said, part) for part in parts)
    if first == second:
        raise said.error(parts[1], f"both sides are VLAN {first}: isolation is between two VLANs")
    body: dict[str, Any] = {"between": [{"vlan": first}, {"vlan": second}]}
    allow = said.get("allow")
    if allow is not None:
        body["allow"] = [_exception(said, part) for part in allow.parts]
    description = said.get("description")
    return body, f"isolate-{description.value}-{first}-{second}" if description else f"isolate-{first}-{second}"


def _exception(said: Clauses, exception: Part) -> dict[str, Any]:
    protocol, *ports = exception.value
    rule: dict[str, Any] = {"protocol": protocol.value}
    if ports:
        try:
            low, high = parse_ports("-".join(str(p.value) for p in ports))
        except ValueError as exc:
            raise said.error(exception, str(exc).split(": ", 1)[-1]) from None
        if protocol.value not in ("tcp", "udp", "sctp"):
            raise said.error(exception, "ports need a protocol with ports: say tcp, udp or sctp")
        rule["ports"] = low if low == high else f"{low}-{high}"
    return rule


PHRASES = KindPhrases("isolate", build)
