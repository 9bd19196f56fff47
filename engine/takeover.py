"""What stands in the way of an intent on a brownfield device, found before anything is planned.

A port the intents configure that carries configuration the engine does not own (an address, a
channel-group, another switchport mode: ``takeover.lines`` in ``templates/<platform>/platform.yaml``),
a gateway SVI the device already has with an address, description or DHCP helper of somebody else's
(``takeover.svi``; Junos ``irb.N``, or the ``vlan.N`` of older EX switches) and a VLAN id the device
already has under another name (``vlan_names``) are conflicts. The plan
refuses them, naming device, interface and lines, unless a responsible intent says
``takeover: true``; then these lines are what the merge removes, and the notes say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine import junos
from engine.cliconfig import Node, PlatformSyntax


@dataclass(frozen=True)
class Conflict:
    device: str
    section: str  # "interface GigabitEthernet1/0/5", "vlan 20", "set vlans cameras"
    lines: tuple[str, ...]  # the running lines in the way
    port: str | None = None
    vlan: int | None = None
    line: int = 1  # where the section is in the running config
    removals: frozenset[tuple[str, str]] = field(default=frozenset())  # (section, child) removed on takeover
    renames: tuple[tuple[str, str], ...] = ()  # Junos: VLAN names replaced in member lines (old, new)

    def what(self) -> str:
        if self.port is not None:
            return f"{self.device} {self.port}"
        return f"{self.device} VLAN {self.vlan}"

    def refusal(self, intents: list[str]) -> str:
        named = ", ".join(repr(i) for i in intents) or "the VLAN intent"
        kind = "carries configuration the engine does not own" if self.port is not None else \
            "already exists under another name"
        if self.port is not None and self.vlan is not None:
            kind = f"(the gateway of VLAN {self.vlan}) {kind}"
        return (f"{self.what()} {kind}: {'; '.join(self.lines)} "
                f"(add takeover: true to intent {named} to replace it)")

    def note(self) -> str:
        return f"takeover of {self.what()} ({self.section}): removes {'; '.join(self.lines)}"


def _line_numbers(text: str) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        numbers.setdefault(line.strip(), number)
    return numbers


def find(device: str, running: list[Node], desired: list[Node], syntax: PlatformSyntax, raw: dict[str, Any],
         running_text: str) -> list[Conflict]:
    """Every conflict between the running config and what the intents want on ``device``."""
    numbers = _line_numbers(running_text)
    found: list[Conflict] = []
    rule = raw.get("takeover") or {}
    port_pattern = re.compile(rule["port"]) if rule.get("port") else None
    in_the_way = [re.compile(p) for p in rule.get("lines", [])]
    sections = {node.text: node for node in running if node.text}
    if port_pattern is not None:
        for want in desired:
            match = port_pattern.match(want.text)
            have = sections.get(want.text)
            if not match or have is None:
                continue
            wanted = {child.text for child in want.children}
            lines = [c.text for c in have.children if c.text not in wanted and any(p.search(c.text) for p in in_the_way)]
            if lines:
                shown = tuple(f"{want.text[4:]} {c}" if syntax.style == "set" else c for c in lines)
                first = (have.children[0].raw or want.text) if syntax.style == "set" else want.text
                found.append(Conflict(device, want.text, shown, port=match.group("port"),
                                      line=numbers.get(first.strip(), 1),
                                      removals=frozenset((want.text, c) for c in lines)))
    found += _svis(device, running, desired, syntax, rule.get("svi") or {}, numbers)
    found += _vlan_names(device, running, desired, syntax, raw, numbers)
    return found


def _svis(device: str, running: list[Node], desired: list[Node], syntax: PlatformSyntax, rule: dict[str, Any],
          numbers: dict[str, int]) -> list[Conflict]:
    """The gateway SVIs the intents render that the device already has, not marked as the engine's,
    with lines the intent does not want: an address, a description, a DHCP helper (``takeover.svi``)."""
    if not rule:
        return []
    wanted_svi = re.compile(rule["desired"])
    sections = {node.text: node for node in running if node.text}
    found = []
    for want in desired:
        match = wanted_svi.match(want.text)
        if not match:
            continue
        vlan = int(match.group("vlan"))
        wanted = {child.text for child in want.children}
        for place in rule.get("running", []):
            section = place["section"].format(vlan=vlan)
            have = sections.get(section)
            if have is None or syntax.owns(have):
                continue
            prefix = str(place.get("prefix", "")).format(vlan=vlan)
            in_the_way = [re.compile(p) for p in place["lines"]]
            lines = [c.text for c in have.children if c.text.startswith(prefix) and c.text not in wanted
                     and any(p.search(c.text[len(prefix):]) for p in in_the_way)]
            if not lines:
                continue
            shown = tuple(f"{section[4:]} {c}" if syntax.style == "set" else c for c in lines)
            first = next(c.raw for c in have.children if c.text == lines[0]) if syntax.style == "set" else section
            found.append(Conflict(device, section, shown, port=place["name"].format(vlan=vlan), vlan=vlan,
                                  line=numbers.get((first or section).strip(), 1),
                                  removals=frozenset((section, c) for c in lines)))
    return found


def vlan_names(nodes: list[Node], raw: dict[str, Any]) -> dict[int, tuple[str, Node]]:
    """VLAN id -> (its name, the node defining it)."""
    rule = raw.get("vlan_names") or {}
    if not rule:
        return {}
    section, child = re.compile(rule["section"]), re.compile(rule["name"])
    found: dict[int, tuple[str, Node]] = {}
    for node in nodes:
        head = section.match(node.text) if node.text else None
        if not head:
            continue
        values = dict(head.groupdict())
        for c in node.children:
            m = child.match(c.text)
            if m:
                values.update(m.groupdict())
        if values.get("id") and values.get("name"):
            found[int(values["id"])] = (values["name"], node)
    return found


def _vlan_names(device: str, running: list[Node], desired: list[Node], syntax: PlatformSyntax, raw: dict[str, Any],
                numbers: dict[str, int]) -> list[Conflict]:
    have = vlan_names(running, raw)
    found = []
    for vid, (name, _) in sorted(vlan_names(desired, raw).items()):
        if vid not in have or have[vid][0] == name:
            continue
        old, node = have[vid]
        if syntax.style == "set":  # the old VLAN goes, and ports that were its members follow the new name
            lines = tuple(c.raw or f"{node.text} {c.text}" for c in node.children)
            found.append(Conflict(device, node.text, lines, vlan=vid, line=numbers.get(lines[0], 1) if lines else 1,
                                  removals=frozenset((node.text, c.text) for c in node.children) | {(node.text, "")},
                                  renames=((old, name),)))
        else:
            found.append(Conflict(device, node.text, (f"{node.text} name {old} (wanted: {name})",), vlan=vid,
                                  line=numbers.get(node.text, 1)))
    return found


def protected(device: str, running_text: str, syntax: PlatformSyntax, commands: tuple[str, ...]) -> list[tuple[int, str]]:
    """(line, refusal) for every protected hierarchy (Junos ``protect:``) the commands would change: the
    device rejects such a commit, so the plan says so first, naming the hierarchy and the commands."""
    if syntax.style != "set" or not running_text or "protect" not in running_text:
        return []
    refusals = []
    for line, path, touching in junos.protected_changes(running_text, commands):
        shown = "; ".join(touching[:3]) + (f" (and {len(touching) - 3} more)" if len(touching) > 3 else "")
        refusals.append((line, f"{device}: the plan would change the protected hierarchy [edit {path}]: {shown}; "
                               f"the device refuses that until somebody runs `unprotect {path}` there, or leave "
                               "it out of the intents"))
    return refusals
