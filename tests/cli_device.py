"""A minimal interpreter of configuration commands, for the circular property tests only.

Not a device emulator: it applies the commands ``engine.cliconfig.remediation`` emits to a parsed
config tree with each platform's own rules (a new value of an owned setting replaces the old one;
``no X`` removes X; ``delete`` removes set lines), so tests can check that running + plan == desired
and desired + rollback == running.
"""

from __future__ import annotations

from engine.cliconfig import Node, PlatformSyntax


def apply(nodes: list[Node], commands: list[str], syntax: PlatformSyntax) -> list[Node]:
    tree = [Node(n.text, [Node(c.text, list(c.children)) for c in n.children]) for n in nodes if n.text]
    if syntax.style == "set":
        return _apply_set(tree, commands, syntax)
    section: Node | None = None
    for command in commands:
        if not command.startswith(" "):
            if command.startswith(syntax.negate):
                target = command[len(syntax.negate):]
                tree = [n for n in tree if n.text != target]
                section = None
                continue
            section = next((n for n in tree if n.text == command), None)
            if section is None:
                section = Node(command)
                tree.append(section)
            continue
        assert section is not None, f"child command outside a section: {command!r}"
        depth = len(command) - len(command.lstrip(" "))
        text = command.strip()
        if depth > 1:  # nested child (policy-map class bodies): belongs to the last child
            section.children[-1].children.append(Node(text))
            continue
        if text.startswith(syntax.negate) and any(c.text == text[len(syntax.negate):] for c in section.children):
            target = text[len(syntax.negate):]
            section.children = [c for c in section.children if c.text != target]
            continue  # "no X" removes X; otherwise it is a line of its own ("no shutdown")
        if any(c.text == f"{syntax.negate}{text}" for c in section.children):
            section.children = [c for c in section.children if c.text != f"{syntax.negate}{text}"]
            continue  # back to the default, which the device does not show
        setting = syntax.setting(section.text, text)
        if setting is not None:
            section.children = [c for c in section.children if syntax.setting(section.text, c.text) != setting]
        section.children = [c for c in section.children if c.text != text]
        section.children.append(Node(text))
    return tree


def _apply_set(tree: list[Node], commands: list[str], syntax: PlatformSyntax) -> list[Node]:
    lines = [line for node in tree for line in node.lines(0, "set", trivia=False)]
    for command in commands:
        if command.startswith("delete "):
            target = "set " + command[len("delete "):]
            lines = [line for line in lines if line != target and not line.startswith(target + " ")]
        elif command not in lines:
            lines.append(command)
    from engine.cliconfig import parse

    return parse("\n".join(lines), syntax)


def canonical(nodes: list[Node], syntax: PlatformSyntax) -> dict[str, list[str]]:
    """Sections and their child lines, order-insensitive, trivia dropped."""
    result: dict[str, list[str]] = {}
    for node in nodes:
        if node.text:
            result[node.text] = sorted(line.strip() for line in node.lines(0, syntax.style, trivia=False)[1 if syntax.style != "set" else 0:])
    return result
