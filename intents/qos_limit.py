"""``qos_limit``: a hard cap on everything routed in and out of a VLAN, enforced at its gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.device import RateLimit
from engine.frozen import frozen
from engine.model import Intent
from engine.units import format_bps, parse_bandwidth
from intents.base import JsonPath, ParseContext, load_schema

if TYPE_CHECKING:
    from engine.build import Build
    from engine.checks import LabView, Step
    from engine.compilation import Compilation
    from engine.model import Site


@frozen
class QosLimitIntent(Intent):
    """A qos_limit intent: a hard cap on a VLAN's routed traffic at its gateway."""

    vlan: int
    rate_bps: int


class QosLimitKind:
    key = "qos_limit"
    order = 20
    schema = load_schema("intents", "qos_limit.schema.json")

    def parse(self, name: str, body: dict[str, Any], path: JsonPath, ctx: ParseContext) -> Intent | None:
        try:
            rate = parse_bandwidth(body["rate"])
        except ValueError as exc:
            ctx.error((*path, "rate"), f"{exc} (a cap is an absolute rate)")
            return None
        return QosLimitIntent(name, self.key, body["vlan"], rate)

    def check(self, intents: list[Intent], site: Site, ctx: ParseContext) -> None:
        known = ctx.declared.get("vlan", set())
        capped: dict[int, str] = {}
        for intent in intents:
            assert isinstance(intent, QosLimitIntent)
            path = (*ctx.intent_path(intent.name), "vlan")
            if intent.vlan not in known:
                ctx.error(path, f"VLAN {intent.vlan} is not defined by any vlan intent in this site")
            elif intent.vlan in capped:
                ctx.error(path, f"VLAN {intent.vlan} is already capped by intent {capped[intent.vlan]!r}")
            capped.setdefault(intent.vlan, intent.name)

    def describe(self, intent: Intent, compilation: Compilation) -> str:
        assert isinstance(intent, QosLimitIntent)
        return f"VLAN {intent.vlan} capped at {format_bps(intent.rate_bps)} each way, at its gateway"

    def verify(self, intents: list[Intent], lab: LabView) -> list[Step]:
        """Traffic out of and into the VLAN, from and to a host of another VLAN, stays at the cap."""
        from engine.checks import GUARANTEED_PORT, NO_FLOW, Check, Flow

        vlans = sorted({host.vlan for host in lab.hosts})
        steps: list[Step] = []
        for intent in intents:
            assert isinstance(intent, QosLimitIntent)
            mine = next(iter(lab.hosts_in(intent.vlan)), None)
            other = next((lab.hosts_in(vid)[0] for vid in vlans if vid != intent.vlan), None)
            for out in (True, False):
                direction = f"out of VLAN {intent.vlan}" if out else f"into VLAN {intent.vlan}"
                if mine is None or other is None:
                    steps.append(Check(intent.name, intent.kind, direction, intent.rate_bps, True, NO_FLOW,
                                       skipped="no lab host on both sides"))
                    continue
                sender, receiver = (mine, other) if out else (other, mine)
                steps.append(Check(intent.name, intent.kind, direction, intent.rate_bps, True,
                                   Flow("capped", sender, receiver, GUARANTEED_PORT, streams=4)))
        return steps

    def compile(self, intents: list[Intent], build: Build) -> None:
        for intent in intents:
            assert isinstance(intent, QosLimitIntent)
            vlan = build.vlans[intent.vlan]
            limit = RateLimit(intent.name, f"INTENT-LIMIT-{intent.name}", vlan.id, str(vlan.subnet), intent.rate_bps)
            build.add_limit(vlan.gateway, limit)


KIND = QosLimitKind()
