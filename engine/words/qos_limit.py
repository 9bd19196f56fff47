"""How sentences say a ``qos_limit`` intent: ``cap the guest vlan 30 at 20Mbps`` / ``limiter le VLAN 30 à 20 Mb/s``."""

from __future__ import annotations

from typing import Any

from engine.words import Clauses, KindPhrases, vlan_id


def build(said: Clauses) -> tuple[dict[str, Any], str]:
    vid = vlan_id(said, said.need("vlan", "which VLAN"))
    rate = said.need("cap", "the cap (add: at 20Mbps / à 20 Mb/s)")
    description = said.get("description")
    name = f"cap-{description.value}-vlan{vid}" if description else f"cap-vlan{vid}"
    return {"vlan": vid, "rate": rate.value}, name


PHRASES = KindPhrases("qos_limit", build)
