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
from collections.abc import Mapping
from dataclasses import field, replace
from typing import Any

from engine import cliconfig, junos
from engine.cliconfig import Node, PlatformSyntax
from engine.frozen import frozen


@frozen
class Conflict:
    """Running configuration the engine does not own standing where an intent puts its own (a port, a VLAN)."""

    device: str
    section: str  # "interface GigabitEthernet1/0/5", "vlan 20", "set vlans cameras"
    lines: tuple[str, ...]  # the running lines in the way
    port: str | None = None
    vlan: int | None = None
    line: int = 1  # where the section is in the running config
    removals: frozenset[tuple[str, str]] = field(default=frozenset())  # (section, child) removed on takeover
    renames: tuple[tuple[str, str], ...] = ()  # Junos: VLAN names replaced in member lines (old, new)
    clash: str | None = None  # what is in the way, when it is not the usual (a VLAN name another id has)
    effect: str | None = None  # what a takeover that removes nothing does to it (the note)

    def what(self) -> str:
        if self.port is not None:
            return f"{self.device} {self.port}"
        return f"{self.device} VLAN {self.vlan}" if self.vlan is not None else self.device

    def refusal(self, intents: list[str]) -> str:
        named = ", ".join(repr(i) for i in intents) or "the VLAN intent"
        kind = "carries configuration the engine does not own" if self.port is not None else \
            "already exists under another name"
        if self.port is not None and self.vlan is not None:
            kind = f"(the gateway of VLAN {self.vlan}) {kind}"
        if self.clash:
            kind = self.clash
        return (f"{self.what()} {kind}: {'; '.join(self.lines)} "
                f"(add takeover: true to intent {named} to replace it)")

    def note(self) -> str:
        if self.effect:
            return f"takeover of {self.what()} ({self.section}): {self.effect}"
        removed = [line for line in self.lines if "(inherited from " not in line]
        # A group's line is never removed: a takeover that gets this far sets the intent's value locally.
        overridden = [line for line in self.lines if line not in removed]
        parts = ([f"removes {'; '.join(removed)}"] if removed else []) + (
            [f"overrides {'; '.join(overridden)} with the intent's own statement"] if overridden else [])
        return f"takeover of {self.what()} ({self.section}): {', '.join(parts)}"


def _line_numbers(text: str, set_style: bool = True) -> dict[str, int]:
    if set_style and junos.is_brace_form(text):  # the set lines the engine reads, at the brace statements they come from
        try:
            return junos.line_numbers(text)
        except ValueError:
            return {}  # reported where the config is parsed
    numbers: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        numbers.setdefault(line.strip(), number)
    return numbers


def find(device: str, running: list[Node], desired: list[Node], syntax: PlatformSyntax, raw: dict[str, Any],
         running_text: str, inherited: Mapping[str, tuple[str, str]] | None = None) -> list[Conflict]:
    """Every conflict between the running config and what the intents want on ``device``. ``inherited``:
    the lines ``running`` holds only through a Junos group (``Inheritance.lines``), marked as such."""
    numbers = _line_numbers(running_text, syntax.style == "set")
    marks = inherited or {}
    found: list[Conflict] = []
    rule = raw.get("takeover") or {}
    port_pattern = re.compile(rule["port"]) if rule.get("port") else None
    # A line in the way, or (``{line, when}``) one only while the intents set the same thing there (the
    # one input filter a Junos port takes: the engine's would replace an operator's silently).
    in_the_way = _rules(rule.get("lines", []))
    sections = {node.text: node for node in running if node.text}
    if port_pattern is not None:
        for want in desired:
            match = port_pattern.match(want.text)
            have = sections.get(want.text)
            if not match or have is None:
                continue
            wanted = {child.text for child in want.children}
            # set style: a binding of the port that is a section of its own (``... filter input INTENT-X``)
            wanted_here = wanted | {node.text[len(want.text) + 1:] for node in desired
                                    if syntax.style == "set" and node.text.startswith(want.text + " ")}
            lines = [c.text for c in have.children if c.text not in wanted and any(
                p.search(c.text) and (when is None or any(map(when.search, wanted_here))) for p, when in in_the_way)]
            lines += _native_in_the_way(have, want, desired, syntax, raw, rule.get("native"))
            if lines:
                shown = tuple(_marked(f"{want.text[4:]} {c}", marks) if syntax.style == "set" else c for c in lines)
                first = (have.children[0].raw or want.text) if syntax.style == "set" else want.text
                origin = marks.get(f"{want.text} {lines[0]}")
                first = origin[1] if origin else first  # an inherited line: where its group says it
                found.append(Conflict(device, want.text, shown, port=match.group("port"),
                                      line=numbers.get(first.strip(), 1),
                                      removals=frozenset((want.text, c) for c in lines)))
    found += _svis(device, running, desired, syntax, rule.get("svi") or {}, numbers, marks)
    found += _routing(device, running, desired, rule.get("routing") or {}, numbers)
    found += _vlan_names(device, running, desired, syntax, raw, numbers)
    if syntax.style == "set":
        # A set-form config's statements are independent, and the device shows them in its own schema
        # order whatever order they were entered in: a conflict lists them sorted, so that the same
        # configuration gives the same refusal and note however its statements were ordered or repeated.
        found = [replace(conflict, lines=tuple(sorted(conflict.lines))) for conflict in found]
    return found


def _native_in_the_way(have: Node, want: Node, desired: list[Node], syntax: PlatformSyntax, raw: dict[str, Any],
                       native: str | None) -> list[str]:
    """The running port's native-VLAN line when that VLAN is one the intents carry tagged on the port
    (``takeover.native``): its frames would leave untagged, and the other end expects them tagged."""
    if not native:
        return []
    pattern = re.compile(native)
    found = [(c.text, int(m.group("vlan"))) for c in have.children if (m := pattern.search(c.text))]
    if not found:
        return []
    carried: set[int] = set()
    trunk = syntax.trunk
    if trunk is not None:
        allowed = [c.text for c in want.children if trunk.matches(c.text)]
        carried = set(trunk.fold(allowed)) if allowed else set()
    else:  # set style: the VLANs the port's member lines name, by the ids the intents give them
        ids = {name: vid for vid, (name, _) in vlan_names(desired, raw).items()}
        members = [c.text.split()[-1] for c in want.children if " vlan members " in f" {c.text}"]
        trunked = any("interface-mode trunk" in c.text for c in (*want.children, *have.children))
        carried = {ids[name] for name in members if name in ids} if trunked else set()
    return [text for text, vlan in found if vlan in carried]


def with_trunk_list(conflict: Conflict, running: list[Node], merged: list[Node], syntax: PlatformSyntax) -> Conflict:
    """``conflict`` naming, besides its lines, the allowed-VLAN list the merge drops with them (a trunk
    taken over as an access port), so the note says all the takeover removes."""
    trunk = syntax.trunk
    if trunk is None or conflict.port is None:
        return conflict
    before = next((node for node in running if node.text == conflict.section), None)
    after = next((node for node in merged if node.text == conflict.section), None)
    if before is None or after is None or any(trunk.matches(child.text) for child in after.children):
        return conflict
    dropped = tuple(child.text for child in before.children if trunk.matches(child.text))
    return replace(conflict, lines=conflict.lines + dropped) if dropped else conflict


def _routing(device: str, running: list[Node], desired: list[Node], rule: dict[str, Any], numbers: dict[str, int]
             ) -> list[Conflict]:
    """Routing the intents turn on (``takeover.routing.routes``, IOS' ``ip routing``) where the device does not
    route yet and reaches its management network through a line routing makes it ignore (``ignored``:
    ``ip default-gateway``), with no route instead (``unless``): the plan would cut the device off."""
    if not rule:
        return []
    on, ignored = re.compile(rule["routes"]), re.compile(rule["ignored"])
    unless = re.compile(rule["unless"]) if rule.get("unless") else None
    tops = [node.text for node in running if node.text]
    if not any(on.search(node.text) for node in desired if node.text) or any(map(on.search, tops)) or (
            unless is not None and any(map(unless.search, tops))):
        return []
    return [Conflict(device, text, (text,), line=numbers.get(text, 1),
                     clash="turns routing on (ip routing), and a routing device ignores",
                     effect=f"keeps {text}, which the device ignores once routing is on: give its management "
                            "traffic a route (a static default route) before applying")
            for text in tops if ignored.search(text)]


def _rules(lines: list[Any]) -> list[tuple[re.Pattern[str], re.Pattern[str] | None]]:
    """``takeover`` lines of platform.yaml: a pattern, or ``{line, when}``: in the way only while the
    desired section has a line matching ``when``."""
    return [(re.compile(p), None) if isinstance(p, str) else (re.compile(p["line"]), re.compile(p["when"]))
            for p in lines]


def _marked(line: str, inherited: Mapping[str, tuple[str, str]]) -> str:
    """A set line (without ``set``) as a conflict shows it: with the group it comes from, if inherited."""
    origin = inherited.get(f"set {line}")
    return f"{line} (inherited from {_source(origin[0])})" if origin else line


def _source(group: str) -> str:
    """How a line's origin is named: ``group JUMBO``, or ``interface-range DESKS`` (already so named)."""
    return group if group.startswith(f"{junos.RANGE} ") else f"group {group}"


def _svis(device: str, running: list[Node], desired: list[Node], syntax: PlatformSyntax, rule: dict[str, Any],
          numbers: dict[str, int], marks: Mapping[str, tuple[str, str]]) -> list[Conflict]:
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
            if have is None:
                continue
            prefix = str(place.get("prefix", "")).format(vlan=vlan)
            in_the_way = _rules(place["lines"])
            if syntax.owns(have):
                # The engine's own SVI: what else an operator put there is theirs to keep, except a binding
                # the intents now set too (one inbound ACL a SVI: isolate's would replace theirs silently).
                in_the_way = [(p, when) for p, when in in_the_way if when is not None]
                if not in_the_way:
                    continue
            lines = [c.text for c in have.children if c.text.startswith(prefix) and c.text not in wanted
                     and any(p.search(c.text[len(prefix):]) and (when is None or any(map(when.search, wanted)))
                             for p, when in in_the_way)]
            if not lines:
                continue
            shown = tuple(_marked(f"{section[4:]} {c}", marks) if syntax.style == "set" else c for c in lines)
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


def listed_vlans(running: list[Node], desired: list[Node], raw: dict[str, Any]) -> list[Node]:
    """``running`` with an empty ``vlan N`` section after the compact list line (``vlan 4-5,10,30``, as
    IOS, EOS and NX-OS print VLANs that have no other settings) for each VLAN N the intents define that
    the device has only in such a list: the VLAN exists, so the plan changes it and its undo restores it
    (``no name users``), never deletes it (``no vlan 10``). ``vlan_names.list`` of platform.yaml."""
    rule = raw.get("vlan_names") or {}
    if not rule.get("list"):
        return running
    single, listed = re.compile(rule["section"]), re.compile(rule["list"])
    have = {node.text for node in running if node.text}
    lists = [(index, cliconfig.parse_vlan_list(m.group("ids"))) for index, node in enumerate(running)
             if node.text and (m := listed.match(node.text))]
    if not lists:
        return running
    after: dict[int, list[Node]] = {}
    for want in desired:
        match = single.match(want.text) if want.text else None
        if match and want.text not in have and "id" in match.groupdict():
            index = next((i for i, ids in lists if int(match.group("id")) in ids), None)
            if index is not None:
                after.setdefault(index, []).append(Node(want.text))
    if not after:
        return running
    return [added for index, node in enumerate(running) for added in (node, *after.get(index, ()))]


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
    # The intent's name taken by another id (Junos `set vlans users vlan-id 11`: the plan renumbered it,
    # moving every port of it; IOS refuses a second VLAN of one name).
    wanted_ids = {name: vid for vid, (name, _) in vlan_names(desired, raw).items()}
    for other, (name, node) in sorted(have.items()):
        wanted_id = wanted_ids.get(name)
        if wanted_id is None or wanted_id == other:
            continue
        named = [c for c in node.children if syntax.style == "set" or re.match(raw["vlan_names"]["name"], c.text)]
        lines = tuple(c.raw or f"{node.text} {c.text}" for c in named) if syntax.style == "set" else tuple(
            f"{node.text} {c.text}" for c in named)
        found.append(Conflict(device, node.text, lines, vlan=wanted_id, line=numbers.get(
            (named[0].raw or node.text) if syntax.style == "set" and named else node.text, 1),
            removals=frozenset((node.text, c.text) for c in named),
            clash=f"cannot take the name {name}: VLAN {other} has it"))
    return found


def shared_vlan_ids(device: str, running: list[Node], desired: list[Node], raw: dict[str, Any], running_text: str
                    ) -> list[tuple[int, str]]:
    """(line, refusal) for every VLAN id the intents define that the device has inside another VLAN's id
    list (Junos ``set vlans legacy vlan-id-list 5-20``): a second VLAN of that id fails the commit, and
    the plan never splits somebody else's list (``vlan_names.id_list`` of platform.yaml)."""
    rule = raw.get("vlan_names") or {}
    if not rule.get("id_list"):
        return []
    section, id_list = re.compile(rule["section"]), re.compile(rule["id_list"])
    lists = [(node, child) for node in running if node.text and section.match(node.text)
             for child in node.children if id_list.match(child.text)]
    if not lists:
        return []
    numbers = _line_numbers(running_text)
    refusals = []
    for vid, (name, _) in sorted(vlan_names(desired, raw).items()):
        for node, child in lists:
            match = id_list.match(child.text)
            if match and vid in cliconfig.parse_vlan_list(match.group("ids")):
                line = child.raw or f"{node.text} {child.text}"
                refusals.append((numbers.get(line.strip(), 1),
                                 f"{device}: VLAN {vid} (intent VLAN {name}) is already in {line.removeprefix('set ')}; "
                                 f"a second VLAN with that id fails the commit and the plan never splits another "
                                 f"VLAN's list: take {vid} out of it by hand, then plan again"))
    return refusals


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


@frozen
class Inheritance:
    """What a Junos running config inherits from its configuration groups (``engine.junos.inherited``):
    effective ``set`` line -> (group, the group statement it comes from). The plan works on the
    effective config, so takeover and ownership see what the device runs; its commands never edit a
    group: a line that is only inherited cannot be deleted, only overridden by a local value."""

    lines: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, running_text: str, syntax: PlatformSyntax) -> Inheritance:
        if syntax.style != "set" or "apply-groups" not in running_text and junos.RANGE not in running_text:
            return cls()
        return cls({line: (group, statement) for line, group, statement in junos.inherited(running_text)})

    def effective(self, nodes: list[Node], syntax: PlatformSyntax) -> list[Node]:
        """``nodes`` with the inherited lines added to their sections (new sections before the trailer)."""
        if not self.lines:
            return nodes
        result = [Node(n.text, list(n.children), n.raw, n.leading) for n in nodes]
        sections = {node.text: node for node in result if node.text}
        for line in self.lines:
            head, rest = cliconfig.set_split(line, syntax)
            node = sections.get(head)
            if node is None:
                node = sections[head] = Node(head)
                result.insert(len(result) - 1 if result and not result[-1].text else len(result), node)
            if rest:
                node.children.append(Node(rest))
        return result

    def note(self) -> str | None:
        if not self.lines:
            return None
        groups = sorted({group for group, _ in self.lines.values() if not group.startswith(f"{junos.RANGE} ")})
        ranges = sorted({group for group, _ in self.lines.values()} - set(groups))
        sources = ([f"group{'s' if len(groups) > 1 else ''} {', '.join(groups)} (apply-groups)"] if groups else []) + \
            ([f"{', '.join(ranges)}"] if ranges else [])
        never = " or ".join((["a group"] if groups else []) + (["an interface range"] if ranges else []))
        return (f"planned against the effective configuration: {len(self.lines)} statements inherited from "
                f"{' and '.join(sources)}; the commands never edit {never}")

    def settle(self, device: str, commands: tuple[str, ...], rollback: tuple[str, ...], running_text: str
               ) -> tuple[tuple[str, ...], tuple[str, ...], list[tuple[int, str]]]:
        """The commands for the device as it is: a ``delete`` of an inherited line goes when a ``set`` of
        the plan overrides the same single-valued setting locally (and the rollback's ``set`` of it: the
        inheritance comes back once the local value is deleted); any other is refused, naming the group."""
        if not self.lines:
            return commands, rollback, []
        numbers = _line_numbers(running_text)
        settings = {junos.setting_of(c) for c in commands if c.startswith("set ")} - {None}
        forward: list[str] = []
        refused: list[tuple[int, str]] = []
        for command in commands:
            target = "set " + command[len("delete "):] if command.startswith("delete ") else None
            origin = self.lines.get(target) if target else None
            if origin is None:
                forward.append(command)
                continue
            if junos.setting_of(command) in settings:
                continue  # the local value the plan sets wins over the group's
            group, statement = origin
            if group.startswith(f"{junos.RANGE} "):
                port = command.split()[2]
                refused.append((numbers.get(statement, 1),
                                f"{device}: {command[len('delete '):]} is inherited from {group} ({statement}); the "
                                f"plan cannot delete it and never edits an interface range: take {port} out of the "
                                f"range (its member or member-range statement) or change the range by hand, then "
                                f"plan again"))
                continue
            refused.append((numbers.get(statement, 1),
                            f"{device}: {command[len('delete '):]} is inherited from group {group} ({statement}); "
                            f"the plan cannot delete it and never edits a group: exclude the group there "
                            f"(apply-groups-except {group}) or change the group by hand, then plan again"))
        kept = tuple(c for c in rollback if c not in self.lines)
        return tuple(forward), kept, refused
