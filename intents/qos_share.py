"""``qos_share``: what the guarantees leave on an egress interface, shared between VLANs by weight.

A VLAN's traffic is what its hosts send to other VLANs (matched by source prefix). Every egress
interface on the routed journeys of two or more of the listed VLANs (to every other VLAN they
may reach, isolated pairs left out) gets one share class per listed VLAN there: Linux DRR classes
where the kernel has ``drr``, else HTB classes with rates in proportion and ``ceil`` = the link
(probed at plan time, the plan says which); IOS ``bandwidth remaining ratio``, NX-OS ``bandwidth
remaining percent``, EOS queue ``bandwidth percent``, Junos scheduler ``transmit-rate percent``.
Traffic of VLANs that are not listed shares as if it had weight 1 (on the Linux HTB fallback it keeps
8 kbit/s and what the listed VLANs leave: README "qos_share").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import TopologyError
from engine.frozen import frozen
from engine.model import Intent
from intents.base import JsonPath, ParseContext, load_schema

if TYPE_CHECKING:
    from engine.build import Build
    from engine.checks import Check, LabView, Step
    from engine.compilation import Compilation
    from engine.model import Site


@frozen
class QosShareIntent(Intent):
    """A qos_share intent: what the guarantees leave of a link, shared between VLANs by weight."""

    weights: tuple[tuple[int, int], ...]  # (vlan, weight), in the order written


class QosShareKind:
    key = "qos_share"
    order = 30
    schema = load_schema("intents", "qos_share.schema.json")

    def parse(self, name: str, body: dict[str, Any], path: JsonPath, ctx: ParseContext) -> Intent | None:
        weights: list[tuple[int, int]] = []
        seen: set[int] = set()
        ok = True
        for index, entry in enumerate(body["weights"]):
            if entry["vlan"] in seen:
                ctx.error((*path, "weights", index, "vlan"), f"VLAN {entry['vlan']} is listed twice")
                ok = False
            seen.add(entry["vlan"])
            weights.append((entry["vlan"], entry["weight"]))
        return QosShareIntent(name, self.key, tuple(weights)) if ok else None

    def check(self, intents: list[Intent], site: Site, ctx: ParseContext) -> None:
        known = ctx.declared.get("vlan", set())
        owner: dict[int, str] = {}
        for intent in intents:
            assert isinstance(intent, QosShareIntent)
            path = ctx.intent_path(intent.name)
            for index, (vlan, _) in enumerate(intent.weights):
                where = (*path, "weights", index, "vlan")
                if vlan not in known:
                    ctx.error(where, f"VLAN {vlan} is not defined by any vlan intent in this site")
                elif vlan in owner:
                    ctx.error(where, f"VLAN {vlan} already has a weight in qos_share {owner[vlan]!r}; "
                                     "give each VLAN one weight")
                owner.setdefault(vlan, intent.name)

    def describe(self, intent: Intent, compilation: Compilation) -> str:
        assert isinstance(intent, QosShareIntent)
        count = sum(1 for model in compilation.models.values() for policy in model.egress
                    if any(share.intent == intent.name for share in policy.shares))
        weights = ":".join(str(w) for _, w in intent.weights)
        vlans = ", ".join(f"VLAN {v}" for v, _ in intent.weights)
        text = f"{vlans} share what guarantees leave {weights} on {count} egress interface{'s' if count != 1 else ''}"
        if count:
            return text
        # An intent that does nothing says why: no egress carries two of its VLANs' traffic, perhaps
        # because an isolation cuts the traffic between them.
        listed = {vlan for vlan, _ in intent.weights}
        cuts = sorted({(min(i.vlan, i.peer_vlan), max(i.vlan, i.peer_vlan), i.intent)
                       for model in compilation.models.values() for i in model.isolations
                       if i.vlan in listed and i.peer_vlan in listed})
        why = "; ".join(f"isolate {name!r} cuts VLAN {low} from VLAN {high}" for low, high, name in cuts)
        return f"{text}: no egress interface carries the routed traffic of two of them" + (f" ({why})" if why else "")

    def verify(self, intents: list[Intent], lab: LabView) -> list[Step]:
        """Two listed VLANs' hosts saturate the first egress interface where they share, towards one host:
        what each gets must stand in the ratio of the weights."""
        return [_share_check(intent, lab) for intent in intents if isinstance(intent, QosShareIntent)]

    def compile(self, intents: list[Intent], build: Build) -> None:
        for intent in intents:
            assert isinstance(intent, QosShareIntent)
            weights = dict(intent.weights)
            carried: dict[tuple[str, int], dict[int, set[int]]] = {}  # (device, link) -> listed VLAN -> its targets
            for vid in sorted(weights):
                source = build.vlans[vid]
                for other in sorted(build.vlans):
                    if other == vid or frozenset((vid, other)) in build.isolated:
                        continue
                    try:
                        hops = journey(build, vid, other)
                    except TopologyError as exc:
                        raise TopologyError(f"{intent.name}: VLAN {source.id} to VLAN {other}: {exc}") from None
                    for device, link_index in hops:
                        carried.setdefault((device, link_index), {}).setdefault(vid, set()).add(other)
            for (device, link_index), vids in sorted(carried.items()):
                if len(vids) < 2:
                    continue
                for vid, targets in sorted(vids.items()):
                    build.add_share(device, build.site.links[link_index], intent.name, vid, weights[vid], targets)


def _share_check(intent: QosShareIntent, lab: LabView) -> Check:
    from engine.checks import NO_FLOW, SHARE_PORT, Check, Flow
    from intents.vlan import VlanIntent

    by_subnet = {str(v.subnet): v.id for v in lab.site.intents if isinstance(v, VlanIntent)}
    for device, model in sorted(lab.compilation.models.items()):
        for policy in model.egress:
            mine = [share for share in policy.shares if share.intent == intent.name and lab.hosts_in(share.vlan)]
            for first_index, first in enumerate(mine):
                for second in mine[first_index + 1:]:
                    common = [by_subnet[d] for d in first.destinations if d in second.destinations and
                              lab.hosts_in(by_subnet[d])]
                    if not common:
                        continue
                    target = lab.hosts_in(common[0])[0]
                    left = policy.default_rate_bps
                    expected = left * first.weight // (first.weight + second.weight)
                    direction = f"VLAN {first.vlan} : VLAN {second.vlan} to VLAN {common[0]} on {device} {policy.interface}"
                    flows = [Flow(f"VLAN {share.vlan} from {lab.hosts_in(share.vlan)[0].netns}",
                                  lab.hosts_in(share.vlan)[0], target, SHARE_PORT + share.vlan, streams=8)
                             for share in (first, second)]
                    return Check(intent.name, intent.kind, direction, expected, False, flows[0], (flows[1],),
                                 ratio=first.weight / second.weight)
    return Check(intent.name, intent.kind, "shares", 0, False, NO_FLOW,
                 skipped="no egress interface where two listed VLANs share has lab hosts on both and at the far end")


def journey(build: Build, source_id: int, target_id: int) -> set[tuple[str, int]]:
    """(sending device, link index) of every hop from ``source_id``'s hosts to ``target_id``'s hosts."""
    from intents.qos_guarantee import directional_hops

    hops = directional_hops(build.network, build.vlans[source_id], build.vlans[target_id])
    return {(device, link.index) for device, link in hops}


KIND = QosShareKind()
