"""Vendor configuration as a tree, merged so that only what the engine owns changes.

Like hier_config, this is text in, data out. Each platform describes itself in
``templates/<platform>/platform.yaml``:

- ``style: indent`` (IOS, EOS, NX-OS: children are indented) or ``style: set`` (Junos ``display
  set``: a line's section is the first of the ``sections`` patterns that matches it, else its
  first ``section_words`` words; the rest of the line is a child of that section);
- ``owned``: top-level sections the engine owns outright (``policy-map INTENT-...``): removed
  when no intent wants them any more;
- ``marker``: a child line that marks a section as the engine's (``description intent:...``);
- ``shared``: sections shared with hand-made configuration (``interface ...``), where the engine
  owns only the child lines matching the listed patterns.

Any other running section at the same key as a desired one is replaced by it; everything else is
left exactly as it was. ``merge()`` gives the config after the change; ``remediation()`` the
commands that get there (and, swapped, the commands that undo it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PlatformSyntax:
    style: str  # "indent" | "set"
    comment: str = "!"
    negate: str = "no "
    section_words: int = 3
    owned: tuple[re.Pattern[str], ...] = ()
    marker: re.Pattern[str] | None = None
    shared: tuple[tuple[re.Pattern[str], tuple[re.Pattern[str], ...]], ...] = ()
    sections: tuple[re.Pattern[str], ...] = ()  # set style: prefixes that form one section, first match wins
    union: tuple[re.Pattern[str], ...] = ()  # child lines whose VLAN list merges with the running one
    # (line, when): in a shared section, child lines matching ``line`` are the engine's too when the
    # desired section has a line matching ``when`` (Junos: one VLAN member on an access port).
    exclusive: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = ()
    # Child lines that reference engine objects (``service-policy output INTENT-...``): removed from
    # any shared section no intent wants any more, so nothing points at an object being deleted.
    bindings: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PlatformSyntax:
        return cls(
            style=raw["style"],
            comment=raw.get("comment", "!"),
            negate=raw.get("negate", "no "),
            section_words=int(raw.get("section_words", 3)),
            owned=tuple(re.compile(p) for p in raw.get("owned", [])),
            marker=re.compile(raw["marker"]) if raw.get("marker") else None,
            shared=tuple((re.compile(k), tuple(re.compile(c) for c in v)) for k, v in (raw.get("shared") or {}).items()),
            sections=tuple(re.compile(p) for p in raw.get("sections", [])),
            union=tuple(re.compile(p) for p in raw.get("union", [])),
            exclusive=tuple((re.compile(e["line"]), re.compile(e["when"])) for e in raw.get("exclusive", [])),
            bindings=tuple(re.compile(p) for p in raw.get("bindings", [])),
        )

    def shared_children(self, text: str) -> tuple[re.Pattern[str], ...] | None:
        for pattern, children in self.shared:
            if pattern.search(text):
                return children
        return None

    def setting(self, section: str, child: str) -> str | None:
        """The setting an owned child line sets (``service-policy output ``), so a new value replaces the old."""
        for pattern in self.shared_children(section) or ():
            match = pattern.search(child)
            if match:
                return match.group(0)
        return None

    def owns(self, node: Node) -> bool:
        if any(p.search(node.text) for p in self.owned):
            return True
        return bool(self.marker and any(self.marker.search(child.text) for child in node.children))


@dataclass
class Node:
    """A config line and its children. ``raw`` keeps the device's own text (indentation included)
    and ``leading`` the comment/separator lines written before it, so unchanged regions render
    exactly as the device shows them. A node with empty ``text`` only carries trailing lines."""

    text: str
    children: list[Node] = field(default_factory=list)
    raw: str | None = None
    leading: list[str] = field(default_factory=list)

    def lines(self, depth: int = 0, style: str = "indent", trivia: bool = True) -> list[str]:
        out = list(self.leading) if trivia else []
        if style == "set":
            if self.children:
                return out + [c.raw or f"{self.text} {c.text}" for c in self.children]
            return out + ([self.raw or self.text] if self.text else [])
        if self.text:
            out.append(self.raw if self.raw is not None and trivia else " " * depth + self.text)
        for child in self.children:
            out += child.lines(depth + 1, style, trivia)
        return out

    def same(self, other: Node) -> bool:
        return self.text == other.text and len(self.children) == len(other.children) and all(
            a.same(b) for a, b in zip(self.children, other.children, strict=False)
        )


def parse(text: str, syntax: PlatformSyntax) -> list[Node]:
    """Top-level nodes of a configuration. Comment, separator and blank lines (and ``end``) are kept
    as leading trivia of the next node, or in a final text-less node."""
    if syntax.style == "set":
        return _parse_set(text, syntax)
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []
    pending: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith(syntax.comment) or stripped == "end":
            pending.append(line)
            continue
        indent = len(line) - len(line.lstrip(" "))
        node = Node(stripped, raw=line, leading=pending)
        pending = []
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack:
            stack[-1][1].children.append(node)
        else:
            roots.append(node)
        stack.append((indent, node))
    if pending:
        roots.append(Node("", leading=pending))
    return roots


def _parse_set(text: str, syntax: PlatformSyntax) -> list[Node]:
    roots: dict[str, Node] = {}
    pending: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped.startswith("set "):
            pending.append(raw.rstrip())
            continue
        head = next((m.group(0) for p in syntax.sections if (m := p.match(stripped))), None)
        if head is None:
            head = " ".join(stripped.split()[: syntax.section_words])
        rest = stripped[len(head):].strip()
        node = roots.get(head)
        if node is None:
            node = roots[head] = Node(head, leading=pending)
            pending = []
        if rest:
            node.children.append(Node(rest, raw=stripped, leading=pending))
            pending = []
    nodes = list(roots.values())
    if pending:
        nodes.append(Node("", leading=pending))
    return nodes


def render(nodes: list[Node], syntax: PlatformSyntax) -> str:
    out: list[str] = []
    for node in nodes:
        out += node.lines(0, syntax.style)
    return "\n".join(out) + ("\n" if out else "")


def merge(running: list[Node], desired: list[Node], syntax: PlatformSyntax) -> list[Node]:
    """The configuration after applying ``desired`` to ``running``, touching only what the engine owns."""
    wanted = {node.text: node for node in desired}
    result: list[Node] = []
    for node in running:
        want = wanted.get(node.text) if node.text else None
        if want is None:
            if not node.text or not syntax.owns(node):
                result.append(_unbind(node, syntax))  # not ours: untouched but for our bindings
            continue
        result.append(_merge_section(node, want, syntax))
    present = {node.text for node in result}
    previous: str | None = None
    for node in desired:
        if node.text and node.text not in present:
            separators = [line for line in node.leading if line.strip() == syntax.comment]
            _insert(result, Node(node.text, node.children, node.raw, separators), syntax, after=previous)
        if node.text:
            previous = node.text
    return result


def _unbind(node: Node, syntax: PlatformSyntax) -> Node:
    """A shared section no intent wants: drop only the lines that bind it to engine objects."""
    if not syntax.bindings or syntax.shared_children(node.text) is None:
        return node
    kept = [c for c in node.children if not any(p.search(c.text) for p in syntax.bindings)]
    return node if len(kept) == len(node.children) else Node(node.text, kept, node.raw, node.leading)


def _merge_section(running: Node, desired: Node, syntax: PlatformSyntax) -> Node:
    shared = syntax.shared_children(running.text)
    if shared is None:
        if running.same(desired):
            return running
        return Node(desired.text, list(desired.children), running.raw, running.leading)
    owned = list(shared) + [line for line, when in syntax.exclusive if any(when.search(c.text) for c in desired.children)]

    def setting(text: str) -> str | None:
        return next((m.group(0) for p in owned if (m := p.search(text))), None)

    desired_children = [_union(child, running.children, syntax) for child in desired.children]
    wanted = {child.text for child in desired_children}
    indent = _child_indent(running, desired)
    unplaced = [child for child in desired_children if child.text not in {c.text for c in running.children}]
    kept: list[Node] = []
    for child in running.children:
        key = setting(child.text)
        if key is None or child.text in wanted:
            kept.append(child)
            continue
        # An owned line that changes: put its replacement where it stood, if there is one.
        replacement = next((d for d in unplaced if setting(d.text) == key), None)
        if replacement is not None:
            unplaced.remove(replacement)
            kept.append(_reindent(replacement, indent))
    kept += [_reindent(child, indent) for child in unplaced]
    return Node(running.text, kept, running.raw, running.leading)


def _union(child: Node, running_children: list[Node], syntax: PlatformSyntax) -> Node:
    """``switchport trunk allowed vlan 10,30`` next to a running ``... vlan 99`` becomes ``... vlan 10,30,99``:
    the engine adds its VLANs to a trunk and never drops the ones somebody else put there."""
    for pattern in syntax.union:
        want = pattern.match(child.text)
        if not want:
            continue
        for other in running_children:
            have = pattern.match(other.text)
            if have:
                vlans = sorted(parse_vlan_list(want.group("vlans")) | parse_vlan_list(have.group("vlans")))
                text = child.text[: want.start("vlans")] + format_vlan_list(vlans) + child.text[want.end("vlans"):]
                return Node(text, child.children, None, [])
    return child


def parse_vlan_list(text: str) -> set[int]:
    """``"1-3,10"`` -> {1, 2, 3, 10}."""
    vlans: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if low.isdigit():
            vlans.update(range(int(low), int(high or low) + 1))
    return vlans


def format_vlan_list(vlans: list[int]) -> str:
    """[10, 11, 12, 20] -> ``"10-12,20"`` (the form every CLI accepts for allowed-VLAN lists)."""
    parts: list[str] = []
    ordered = sorted(vlans)
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        parts.append(str(ordered[index]) if end == index else f"{ordered[index]}-{ordered[end]}")
        index = end + 1
    return ",".join(parts)


def _child_indent(running: Node, desired: Node) -> str:
    """The indentation the device uses for children of this section."""
    for child in running.children + desired.children:
        if child.raw is not None:
            return child.raw[: len(child.raw) - len(child.raw.lstrip(" "))]
    return " "


def _reindent(node: Node, indent: str) -> Node:
    if node.raw is not None and node.raw.startswith("set "):
        return node
    return Node(node.text, node.children, indent + node.text, [])


def _insert(result: list[Node], node: Node, syntax: PlatformSyntax, after: str | None = None) -> None:
    """Place a new section after the section that precedes it in the desired config when that is of
    the same kind, else after the last section of its kind (same first word), else at the end."""
    kind = _kind(node.text, syntax)
    if after is not None and _kind(after, syntax) == kind:
        for index, existing in enumerate(result):
            if existing.text == after:
                result.insert(index + 1, node)
                return
    for index in range(len(result) - 1, -1, -1):
        if result[index].text and _kind(result[index].text, syntax) == kind:
            result.insert(index + 1, node)
            return
    if result and not result[-1].text:
        result.insert(len(result) - 1, node)  # before the trailing "end"/comments
    else:
        result.append(node)


def _kind(text: str, syntax: PlatformSyntax) -> str:
    words = text.split()
    return " ".join(words[:2]) if syntax.style == "set" else (words[0] if words else "")


def remediation(before: list[Node], after: list[Node], syntax: PlatformSyntax,
                order: list[Node] | None = None) -> list[str]:
    """Commands that turn ``before`` into ``after`` (pass them swapped for the undo).

    Additions and changes come first, in the order of ``order`` (the rendered template, which
    defines things before they are referenced); removals come last, in reverse, so a reference
    is dropped before what it refers to.
    """
    old = {node.text: node for node in before}
    new = {node.text for node in after}
    rank = {node.text: index for index, node in enumerate(order or [])}
    changed = [node for node in after if node.text and (node.text not in old or not old[node.text].same(node))]
    changed.sort(key=lambda node: rank.get(node.text, len(rank)))
    commands: list[str] = []
    for node in changed:
        previous = old.get(node.text)
        commands += node.lines(0, syntax.style, trivia=False) if previous is None else _section_delta(previous, node, syntax)
    for node in reversed(before):
        if node.text and node.text not in new:
            commands += _negate_section(node, syntax)
    return commands


def negate(text: str, syntax: PlatformSyntax) -> str:
    """``switchport mode trunk`` -> ``no switchport mode trunk``; ``no switchport`` -> ``switchport``."""
    if text.startswith(syntax.negate):
        return text[len(syntax.negate):]
    return f"{syntax.negate}{text}"


def _negate_section(node: Node, syntax: PlatformSyntax) -> list[str]:
    if syntax.style == "set":
        return [f"delete {line[4:]}" for line in node.lines(0, "set", trivia=False)]
    return [negate(node.text, syntax)]


def _section_delta(before: Node, after: Node, syntax: PlatformSyntax) -> list[str]:
    new_children = [child.text for child in after.children]
    old_children = {child.text: child for child in before.children}
    if syntax.style == "set":
        removed = [f"delete {before.text[4:]} {c.text}" for c in before.children if c.text not in new_children]
        added = [f"{after.text} {c.text}" for c in after.children if c.text not in old_children]
        return removed + added
    lines = [after.text]
    new_settings = {syntax.setting(after.text, c.text) for c in after.children if c.text not in old_children}
    for child in before.children:
        if child.text in new_children:
            continue
        # A single-valued setting that is set anew (access vlan 5 -> 10) needs no "no" first.
        setting = syntax.setting(after.text, child.text)
        if setting is not None and setting in new_settings:
            continue
        lines.append(f" {negate(child.text, syntax)}")
    for child in after.children:
        prior = old_children.get(child.text)
        if prior is None or not prior.same(child):
            lines += child.lines(1, trivia=False)
    return lines
