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

- ``trunk``: how the platform writes a trunk's allowed VLANs. Every form devices print is read
  (``1, 2``, ``1-3,5``, continuation lines with ``add``, ``remove``, ``except``, ``none``, ``all``) and
  folded into one line per port; the engine only ever adds VLANs to a trunk.

Any other running section at the same key as a desired one is replaced by it; everything else is
left exactly as it was. ``merge()`` gives the config after the change; ``engine.remediate`` the
commands that get there (and the commands that undo it), with hier_config.

Junos running configs in brace form (``show configuration``) are converted to ``set`` form first
(``engine.junos``); a line that is neither is an error, never ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

from engine import junos
from engine.frozen import frozen

ALL_VLANS = frozenset(range(1, 4095))


@frozen
class TrunkSyntax:
    """A trunk's allowed-VLAN lines: ``prefix`` then a list, ``add``/``remove``/``except`` and a list,
    ``none`` or ``all``. ``mode`` marks a port as a trunk (one without a list allows every VLAN)."""

    prefix: str  # "switchport trunk allowed vlan "
    mode: re.Pattern[str]

    def matches(self, text: str) -> bool:
        return text.startswith(self.prefix)

    @property
    def allowed(self) -> re.Pattern[str]:
        return re.compile("^" + re.escape(self.prefix))

    def continuation(self, text: str) -> bool:
        return text[len(self.prefix):].split()[:1] in (["add"], ["remove"])

    def fold(self, lines: list[str]) -> frozenset[int]:
        """The VLANs a port allows after its allowed-VLAN lines, in order (no line: every VLAN).
        Raises ValueError for a list it cannot read."""
        allowed = set(ALL_VLANS)
        for line in lines:
            words = line[len(self.prefix):].strip().split(None, 1)
            keyword = words[0].lower() if words else ""
            rest = words[1] if len(words) > 1 else ""
            if keyword == "none":
                allowed = set()
            elif keyword == "all":
                allowed = set(ALL_VLANS)
            elif keyword in ("add", "remove", "except"):
                vlans = parse_vlan_list(rest, strict=True)
                if keyword == "add":
                    allowed |= vlans
                elif keyword == "remove":
                    allowed -= vlans
                else:
                    allowed = set(ALL_VLANS) - vlans
            else:
                allowed = parse_vlan_list(line[len(self.prefix):], strict=True)
        return frozenset(allowed)

    def text(self, vlans: frozenset[int] | set[int]) -> str:
        if not vlans:
            return f"{self.prefix}none"
        if set(vlans) == ALL_VLANS:
            return f"{self.prefix}all"
        return self.prefix + format_vlan_list(sorted(vlans))

    def continued(self, keyword: str, vlans: list[int]) -> str:
        return f"{self.prefix}{keyword} {format_vlan_list(vlans)}"


@frozen
class PlatformSyntax:
    """How a CLI platform writes its configuration and which of its lines the engine owns (from its platform.yaml)."""

    style: str  # "indent" | "set"
    comment: str = "!"
    negate: str = "no "
    section_words: int = 3
    owned: tuple[re.Pattern[str], ...] = ()
    marker: re.Pattern[str] | None = None
    shared: tuple[tuple[re.Pattern[str], tuple[re.Pattern[str], ...]], ...] = ()
    sections: tuple[re.Pattern[str], ...] = ()  # set style: prefixes that form one section, first match wins
    # (line, when): in a shared section, child lines matching ``line`` are the engine's too when the
    # desired section has a line matching ``when`` (Junos: one VLAN member on an access port).
    exclusive: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = ()
    # Child lines that reference engine objects (``service-policy output INTENT-...``): removed from
    # any shared section no intent wants any more, so nothing points at an object being deleted.
    bindings: tuple[re.Pattern[str], ...] = ()
    trunk: TrunkSyntax | None = None
    # (object section, child line naming it by ``{name}``): when the merge removes an engine-owned
    # section matching the first (Junos ``set vlans guest``), the lines naming it go from every section
    # (``vlan members guest`` on a trunk or a port no intent wants), or the device refuses the commit.
    references: tuple[tuple[re.Pattern[str], str], ...] = ()
    # Child lines the device accepts but never shows (IOS and EOS print `shutdown`, never `no shutdown`):
    # sent when the engine creates a section, never wanted again in one the device already has.
    unprinted: tuple[re.Pattern[str], ...] = ()
    # Sections (a pattern per level, top first) whose child lines may repeat (IOS: a BGP address family):
    # read as printed, where any other section's repeated line is read once.
    repeatable: tuple[tuple[re.Pattern[str], ...], ...] = ()

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
            exclusive=tuple((re.compile(e["line"]), re.compile(e["when"])) for e in raw.get("exclusive", [])),
            bindings=tuple(re.compile(p) for p in raw.get("bindings", [])),
            trunk=TrunkSyntax(raw["trunk"]["allowed"], re.compile(raw["trunk"]["mode"])) if raw.get("trunk") else None,
            unprinted=tuple(re.compile(p) for p in raw.get("unprinted", [])),
            references=tuple((re.compile(r["section"]), r["line"]) for r in raw.get("references", [])),
            repeatable=tuple(tuple(re.compile(p) for p in lineage) for lineage in raw.get("repeatable", [])),
        )

    @cached_property
    def section_match(self) -> Callable[[str], re.Match[str] | None]:
        """``first_section_match`` of ``sections``: one joined pattern's match where they join (each line
        of a set-style config asks; Junos has thirteen patterns, tried one by one)."""
        joined = _sections_joined(self.sections)
        if joined is not None:
            return joined.match
        return partial(first_section_match, self.sections)

    def may_repeat(self, lineage: tuple[str, ...]) -> bool:
        """True when the children of the section at ``lineage`` may repeat (``repeatable``)."""
        return any(len(rule) == len(lineage) and all(p.search(text) for p, text in zip(rule, lineage, strict=True))
                   for rule in self.repeatable)

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

    def owns_child(self, section: str, child: str, node: Node) -> bool:
        """True when ``child`` of the shared section ``section`` (as ``node`` holds it) is the engine's line."""
        children = self.shared_children(section)
        if children is None:
            return False
        if any(p.search(child) for p in (*children, *self.bindings)):
            return True
        return any(line.search(child) and any(when.search(c.text) for c in node.children) for line, when in self.exclusive)


@dataclass(slots=True)  # thousands a device: made and read faster without a __dict__ each
class Node:
    """A config line and its children. ``raw`` keeps the device's own text (indentation included)
    and ``leading`` the comment/separator lines written before it, so unchanged regions render
    exactly as the device shows them. A node with empty ``text`` only carries trailing lines."""

    text: str
    children: list[Node] = field(default_factory=list)
    raw: str | None = None
    leading: list[str] = field(default_factory=list)

    def lines(self, depth: int = 0, style: str = "indent", trivia: bool = True) -> list[str]:
        out: list[str] = []
        _write([self], depth, style, trivia, out)
        return out

    def same(self, other: Node) -> bool:
        return self.text == other.text and len(self.children) == len(other.children) and all(
            a.same(b) for a, b in zip(self.children, other.children, strict=False)
        )


class ConfigLineError(ValueError):
    """A running config the engine cannot read as its device would, at ``line`` (1-based) of its text."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line

    def __reduce__(self) -> tuple[type[ConfigLineError], tuple[int, str]]:  # as it was, from another process
        return type(self), (self.line, str(self))


def parse(text: str, syntax: PlatformSyntax, repeats: list[str] | None = None) -> list[Node]:
    """Top-level nodes of a configuration. Comment, separator and blank lines (and ``end``) are kept
    as leading trivia of the next node, or in a final text-less node.

    A section or line the text holds twice at one level is read once, as the device reads it
    (``_merge_repeats``); ``repeats`` gets a description of each (for the plan's notes). Raises
    ConfigLineError where the two disagree about a setting the engine owns."""
    if syntax.style == "set":
        brace = junos.is_brace_form(text)
        return _parse_set(junos.to_set(text) if brace else text, syntax, repeats, numbered=not brace)
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []
    pending: list[str] = []
    banners: set[int] = set()  # id() of every banner node: its children are text, never merged
    banner: tuple[Node, str] | None = None  # the banner being read and the delimiter that ends it
    comment = syntax.comment
    banners_in = "banner" in text  # else no line starts one: not asked of each
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.lstrip()
        if banner is not None:  # a banner's text is text, whatever it looks like (`vlan 20`, `!`)
            banner[0].children.append(Node(line, raw=line))
            if (stripped == "EOF") if banner[1] == "EOF" else banner[1] in line:
                banner = None
            continue
        # the split only for a candidate
        delimiter = banner_delimiter(line) if banners_in and line.startswith("banner") else None
        if delimiter is not None:
            node = Node(stripped, raw=line, leading=pending)
            pending, stack = [], []
            roots.append(node)
            banners.add(id(node))
            if not _one_line(stripped, delimiter):
                banner = (node, delimiter)
            continue
        if not stripped or stripped.startswith(comment) or stripped == "end":
            pending.append(line)
            continue
        node = Node(stripped, [], line, pending)
        pending = []
        if line[0] != " ":  # a top line (most of them): it ends every section open
            roots.append(node)
            stack = [(0, node)]
            continue
        indent = len(line) - len(line.lstrip(" "))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack:
            stack[-1][1].children.append(node)
        else:
            roots.append(node)
        stack.append((indent, node))
    if pending:
        roots.append(Node("", leading=pending))
    if _repeated(roots, banners, _spaced(text)):
        roots = _merge_repeats(roots, syntax, banners, _line_numbers(roots), repeats)
    if syntax.trunk is not None and syntax.trunk.prefix in text:  # every line folded is a line of the text
        for root in roots:
            _fold_trunk(root, syntax.trunk)
    return roots


def _key(text: str) -> str:
    """A line as the device (and hier_config's reader) tells lines apart: inner whitespace folded."""
    return " ".join(text.split())


def _spaced(text: str) -> bool:
    """True when lines of ``text`` may have whitespace inside them that ``_key`` folds (two spaces, a
    tab; deep indentation and trailing spaces count too): most configs have none, and then a line's
    text is its key. (Other Unicode spaces are not looked for: hier_config's reader would fold them,
    and ``remediate.hconfig`` says which two lines it made one.)"""
    return "\t" in text or "  " in text.replace("\n  ", "\n")


def _repeated(nodes: list[Node], banners: set[int], spaced: bool) -> bool:
    """True when some level of ``nodes`` holds two lines of one text (a banner's text aside; ``spaced``:
    the text has lines with whitespace ``_key`` folds)."""
    levels = [nodes]
    while levels:
        level = levels.pop()
        if len(level) > 1 and len({_key(node.text) for node in level} if spaced else
                                  {node.text for node in level}) != len(level):
            return True
        if banners:
            levels.extend(node.children for node in level if node.children and id(node) not in banners)
        else:
            levels.extend(node.children for node in level if node.children)
    return False


def _line_numbers(nodes: list[Node]) -> dict[int, int]:
    """id() of each node of a freshly parsed indent-style config -> its line in the text (nodes are in
    text order, each one line after its leading trivia; a trailing text-less node has no line)."""
    numbers: dict[int, int] = {}
    line = 1
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        line += len(node.leading)
        if node.raw is not None:
            numbers[id(node)] = line
            line += 1
        stack.extend(reversed(node.children))
    return numbers


def _merge_repeats(nodes: list[Node], syntax: PlatformSyntax, banners: set[int], numbers: dict[int, int],
                   repeats: list[str] | None, above: tuple[str, ...] = ()) -> list[Node]:
    """``nodes`` with each line at most once per level: a section entered again is one section with the
    children of both (config mode re-enters a section, so a device fed the text ends with the union:
    files concatenated, a section header lost so its lines fell under the section above, a device that
    prints a section twice), a line given again is the line once (re-entering a command changes
    nothing). The repeat's comment lines go before the next node. A banner given twice alike is once;
    different banners stay as they are (the engine never touches them). Where the repeat of a shared
    section sets a setting the engine owns to another value than the first (``switchport access vlan
    10`` and ``20``), the device runs one of them, which cannot be told from the text: ConfigLineError
    at the repeat's line, rather than a plan computed from a state that no device has."""
    first: dict[str, Node] = {}
    result: list[Node] = []
    carried: list[str] = []  # the comment lines of a repeat that went
    for node in nodes:
        if carried:
            node.leading = [*carried, *node.leading]
            carried = []
        key = _key(node.text)
        earlier = first.get(key) if node.text else None
        if earlier is None or id(node) in banners and not earlier.same(node):
            if node.text:
                first.setdefault(key, node)
            result.append(node)
            continue
        if not above:
            _refuse_conflicts(earlier, node, syntax, numbers)
        if repeats is not None:
            path = " > ".join((*above, node.text))
            repeats.append(f"{path} (lines {numbers.get(id(earlier), 1)} and {numbers.get(id(node), 1)})")
        if id(node) not in banners:
            earlier.children.extend(node.children)
        carried = list(node.leading)
    if carried:
        result.append(Node("", leading=carried))
    for node in result:
        if node.children and id(node) not in banners and not syntax.may_repeat((*above, node.text)):
            node.children = _merge_repeats(node.children, syntax, banners, numbers, repeats, (*above, node.text))
    return result


def _refuse_conflicts(earlier: Node, repeat: Node, syntax: PlatformSyntax, numbers: dict[int, int]) -> None:
    """ConfigLineError when ``repeat`` (a top section met again) sets a setting the engine owns in a
    shared section to a value ``earlier`` does not have (a trunk's ``add``/``remove`` lines continue
    the list, as the device reads them: no conflict)."""
    if syntax.shared_children(earlier.text) is None:
        return
    trunk = syntax.trunk

    def setting(text: str) -> str | None:
        if trunk is not None and trunk.matches(text) and trunk.continuation(text):
            return None
        found = syntax.setting(earlier.text, text)
        if found is None and text.startswith(syntax.negate):  # ``no ip address``: the setting unset
            found = syntax.setting(earlier.text, text[len(syntax.negate):] + " ")
        return found

    values: dict[str, list[Node]] = {}
    for child in earlier.children:
        key = setting(child.text)
        if key is not None:
            values.setdefault(key, []).append(child)
    for child in repeat.children:
        key = setting(child.text)
        if key is None or key not in values or any(_key(c.text) == _key(child.text) for c in values[key]):
            continue
        other = values[key][0]
        raise ConfigLineError(numbers.get(id(child), 1), (
            f"{earlier.text!r} is in the running config twice (lines {numbers.get(id(earlier), 1)} and "
            f"{numbers.get(id(repeat), 1)}), with {other.text!r} (line {numbers.get(id(other), 1)}) and "
            f"{child.text!r} (line {numbers.get(id(child), 1)}): which one the device runs cannot be told; "
            "save its running config again"))


def banner_delimiter(line: str) -> str | None:
    """The delimiter of the banner ``line`` starts (``banner motd ^C``: ``^C``; ``banner exec #``: ``#``;
    EOS' ``banner login``: a line ``EOF``), None for any other line."""
    words = line.split(None, 2)
    if len(words) < 2 or words[0] != "banner" or line[:1].isspace():
        return None
    if len(words) == 2:
        return "EOF"
    return words[2][:2] if words[2].startswith("^C") else words[2][:1]


def hier_lines(nodes: list[Node], syntax: PlatformSyntax) -> Iterator[str]:
    """The lines hier_config reads, comments and separators left out: a banner's text as the device
    printed it (its reader ends ``banner login`` at a line that is exactly ``EOF``), a one-line banner
    on three lines (``single_line_banners``)."""
    if syntax.style == "set":
        yield from (line for node in nodes for line in node.lines(0, "set", trivia=False))
        return
    for node in nodes:
        delimiter = banner_delimiter(node.raw or node.text)
        if delimiter is not None and not _one_line(node.text, delimiter):
            body = [child.raw or child.text for child in node.children]
            yield node.text
            yield from body
            if not body or not (body[-1].strip() == "EOF" if delimiter == "EOF" else delimiter in body[-1]):
                yield delimiter  # a banner cut short (a truncated file): ended, not the rest read as its text
        else:
            yield from single_line_banners(node.lines(0, syntax.style, trivia=False))


def _one_line(text: str, delimiter: str) -> bool:
    return delimiter != "EOF" and delimiter in text.split(None, 2)[2][len(delimiter):]


def single_line_banners(lines: Iterable[str]) -> Iterator[str]:
    """``banner motd ^CAuthorised access only^C`` as the three lines hier_config's reader can end (it
    looks for the delimiter on a later line only, and read the rest of the config as banner text)."""
    for line in lines:
        delimiter = banner_delimiter(line)
        if delimiter is not None and delimiter != "EOF":
            head, _, rest = line.partition(" " + line.split(None, 2)[2][:len(delimiter)])
            body = rest[:-len(delimiter)] if rest.endswith(delimiter) else None
            if body is not None and delimiter not in body and line != "banner motd ##":  # that one it knows
                yield from (f"{head} {delimiter}", *([body] if body else []), delimiter)
                continue
        yield line


def _fold_trunk(section: Node, trunk: TrunkSyntax) -> None:
    """One allowed-VLAN line per port, whatever forms and continuation lines the device printed."""
    if not section.children:
        return
    prefix = trunk.prefix
    lines = [child for child in section.children if child.text.startswith(prefix)]  # trunk.matches, inline
    if not lines or banner_delimiter(section.raw or "") is not None:
        return  # banner text
    try:
        vlans = trunk.fold([child.text for child in lines])
    except ValueError as exc:
        raise ValueError(f"{section.text}: {exc}") from None
    text = trunk.text(vlans)
    first = lines[0]
    indent = (first.raw or " ")[: len(first.raw or " ") - len((first.raw or " ").lstrip(" "))]
    folded = Node(text, [], indent + text if len(lines) > 1 or text != first.text else first.raw, first.leading)
    section.children = [folded if child is first else child for child in section.children if child is first or child not in lines]


def set_head(line: str, syntax: PlatformSyntax) -> str:
    """The section of a ``set`` line: the first ``sections`` pattern that matches, else its first words."""
    return set_split(line, syntax)[0]


def set_split(line: str, syntax: PlatformSyntax) -> tuple[str, str]:
    """A ``set`` line's section (``set_head``) and the rest of it. Without a pattern that matches, the
    section is the first words joined by one space and the rest what follows them: a line with more
    space between those words (``set  system host-name x``, a hand-edited file) is not cut inside a word,
    and the patterns see such a line as with one space, so its section is the one-space line's."""
    if "  " in line or not line.isprintable() or line[:1] == " " or line[-1:] == " ":
        # more or other space than one between words: the patterns are written with one, so they are
        # matched against the line with one, and the line itself is cut after the words the match took
        single = " ".join(line.split())
        if single != line:
            match = syntax.section_match(single)
            if match is not None:
                return match.group(0), line[_index_in(line, match.end()):].strip()
    else:
        match = syntax.section_match(line)
        if match is not None:
            return match.group(0), line[match.end():].strip()
    words = line.split(None, syntax.section_words)
    return " ".join(words[: syntax.section_words]), (words[syntax.section_words].strip()
                                                      if len(words) > syntax.section_words else "")


def _index_in(line: str, end: int) -> int:
    """The index in ``line`` that ``end`` is in the same line with its words joined by one space."""
    taken = 0
    for word in re.finditer(r"\S+", line):
        if taken + len(word.group(0)) >= end:
            return word.start() + end - taken
        taken += len(word.group(0)) + 1
    return len(line)


def first_section_match(sections: tuple[re.Pattern[str], ...], line: str) -> re.Match[str] | None:
    """The match of the first of ``sections`` that matches the start of ``line`` (None: none does)."""
    return next((m for p in sections if (m := p.match(line))), None)


def _sections_joined(sections: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    """``sections`` as one pattern whose match at a line's start is ``first_section_match``'s: ``re``
    tries the alternatives in order and nothing follows them, so the first that matches is the match,
    with the text its own pattern matches. None where a pattern could mean something else beside the
    others (flags, a named group, a back reference: any ``(?`` or backslash before a digit)."""
    if not sections or any(p.flags != re.UNICODE or "(?" in p.pattern or re.search(r"\\\d", p.pattern)
                           for p in sections):
        return None
    return re.compile("|".join(f"(?:{p.pattern})" for p in sections))


def _parse_set(text: str, syntax: PlatformSyntax, repeats: list[str] | None = None, numbered: bool = True
               ) -> list[Node]:
    roots: dict[str, Node] = {}
    pending: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped.startswith("set "):
            if stripped and not stripped.startswith((syntax.comment, "/*", "deactivate ", "protect ")):
                raise ValueError(f"line {number}: {stripped[:60]!r} is neither a set line nor a comment "
                                 "(expected `show configuration | display set` or brace form)")
            pending.append(raw.rstrip())
            continue
        head, rest = set_split(stripped, syntax)
        node = roots.get(head)
        if node is None:
            node = roots[head] = Node(head, [], None, pending)
            pending = []
        if rest:
            node.children.append(Node(rest, [], stripped, pending))
            pending = []
    nodes = list(roots.values())
    if pending:
        nodes.append(Node("", leading=pending))
    for node in nodes:
        if len(node.children) > 1 and len({_key(child.text) for child in node.children}) != len(node.children):
            node.children = _set_once(node.children, text if numbered else None, repeats)
    return nodes


def _set_once(children: list[Node], text: str | None, repeats: list[str] | None) -> list[Node]:
    """A section's set lines, each once: Junos keeps one statement however often it is set (``text``:
    the set-form text, for the lines of a repeat; None for a config converted from brace form)."""
    kept: dict[str, Node] = {}
    result: list[Node] = []
    carried: list[str] = []  # the comment (``protect``) lines of a repeat: kept before the next line
    told: set[str] = set()
    for child in children:
        if carried:
            child.leading = [*carried, *child.leading]
            carried = []
        key = _key(child.text)
        earlier = kept.setdefault(key, child)
        if earlier is child:
            result.append(child)
            continue
        carried = list(child.leading)
        if repeats is not None and key not in told:
            told.add(key)
            line = _key(earlier.raw or child.text)
            numbers = [str(n) for n, raw in enumerate((text or "").splitlines(), 1) if _key(raw) == line]
            repeats.append(f"{line} (lines {', '.join(numbers)})" if len(numbers) > 1 else line)
    return result


def render(nodes: list[Node], syntax: PlatformSyntax) -> str:
    out: list[str] = []
    _write(nodes, 0, syntax.style, True, out)
    return "\n".join(out) + ("\n" if out else "")


def _write(nodes: list[Node], depth: int, style: str, trivia: bool, out: list[str]) -> None:
    """The lines of each of ``nodes`` at ``depth`` (``Node.lines``), written to ``out``: one list for a
    whole config, not one made for every node and added to its parent's. ``trivia``: with the comment
    lines before each and the line as it was read (else each rebuilt from its text)."""
    for node in nodes:
        if trivia and node.leading:
            out += node.leading
        if style == "set":
            if node.children:  # a child's own leading lines too (a ``protect`` line between two of a port's)
                for child in node.children:
                    if trivia and child.leading:
                        out += child.leading
                    out.append(child.raw or f"{node.text} {child.text}")
            elif node.text:
                out.append(node.raw or node.text)
            continue
        if node.text:
            out.append(node.raw if node.raw is not None and trivia else " " * depth + node.text)
        if node.children:
            _write(node.children, depth + 1, style, trivia, out)


def merge(running: list[Node], desired: list[Node], syntax: PlatformSyntax) -> list[Node]:
    """The configuration after applying ``desired`` to ``running``, touching only what the engine owns."""
    if not running:
        fresh = _merge_fresh(desired, syntax)
        if fresh is not None:
            return fresh
    wanted = {node.text: node for node in desired}
    result: list[Node] = []
    dropped: list[str] = []  # engine sections that go
    for node in running:
        want = wanted.get(node.text) if node.text else None
        if want is None:
            if not node.text or not syntax.owns(node):
                result.append(_unbind(node, syntax))  # not ours: untouched but for our bindings
            else:
                dropped.append(node.text)
            continue
        result.append(_merge_section(node, want, syntax))
    if syntax.references and dropped:
        result = _unreference(result, dropped, syntax)
    present = {node.text for node in result}
    placed = _Placed(result, syntax)
    previous: str | None = None
    for node in desired:
        if node.text and node.text not in present:
            separators = [line for line in node.leading if line.strip() == syntax.comment]
            placed.insert(Node(node.text, node.children, node.raw, separators), after=previous)
        if node.text:
            previous = node.text
    return result


def _merge_fresh(desired: list[Node], syntax: PlatformSyntax) -> list[Node] | None:
    """``merge([], desired)`` in one pass: each new section goes after the section before it when that is
    of its kind, else after the last of its kind, else at the end; with nothing there before and no two
    sections of one text, that is each section at the end of its kind's run, the kinds in the order they
    first appear. None where two sections share a text (placing after the first of them differs)."""
    kinds: dict[str, list[Node]] = {}
    texts: set[str] = set()
    comment = syntax.comment
    indent = syntax.style != "set"
    for node in desired:
        text = node.text
        if not text:
            continue
        if text in texts:
            return None
        texts.add(text)
        leading = node.leading
        if leading:
            separators = [line for line in leading if line.strip() == comment]
            # the node itself where its leading lines are separators only (most are): nothing differs
            placed = node if len(separators) == len(leading) else Node(text, node.children, node.raw, separators)
        else:
            placed = node
        if indent:  # _kind, inline: only the first word split off
            first = text.split(None, 1)
            kind = first[0] if first else ""
        else:
            kind = _kind(text, syntax)
        run = kinds.get(kind)
        if run is None:
            kinds[kind] = [placed]
        else:
            run.append(placed)
    return [node for run in kinds.values() for node in run]


def _unreference(nodes: list[Node], dropped: list[str], syntax: PlatformSyntax) -> list[Node]:
    """``nodes`` without the child lines that name a dropped engine section (``syntax.references``)."""
    naming: set[str] = set()
    for section in dropped:
        for pattern, line in syntax.references:
            match = pattern.match(section)
            if match:
                naming.add(line.format(**match.groupdict()))
    if not naming:
        return nodes
    result = []
    for node in nodes:
        kept = [child for child in node.children if child.text not in naming]
        result.append(node if len(kept) == len(node.children) else Node(node.text, kept, node.raw, node.leading))
    return result


def take_over(running: list[Node], removals: frozenset[tuple[str, str]], renames: dict[str, str]
              ) -> tuple[list[Node], set[tuple[str, str]]]:
    """``running`` without the lines an intent's ``takeover: true`` removes (``(section, "")``: the whole
    section), VLAN member lines following renamed VLANs; and every (section, line) that goes."""
    gone: set[tuple[str, str]] = set()
    result: list[Node] = []
    for node in running:
        if (node.text, "") in removals:
            gone.add((node.text, ""))
            gone.update((node.text, child.text) for child in node.children)
            continue
        children: list[Node] = []
        for child in node.children:
            if (node.text, child.text) in removals:
                gone.add((node.text, child.text))
                continue
            words = child.text.split()
            if len(words) > 2 and words[-3:-1] == ["vlan", "members"] and words[-1] in renames:
                gone.add((node.text, child.text))
                text = " ".join([*words[:-1], renames[words[-1]]])
                child = Node(text, child.children, f"{node.text} {text}" if (child.raw or "").startswith("set ") else None,
                             child.leading)
            children.append(child)
        result.append(node if len(children) == len(node.children) and all(
            a is b for a, b in zip(children, node.children, strict=True)) else Node(node.text, children, node.raw, node.leading))
    return result, gone


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

    present = {child.text for child in running.children}
    desired_children = [c for c in (_union(child, running.children, syntax) for child in desired.children)
                        if c and (c.text in present or not any(p.search(c.text) for p in syntax.unprinted))]
    wanted = {child.text for child in desired_children}
    indent = _child_indent(running, desired)
    unplaced = [child for child in desired_children if child.text not in {c.text for c in running.children}]
    kept: list[Node] = []
    for child in running.children:
        key = setting(child.text)
        if key is None and child.text.startswith(syntax.negate) and child.text not in wanted:
            # ``no ip address``: the placeholder of an owned setting the device prints where it has none;
            # the intent's value takes its place (the device drops the placeholder itself), else it stays.
            placeholder = setting(child.text[len(syntax.negate):] + " ")
            replacement = next((d for d in unplaced if placeholder and setting(d.text) == placeholder), None)
            if replacement is not None:
                unplaced.remove(replacement)
                kept.append(_reindent(replacement, indent))
                continue
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


def _union(child: Node, running_children: list[Node], syntax: PlatformSyntax) -> Node | None:
    """A trunk's allowed VLANs grow by the intent's and never lose one somebody else put there:
    ``10,30`` wanted next to a running ``10, 99`` becomes ``10,30,99``; next to a trunk that has no
    list (every VLAN allowed) the line is not wanted at all (None)."""
    trunk = syntax.trunk
    if trunk is None or not trunk.matches(child.text):
        return child
    have = [other.text for other in running_children if trunk.matches(other.text)]
    if not have:
        if any(trunk.mode.search(other.text) for other in running_children):
            return None
        return child
    vlans = trunk.fold(have) | trunk.fold([child.text])
    return Node(trunk.text(vlans), child.children, None, [])


def parse_vlan_list(text: str, strict: bool = False) -> set[int]:
    """``"1-3,10"`` (or ``"1-3, 10"``, as some devices print it) -> {1, 2, 3, 10}.
    ``strict``: anything else than numbers and ranges of 1..4094 raises ValueError."""
    vlans: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        low, high = low.strip(), high.strip()
        if low.isdigit() and (high.isdigit() or not high) and 1 <= int(low) <= int(high or low) <= 4094:
            vlans.update(range(int(low), int(high or low) + 1))
        elif strict:
            raise ValueError(f"cannot read the VLAN list {text.strip()!r}")
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


class _Placed:
    """The sections of a merge with each one's text and kind beside it, so placing a new section finds
    where it goes by list searches, not a kind worked out again for every section at every insertion."""

    def __init__(self, result: list[Node], syntax: PlatformSyntax) -> None:
        self.result = result
        self.syntax = syntax
        self.texts = [node.text for node in result]
        self.kinds: list[str | None] = [_kind(node.text, syntax) if node.text else None for node in result]

    def insert(self, node: Node, after: str | None = None) -> None:
        """Place a new section after the section that precedes it in the desired config when that is of
        the same kind, else after the last section of its kind (same first word), else at the end."""
        kind = _kind(node.text, self.syntax)
        if after is not None and _kind(after, self.syntax) == kind and after in self.texts:
            self._put(self.texts.index(after) + 1, node, kind)
        elif kind in self.kinds:
            self._put(len(self.kinds) - self.kinds[::-1].index(kind), node, kind)  # after the last of its kind
        elif self.result and not self.result[-1].text:
            self._put(len(self.result) - 1, node, kind)  # before the trailing "end"/comments
        else:
            self._put(len(self.result), node, kind)

    def _put(self, index: int, node: Node, kind: str) -> None:
        self.result.insert(index, node)
        self.texts.insert(index, node.text)
        self.kinds.insert(index, kind)


def _kind(text: str, syntax: PlatformSyntax) -> str:
    words = text.split()
    return " ".join(words[:2]) if syntax.style == "set" else (words[0] if words else "")


def holds(running: list[Node], desired: list[Node], syntax: PlatformSyntax) -> bool:
    """True when ``running`` already has everything ``desired`` wants: merging changes nothing."""
    merged = merge(running, desired, syntax)
    return _content(merged, syntax) == _content(running, syntax)


def _content(nodes: list[Node], syntax: PlatformSyntax) -> list[list[str]]:
    return [node.lines(0, syntax.style, trivia=False) for node in nodes if node.text]
