"""``acme_cap``: a VLAN held to a share of its gateway's slowest link, in and out.

A plugin kind uses only what every kind has: ``intents.base`` (the Kind interface, parse context,
schema loading), the builder's primitives (``build.vlans``, ``build.add_limit``) and the verify
step's types (``engine.checks``). Nothing in intent-engine names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.build import Build
from engine.checks import GUARANTEED_PORT, NO_FLOW, Check, Flow, LabView, Step
from engine.compilation import Compilation
from engine.device import RateLimit
from engine.model import Intent, Site
from engine.units import format_bps, parse_percent
from intents.base import JsonPath, ParseContext, load_schema


@dataclass(frozen=True)
class AcmeCap(Intent):
    vlan: int
    share_percent: float


class AcmeCapKind:
    key = "acme_cap"
    order = 30  # after the vlan kind: it caps a VLAN that kind built
    schema = load_schema("acme_intents", "acme_cap.schema.json")

    def parse(self, name: str, body: dict[str, Any], path: JsonPath, ctx: ParseContext) -> Intent | None:
        try:
            share = float(parse_percent(body["share"]))
        except ValueError as exc:
            ctx.error((*path, "share"), str(exc))
            return None
        return AcmeCap(name, self.key, body["vlan"], share)

    def check(self, intents: list[Intent], site: Site, ctx: ParseContext) -> None:
        for intent in intents:
            assert isinstance(intent, AcmeCap)
            if intent.vlan not in ctx.declared.get("vlan", set()):
                ctx.error((*ctx.intent_path(intent.name), "vlan"), f"acme_cap: VLAN {intent.vlan} is not defined")

    def rate_bps(self, intent: AcmeCap, site: Site, gateway: str) -> int:
        slowest = min(link.bandwidth_bps for link in site.links if gateway in (link.a.device, link.b.device))
        return int(slowest * intent.share_percent / 100)

    def compile(self, intents: list[Intent], build: Build) -> None:
        for intent in intents:
            assert isinstance(intent, AcmeCap)
            vlan = build.vlans[intent.vlan]
            rate = self.rate_bps(intent, build.site, vlan.gateway)
            build.add_limit(vlan.gateway, RateLimit(intent.name, f"INTENT-LIMIT-{intent.name}", vlan.id,
                                                    str(vlan.subnet), rate))

    def describe(self, intent: Intent, compilation: Compilation) -> str:
        assert isinstance(intent, AcmeCap)
        limits = [limit for model in compilation.models.values() for limit in model.limits
                  if limit.intent == intent.name]
        return f"acme: VLAN {intent.vlan} held to {intent.share_percent:g}% " \
               f"({format_bps(limits[0].rate_bps)}) of its gateway's slowest link"

    def verify(self, intents: list[Intent], lab: LabView) -> list[Step]:
        """Upload from a host of the capped VLAN to a host of another VLAN stays at the cap."""
        steps: list[Step] = []
        for intent in intents:
            assert isinstance(intent, AcmeCap)
            rate = next(limit.rate_bps for model in lab.compilation.models.values() for limit in model.limits
                        if limit.intent == intent.name)
            sender = next(iter(lab.hosts_in(intent.vlan)), None)
            receiver = next((host for host in lab.hosts if host.vlan != intent.vlan), None)
            upload = f"acme: upload from VLAN {intent.vlan}"
            if sender is None or receiver is None:
                steps.append(Check(intent.name, self.key, upload, rate, True, NO_FLOW, skipped="no lab host to use"))
            else:
                steps.append(Check(intent.name, self.key, upload, rate, True,
                                   Flow("acme upload", sender, receiver, GUARANTEED_PORT, streams=4)))
        return steps


KIND = AcmeCapKind()
