"""The brownfield checker: what a plan's commands do to a running config, judged line by line.

The commands are applied with hier_config (``HConfig.future``, the library's own prediction of a
device after a change) on IOS, EOS and NX-OS, and with Junos' own ``set``/``delete`` semantics on
Junos (hier_config's future does not model ``delete``). Trunk allowed-VLAN lists are folded here with
a reading of their forms written for this checker (not the engine's), so a dropped VLAN shows.

``check()`` asserts, for one device:
- every line of the desired (rendered) config is in the result: running + commands = desired;
- every running line the engine does not own is unchanged (a line may only go when it is in an
  engine object, or the desired config sets the same setting anew, or a takeover note names it);
- no port is shut: no new ``shutdown``/``disable``, no ``no shutdown`` lost;
- no trunk loses an allowed VLAN;
- result + rollback = running.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine import remediate
from engine.plan import DevicePlan

TRUNK = "switchport trunk allowed vlan"
UNPRINTED = {"ios": "no shutdown", "eos": "no shutdown", "nxos": "switchport mode access"}
ENGINE_NAMES = re.compile(r"INTENT-|intent-|intent:|tag 4711")
Path = tuple[str, ...]


def _vlans(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def fold(lines: list[str]) -> frozenset[int] | None:
    """Allowed VLANs after ``switchport trunk allowed vlan`` lines; None without any. The base lists
    first, then the ``add``/``remove`` continuations in order (hier_config's future puts the new
    lines of a section before the ones it kept)."""
    if not lines:
        return None
    allowed: set[int] = set(range(1, 4095))
    ordered = sorted(lines, key=lambda line: line[len(TRUNK):].split()[:1] in (["add"], ["remove"]))
    for line in ordered:
        rest = line[len(TRUNK):].strip()
        word, _, tail = rest.partition(" ")
        if word == "none":
            allowed = set()
        elif word == "all":
            allowed = set(range(1, 4095))
        elif word == "add":
            allowed |= _vlans(tail)
        elif word == "remove":
            allowed -= _vlans(tail)
        elif word == "except":
            allowed = set(range(1, 4095)) - _vlans(tail)
        else:
            allowed = _vlans(rest)
    return frozenset(allowed)


@dataclass
class Config:
    """A configuration as a set of line paths, trunk lists folded per section."""

    paths: set[Path]
    trunks: dict[str, frozenset[int]]


def _tree_paths(node: object, prefix: Path = ()) -> list[Path]:
    out: list[Path] = []
    for child in node.children:  # type: ignore[attr-defined]
        path = (*prefix, child.text)
        out.append(path)
        out += _tree_paths(child, path)
    return out


VLAN_LIST = re.compile(r"vlan ([0-9]+(?:[,-][0-9]+)+)")


def _vlan_lists(paths: list[Path]) -> set[Path]:
    """``vlan 4-5,10`` (VLANs without settings, as IOS, EOS and NX-OS print them) as the ``vlan N`` each
    defines, so a VLAN the device had in such a list and a rollback deletes shows as a changed line."""
    out: set[Path] = set()
    for path in paths:
        listed = VLAN_LIST.fullmatch(path[0]) if len(path) == 1 else None
        out |= {(f"vlan {vid}",) for vid in _vlans(listed.group(1))} if listed else {path}
    return out


def canonical_indent(tree: object) -> Config:
    paths = _vlan_lists(_tree_paths(tree))
    trunks: dict[str, list[str]] = {}
    for path in _tree_paths(tree):
        if len(path) == 2 and path[1].startswith(TRUNK):
            trunks.setdefault(path[0], []).append(path[1])
    kept = {p for p in paths if not (len(p) == 2 and p[1].startswith(TRUNK))}
    folded = {section: fold(lines) for section, lines in trunks.items()}
    return Config(kept, {k: v for k, v in folded.items() if v is not None})


def junos_lines(text: str) -> list[str]:
    """The set statements of ``text``, each once (Junos holds a statement set twice once)."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip().startswith("set ")))


def junos_apply(lines: list[str], commands: list[str]) -> list[str]:
    result = list(lines)
    for command in commands:
        if command.startswith("delete "):
            target = "set " + command[len("delete "):]
            result = [line for line in result if line != target and not line.startswith(target + " ")]
        elif command.startswith("set ") and command not in result:
            words = command.split()  # a single value (`description`, a family's one input filter) is replaced
            if len(words) > 3 and (words[-2] in OVERRIDES or words[-3:-1] in (["filter", "input"], ["filter", "output"])):
                result = [line for line in result if line.split()[:-1] != words[:-1]]
            result.append(command)
        elif not command.startswith("set "):
            raise AssertionError(f"not a Junos configuration command: {command!r}")
    return result


def _setting(text: str) -> str:
    words = text.split()
    if words[:1] == ["no"]:
        words = words[1:]
    return " ".join(words[:3] if words[:1] in (["switchport"], ["service-policy"]) else words[:2])


def check(platform: str, running_text: str, desired_text: str, plan: DevicePlan, inherited: list[str] | None = None
          ) -> None:
    """Assert the properties above for one device's plan against its running config. ``inherited``
    (Junos): the lines the device runs through its configuration groups, as ``show configuration |
    display inheritance`` would show them, written out by hand for the case."""
    if platform == "junos":
        _check_junos(running_text, desired_text, plan, inherited or [])
        return
    running = remediate.hconfig(platform, remediate.content(_parse(platform, running_text), _syntax(platform)))
    forward_tree = remediate.apply_commands(platform, running_text, plan.commands)
    before, after = canonical_indent(running), canonical_indent(forward_tree)
    desired = canonical_indent(remediate.hconfig(platform, desired_text))
    # Lines these devices never print (IOS and EOS: `no shutdown`; NX-OS: the default `switchport mode
    # access`): a section the device already had shows none, and needs none.
    hidden = UNPRINTED.get(platform)
    quiet = {(p[0], hidden) for p in before.paths if len(p) == 1} if hidden else set()
    missing = sorted(p for p in desired.paths if p not in after.paths and p not in quiet)
    assert not missing, f"running + commands lacks desired lines: {missing[:5]}"
    for section, vlans in desired.trunks.items():
        assert vlans <= after.trunks.get(section, frozenset(range(1, 4095))), f"{section}: desired VLANs not allowed"
    desired_sections = {p[0]: p for p in desired.paths}
    takeover = " ".join(plan.notes)
    removed = {line for note in plan.notes if ": removes " in note for line in note.split(": removes ", 1)[1].split("; ")}
    marked = {p[0] for p in before.paths if len(p) == 2 and p[1].startswith("description intent:")}
    for path in sorted(before.paths - after.paths):
        if any(ENGINE_NAMES.search(part) for part in path) or path[0] in marked:
            continue
        if len(path) == 1 and path[0].startswith("no ") and (path[0][3:],) in desired.paths:
            continue  # `no ip routing` where the desired config routes: the same setting, set anew
        if len(path) >= 2 and path[0] in desired_sections and any(
                len(d) == 2 and d[0] == path[0] and _setting(d[1]) == _setting(path[1]) for d in desired.paths):
            continue
        if len(path) >= 2 and (path[-1] in takeover or path[1] in removed):
            continue  # a line a takeover note names, or one inside it (`hsrp 10` takes its `ip` along)
        raise AssertionError(f"a line the engine does not own changed: {' > '.join(path)}")
    for path in after.paths - before.paths:
        assert not (len(path) == 2 and path[0].startswith("interface") and path[1] == "shutdown"), f"{path[0]} shut"
    for path in before.paths:
        if len(path) == 2 and path[1] == "no shutdown" and path[0] in {p[0] for p in after.paths}:
            assert path in after.paths or (path[0], "shutdown") not in after.paths, f"{path[0]} shut"
    for section, vlans in before.trunks.items():
        now = after.trunks.get(section, frozenset(range(1, 4095)))
        assert vlans <= now, f"{section}: trunk VLANs dropped: {sorted(vlans - now)[:10]}"
    had = {int(p[0][5:]) for p in before.paths if len(p) == 1 and re.fullmatch(r"vlan [0-9]+", p[0])}
    for command in (*plan.commands, *plan.rollback):  # a VLAN the device had stays, whatever form it had
        deleted = re.fullmatch(r"no vlan ([0-9]+(?:[,-][0-9]+)*)", command.strip())
        assert not (deleted and _vlans(deleted.group(1)) & had), f"deletes a VLAN the device had: {command.strip()}"
    forward_text = "\n".join(forward_tree.lines()) + "\n"
    back = canonical_indent(remediate.apply_commands(platform, forward_text, plan.rollback))
    # `no ip routing` sent back where it was: the device shows it again (hier_config's future drops
    # a negation together with the line it negates)
    told = {(line,) for line in plan.rollback if line.startswith("no ") and (line,) in before.paths}
    assert back.paths | told == before.paths, f"rollback differs: {sorted((back.paths | told) ^ before.paths)[:5]}"
    assert back.trunks == before.trunks, "rollback does not restore the trunk lists"


def _syntax(platform: str):  # type: ignore[no-untyped-def]
    from engine.render import platform_spec

    return platform_spec(platform).syntax


def _parse(platform: str, text: str):  # type: ignore[no-untyped-def]
    from engine import cliconfig

    return cliconfig.parse(text, _syntax(platform))


# Settings that take one value: a local statement overrides the group's (the checker's own list).
OVERRIDES = ("description", "mtu", "interface-mode", "native-vlan-id", "vlan-id", "l3-interface")


def _effective(local: list[str], inherited: list[str]) -> list[str]:
    """The local lines and what they still inherit: a group's single value yields to a local one."""
    def setting(line: str) -> str | None:
        words = line.split()
        return " ".join(words[:-1]) if len(words) > 2 and words[-2] in OVERRIDES else None

    local_settings = {setting(line) for line in local} - {None}
    return local + [line for line in inherited if line not in local and setting(line) not in local_settings]


def _check_junos(running_text: str, desired_text: str, plan: DevicePlan, inherited: list[str]) -> None:
    from engine import junos

    text = junos.to_set(running_text) if junos.is_brace_form(running_text) else running_text
    local = junos_lines(text)
    for command in plan.commands:  # a delete of what only a group gives changes nothing on the device
        if command.startswith("delete "):
            assert "set " + command[len("delete "):] not in inherited, f"deletes an inherited line: {command}"
    local_after = junos_apply(local, list(plan.commands))
    before, after = _effective(local, inherited), _effective(local_after, inherited)
    missing = [line for line in junos_lines(desired_text) if line not in after]
    assert not missing, f"running + commands lacks desired lines: {missing[:5]}"
    desired = junos_lines(desired_text)
    takeover = " ".join(plan.notes)
    # Sections the engine marked as its own (``description intent:...``, ``tag 4711``).
    marked = {" ".join(line.split()[:-2]) + " " for line in before if re.search(r"intent:|tag 4711$", line)}
    # A VLAN of the engine's that goes takes the `vlan members` lines naming it along (the device
    # refuses a commit that leaves a member of an undefined VLAN); the port's other lines stay.
    gone = {line.split()[2] for line in before if re.fullmatch(r"set vlans \S+ description \"?intent:.*", line)} - \
        {line.split()[2] for line in after if line.startswith("set vlans ")}
    naming = {name: f" unit 0 family ethernet-switching vlan members {name}" for name in gone}
    dangling = [line for line in after for name, tail in naming.items() if line.endswith(tail)]
    assert not dangling, f"a member of a VLAN that is gone: {dangling[:3]}"
    for line in before:
        if line in after or ENGINE_NAMES.search(line) or line[4:] in takeover or any(map(line.startswith, marked)):
            continue
        if any(line.endswith(tail) for tail in naming.values()):
            continue
        words = line.split()
        if any(d.split()[:-1] == words[:-1] for d in desired):
            continue  # the same setting, set anew (an access port's one VLAN)
        raise AssertionError(f"a line the engine does not own changed: {line}")
    assert not [line for line in after if line.endswith(" disable") and line not in before], "a port was disabled"
    members = [line for line in before if " vlan members " in line]
    for line in members:
        port = line.split(" unit ")[0] + " "
        port_is_trunk = any(b.startswith(port) and b.endswith("interface-mode trunk") for b in before)
        if port_is_trunk and not any(line.endswith(tail) for tail in naming.values()):
            assert line in after, f"trunk VLAN dropped: {line}"
    back = _effective(junos_apply(local_after, list(plan.rollback)), inherited)
    assert sorted(back) == sorted(before), f"rollback differs: {sorted(set(back) ^ set(before))[:5]}"
    for command in plan.commands:
        assert not command.split()[1:2] == ["groups"], f"a group was edited: {command}"
