"""How sentences say a ``qos_share`` intent: ``share the leftover bandwidth between vlan 20 and vlan 30 at 3:1`` /
``partager la bande passante restante entre le VLAN 20 et le VLAN 30 à 3:1``."""

from __future__ import annotations

from typing import Any

from engine.words import Clauses, KindPhrases, vlan_id


def build(said: Clauses) -> tuple[dict[str, Any], str]:
    vlans = said.get("share_vlans")
    if vlans is not None:
        ids = [vlan_id(said, part) for part in vlans.parts]
        ratio = said.need("ratio", "the ratio (add: at 3:1 / à 3:1)")
        weights = [int(w) for w in str(ratio.value).split(":")]
        if len(weights) != len(ids):
            raise said.error(ratio, f"{len(weights)} weights for {len(ids)} VLANs: give one weight per VLAN")
        pairs = list(zip(ids, weights, strict=True))
        where = [ratio] * len(pairs)
    else:
        found = [s for s in said.said if s.field == "weight"]
        pairs = [(vlan_id(said, s.parts[0]), int(s.parts[1].value)) for s in found]
        where = found
    for (vid, weight), place in zip(pairs, where, strict=True):
        if not 1 <= weight <= 100:
            raise said.error(place, "a weight is 1-100")
        if [v for v, _ in pairs].count(vid) > 1:
            raise said.error(place, f"VLAN {vid} is given twice")
    description = said.get("description")
    name = "share-" + "-".join(str(v) for v, _ in pairs)
    return {"weights": [{"vlan": v, "weight": w} for v, w in pairs]}, \
        f"{description.value}-{name}" if description else name


PHRASES = KindPhrases("qos_share", build)
