"""How sentences say a ``vlan`` intent: ``create vlan 50 named printers with subnet 10.50.0.0/24, gateway
core1 and access ports acc1:eth5`` / ``créer le VLAN 50 nommé imprimantes, sous-réseau ...``."""

from __future__ import annotations

from typing import Any

from engine.words import Clauses, KindPhrases, vlan_id


def build(said: Clauses) -> tuple[dict[str, Any], str]:
    vid = vlan_id(said, said.need("vlan", "which VLAN"))
    named, description = said.get("vlan_name"), said.get("description")
    if named and description:
        raise said.error(named, f"the VLAN is already called {description.value!r}: name it once")
    subnet = said.need("subnet", "the subnet (add: subnet 10.50.0.0/24 / sous-réseau 10.50.0.0/24)")
    gateway = said.need("gateway", "the gateway (add: gateway core1 / passerelle core1)")
    body: dict[str, Any] = {"id": vid}
    name = named or description
    if name is not None:
        body["name"] = name.value
    body["subnet"] = subnet.value
    body["gateway"] = gateway.value
    access = said.get("access")
    if access is not None:
        ports = [part.value for part in access.parts]
        for index, part in enumerate(access.parts):
            if part.value in ports[:index]:
                raise said.error(part, "this port is already in the list")
        body["access"] = ports
    return body, name.value if name is not None else f"vlan{vid}"


PHRASES = KindPhrases("vlan", build)
