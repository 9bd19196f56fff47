"""The vendor config merge: only what the engine owns changes, and plan and undo are exact."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from engine import cliconfig, remediate
from engine.plan import DevicePlan
from engine.render import platform_spec
from tests.brownfield import checker

IOS = platform_spec("ios").syntax
assert IOS is not None

RUNNING = """\
!
hostname sw1
!
enable secret 9 $9$abc
!
vlan 99
 name mgmt
!
interface GigabitEthernet1/0/1
 description uplink
 switchport trunk allowed vlan 99
 switchport mode trunk
 service-policy input USER-IN
!
interface GigabitEthernet1/0/2
 description printer
 switchport access vlan 5
 switchport mode access
!
interface Vlan20
 description intent:hq:old-vlan
 ip address 10.20.0.1 255.255.255.0
!
class-map match-any INTENT-retired
 match access-group name INTENT-retired
!
policy-map USER-IN
 class class-default
  police cir 1000000
!
ip route 0.0.0.0 0.0.0.0 192.0.2.1
ip route 10.77.0.0 255.255.255.0 10.255.0.1 name intent-retired
!
end
"""

DESIRED = """\
! intent: sw1 (site hq), generated
vlan 10
 name users
!
class-map match-any INTENT-video
 match access-group name INTENT-video
!
policy-map INTENT-OUT-Gi1
 class INTENT-video
  bandwidth 100000
!
interface GigabitEthernet1/0/1
 switchport trunk allowed vlan 10
 switchport mode trunk
 service-policy output INTENT-OUT-Gi1
!
interface GigabitEthernet1/0/3
 switchport access vlan 10
 switchport mode access
!
"""


def merged() -> tuple[list[cliconfig.Node], list[cliconfig.Node], list[cliconfig.Node]]:
    running = cliconfig.parse(RUNNING, IOS)
    desired = cliconfig.parse(DESIRED, IOS)
    return running, desired, cliconfig.merge(running, desired, IOS)


def test_unowned_configuration_survives_untouched() -> None:
    _, _, after = merged()
    text = cliconfig.render(after, IOS)
    for kept in ("hostname sw1", "enable secret 9 $9$abc", "vlan 99\n name mgmt", " description uplink",
                 " service-policy input USER-IN", "interface GigabitEthernet1/0/2\n description printer\n"
                 " switchport access vlan 5", "policy-map USER-IN", "ip route 0.0.0.0 0.0.0.0 192.0.2.1"):
        assert kept in text
    assert text.endswith("!\nend\n")


def test_trunk_vlans_are_added_never_dropped() -> None:
    running, _, after = merged()
    uplink = next(n for n in after if n.text == "interface GigabitEthernet1/0/1")
    assert [c.text for c in uplink.children] == [
        "description uplink", "switchport trunk allowed vlan 10,99", "switchport mode trunk",
        "service-policy input USER-IN", "service-policy output INTENT-OUT-Gi1",
    ]
    change = remediate.remediate("ios", running, after)
    assert " switchport trunk allowed vlan add 10" in change.commands
    assert " switchport trunk allowed vlan remove 10" in change.rollback


@pytest.mark.parametrize(("lines", "vlans"), [
    (["switchport trunk allowed vlan 1, 2"], {1, 2}),
    (["switchport trunk allowed vlan 1-3,5"], {1, 2, 3, 5}),
    (["switchport trunk allowed vlan 10,20", "switchport trunk allowed vlan add 30-31"], {10, 20, 30, 31}),
    (["switchport trunk allowed vlan 10-12", "switchport trunk allowed vlan remove 11"], {10, 12}),
    (["switchport trunk allowed vlan except 2-4094"], {1}),
    (["switchport trunk allowed vlan none"], set()),
    (["switchport trunk allowed vlan none", "switchport trunk allowed vlan add 7"], {7}),
])
def test_every_trunk_form_devices_print_is_read(lines: list[str], vlans: set[int]) -> None:
    assert IOS.trunk is not None
    assert set(IOS.trunk.fold(lines)) == vlans
    assert set(IOS.trunk.fold(["switchport trunk allowed vlan all"])) == set(range(1, 4095))


def test_a_trunk_without_a_list_allows_every_vlan_and_keeps_doing_so() -> None:
    running = cliconfig.parse("interface Gi1/0/9\n switchport mode trunk\n no shutdown\n", IOS)
    desired = cliconfig.parse("interface Gi1/0/9\n switchport trunk allowed vlan 10\n switchport mode trunk\n", IOS)
    after = cliconfig.merge(running, desired, IOS)
    assert cliconfig.render(after, IOS) == cliconfig.render(running, IOS)  # nothing to add: 10 is allowed


def test_no_shutdown_on_a_port_is_never_negated() -> None:
    running = cliconfig.parse("interface Gi1/0/3\n description printer\n switchport mode access\n"
                              " switchport access vlan 5\n no shutdown\n", IOS)
    desired = cliconfig.parse("interface Gi1/0/3\n switchport access vlan 10\n switchport mode access\n", IOS)
    change = remediate.remediate("ios", running, cliconfig.merge(running, desired, IOS))
    assert change.commands == ("interface Gi1/0/3", " switchport access vlan 10", " exit")
    assert change.rollback == ("interface Gi1/0/3", " switchport access vlan 5", " exit")


def test_a_change_that_would_remove_what_is_not_ours_is_refused() -> None:
    running = cliconfig.parse("interface Gi1/0/3\n description printer\n channel-group 5 mode active\n", IOS)
    forged = cliconfig.parse("interface Gi1/0/3\n description printer\n", IOS)  # a merge that dropped a line
    with pytest.raises(remediate.NotOwnedError, match="channel-group 5 mode active"):
        remediate.remediate("ios", running, forged)
    allowed = remediate.remediate("ios", running, forged, {("interface Gi1/0/3", "channel-group 5 mode active")})
    assert allowed.commands == ("interface Gi1/0/3", " no channel-group 5 mode active", " exit")


def test_owned_leftovers_are_removed_and_new_sections_placed_by_kind() -> None:
    _, _, after = merged()
    texts = [n.text for n in after]
    assert "interface Vlan20" not in texts  # marked description intent:, no intent wants it
    assert "class-map match-any INTENT-retired" not in texts
    assert "ip route 10.77.0.0 255.255.255.0 10.255.0.1 name intent-retired" not in texts
    assert texts.index("vlan 10") == texts.index("vlan 99") + 1
    # after its predecessor in the rendered template, which is present and of the same kind
    assert texts.index("interface GigabitEthernet1/0/3") == texts.index("interface GigabitEthernet1/0/1") + 1
    assert texts[-1] == ""  # the trailing "end" stays last


def test_commands_define_before_use_and_remove_references_first() -> None:
    running, _, after = merged()
    commands = list(remediate.remediate("ios", running, after).commands)
    assert commands.index("policy-map INTENT-OUT-Gi1") < commands.index("interface GigabitEthernet1/0/1")
    assert commands.index("class-map match-any INTENT-video") < commands.index("policy-map INTENT-OUT-Gi1")
    assert commands.index("no class-map match-any INTENT-retired") > commands.index("interface GigabitEthernet1/0/1")
    assert "no ip route 10.77.0.0 255.255.255.0 10.255.0.1 name intent-retired" in commands
    assert "no interface Vlan20" in commands
    assert " no switchport trunk allowed vlan 99" not in commands  # added to, not removed first
    assert " no service-policy input USER-IN" not in commands


def test_running_plus_plan_equals_desired_and_back() -> None:
    running, _, after = merged()
    change = remediate.remediate("ios", running, after)
    plan = DevicePlan("sw1", "ios", True, "", DESIRED, commands=change.commands, rollback=change.rollback)
    checker.check("ios", RUNNING, DESIRED, plan)


def test_merge_is_idempotent() -> None:
    _, desired, after = merged()
    again = cliconfig.merge(after, desired, IOS)
    assert cliconfig.render(again, IOS) == cliconfig.render(after, IOS)
    assert cliconfig.holds(after, desired, IOS)


def test_vlan_lists() -> None:
    assert cliconfig.parse_vlan_list("1-3,10, 20-21") == {1, 2, 3, 10, 20, 21}
    assert cliconfig.format_vlan_list([21, 1, 2, 3, 10, 20]) == "1-3,10,20-21"
    with pytest.raises(ValueError, match="cannot read"):
        cliconfig.parse_vlan_list("1-3,x", strict=True)


def test_a_port_that_left_every_intent_loses_its_bindings_before_the_policy_goes() -> None:
    running = cliconfig.parse(
        "interface GigabitEthernet1/0/7\n description old camera\n switchport access vlan 10\n"
        " service-policy output INTENT-OUT-Gi7\n!\npolicy-map INTENT-OUT-Gi7\n class class-default\n  fair-queue\n", IOS)
    after = cliconfig.merge(running, [], IOS)
    port = next(n for n in after if n.text == "interface GigabitEthernet1/0/7")
    assert [c.text for c in port.children] == ["description old camera", "switchport access vlan 10"]
    assert [n.text for n in after if n.text.startswith("policy-map")] == []
    commands = remediate.remediate("ios", running, after).commands
    assert commands == ("interface GigabitEthernet1/0/7", " no service-policy output INTENT-OUT-Gi7", " exit",
                        "no policy-map INTENT-OUT-Gi7")


@pytest.mark.parametrize(("platform", "text", "tops"), [
    ("ios", "hostname a\nbanner motd ^CAuthorised access only^C\nvlan 10\n name users\n",
     ["hostname a", "banner motd ^CAuthorised access only^C", "vlan 10"]),
    ("ios", "banner exec ^C\nvlan 20 is video\n switchport trunk allowed vlan 1-4094 (not a list)\n^C\nvlan 10\n",
     ["banner exec ^C", "vlan 10"]),
    ("nxos", "banner motd #Nexus lab#\nvlan 1,99\n", ["banner motd #Nexus lab#", "vlan 1,99"]),
    ("eos", "banner login\nvlan 10\n   name cameras\nEOF\n!\nhostname a\n", ["banner login", "hostname a"]),
])
def test_a_banner_is_text_and_hier_config_reads_it_whole(platform: str, text: str, tops: list[str]) -> None:
    """Banner lines are never config (a `vlan 10` there is no VLAN, a trunk line no list to fold), and a
    one-line banner reaches hier_config in three lines, which its reader can end."""
    syntax = platform_spec(platform).syntax
    assert syntax is not None
    nodes = cliconfig.parse(text, syntax)
    assert [node.text for node in nodes if node.text] == tops
    assert cliconfig.render(nodes, syntax) == text
    tree = remediate.hconfig(platform, remediate.content(nodes, syntax))  # it raised "still in a banner"
    assert len(tree.children) == len(tops) and tree.children[len(tops) - 1].text == tops[-1]


def _set_lines() -> list[str]:
    """Every set line of the Junos configs the tests hold (running configs, golden desired configs, the
    brownfield corpus and cases, brace-form ones converted), and some of them cut short."""
    from pathlib import Path

    from engine import junos

    lines: list[str] = []
    for path in sorted(Path(__file__).parent.rglob("*")):
        if path.suffix not in (".cfg", ".txt", ".conf") or "junos" not in path.parts or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            text = junos.to_set(text) if junos.is_brace_form(text) else text
        except ValueError:
            continue
        lines += [line.strip() for line in text.splitlines() if line.strip().startswith("set ")]
    return lines + [line[:cut] for line in lines[::7] for cut in (8, 20, 40)]


def _same_section(line: str) -> None:
    syntax = platform_spec("junos").syntax
    assert syntax is not None and cliconfig._sections_joined(syntax.sections) is not None  # the joined path is taken
    joined, first = syntax.section_match(line), cliconfig.first_section_match(syntax.sections, line)
    assert (joined and joined.group(0)) == (first and first.group(0)), line


def test_the_joined_section_patterns_match_every_set_line_as_the_first_one_that_matches() -> None:
    lines = _set_lines()
    assert len(lines) > 500
    for line in lines:
        _same_section(line)


@given(st.lists(st.sampled_from(["set", "interfaces", "irb", "unit", "4", "xe-0/0/1", "family", "inet", "ethernet-switching",
                                 "filter", "input", "output", "input-list", "INTENT-x", "interface-range", "vlans",
                                 "class-of-service", "forwarding-classes", "class", "schedulers", "scheduler-maps",
                                 "scheduler-map", "firewall", "policer", "routing-options", "static", "route", "",
                                 "10.0.0.0/8", "x y", "\u00e9"]), max_size=10).map(" ".join))
def test_the_joined_section_patterns_match_as_the_first_one_that_matches(line: str) -> None:
    _same_section(line)


def test_section_patterns_that_could_mean_something_else_joined_are_tried_one_by_one() -> None:
    import re

    assert cliconfig._sections_joined((re.compile("^set a"), re.compile("(?i)^set b"))) is None
    assert cliconfig._sections_joined((re.compile(r"^set (a) \1"),)) is None
    assert cliconfig._sections_joined((re.compile("^set a", re.IGNORECASE),)) is None
    syntax = cliconfig.PlatformSyntax.from_dict({"style": "set", "sections": ["^set a", "(?i)^SET B \\S+"]})
    match = syntax.section_match("set b x y")
    assert match is not None and match.group(0) == "set b x"


def _lines_one_node_at_a_time(node: cliconfig.Node, depth: int, style: str, trivia: bool) -> list[str]:
    """``Node.lines`` as it was written before ``cliconfig._write``: a list per node, added to its parent's."""
    out = list(node.leading) if trivia else []
    if style == "set":
        if node.children:
            return out + [line for c in node.children
                          for line in [*(c.leading if trivia else []), c.raw or f"{node.text} {c.text}"]]
        return out + ([node.raw or node.text] if node.text else [])
    if node.text:
        out.append(node.raw if node.raw is not None and trivia else " " * depth + node.text)
    for child in node.children:
        out += _lines_one_node_at_a_time(child, depth + 1, style, trivia)
    return out


@pytest.mark.parametrize("platform", ["eos", "ios", "nxos", "junos"])
def test_render_writes_the_lines_of_every_node(platform: str) -> None:
    """``render`` and ``Node.lines`` write every node's lines into one list: the same lines as a list made
    per node, with and without trivia, for every config of the platform the tests hold (running configs,
    golden desired configs, the brownfield corpus), parsed, and merged into nothing and into one another."""
    from pathlib import Path

    syntax = platform_spec(platform).syntax
    assert syntax is not None
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in sorted(Path(__file__).parent.rglob("*"))
             if path.suffix in (".cfg", ".txt", ".conf") and platform in path.parts and path.is_file()]
    trees = []
    for text in texts:
        try:
            trees.append(cliconfig.parse(text, syntax))
        except ValueError:
            continue
    assert len(trees) > 10
    trees += [cliconfig.merge([], tree, syntax) for tree in trees] + \
        [cliconfig.merge(one, other, syntax) for one, other in zip(trees, trees[1:] + trees[:1], strict=True)]
    for nodes in trees:
        lines = [line for node in nodes for line in _lines_one_node_at_a_time(node, 0, syntax.style, True)]
        assert cliconfig.render(nodes, syntax) == "\n".join(lines) + ("\n" if lines else "")
        for node in nodes:
            for trivia in (True, False):
                assert node.lines(0, syntax.style, trivia) == _lines_one_node_at_a_time(node, 0, syntax.style, trivia)


@given(st.lists(st.sampled_from(["interfaces", "irb", "unit", "4", "xe-0/0/1", "family", "inet", "system", "host-name",
                                 "services", "ssh", "snmp", "community", "x", "vlans", "v10", "vlan-id", "10",
                                 "routing-options", "static", "route", "10.0.0.0/8", "next-hop", "class-of-service"]),
                min_size=1, max_size=8),
       st.lists(st.sampled_from([" ", "  ", " \t", "   "]), min_size=8, max_size=8))
# a section pattern that takes a word more than the fallback's words (found by hypothesis), and one that
# takes the whole line, with the extra space only after the words the shorter pattern takes
@example(["class-of-service", "interfaces", "interfaces"], [" ", " ", "  "] + [" "] * 5)
@example(["class-of-service", "interfaces", "x", "scheduler-map", "y"], [" ", " ", " ", "  "] + [" "] * 4)
def test_a_set_line_with_more_space_between_its_words_is_split_as_with_one(words: list[str], spaces: list[str]) -> None:
    # a hand-edited running file: the section is the same, and the rest is not cut inside a word
    syntax = platform_spec("junos").syntax
    assert syntax is not None
    single = "set " + " ".join(words)
    spaced = "set" + "".join(space + word for space, word in zip(spaces, words, strict=False))
    head, rest = cliconfig.set_split(spaced, syntax)
    assert (head, " ".join(rest.split())) == cliconfig.set_split(single, syntax)
    assert [(node.text, [child.text.split() for child in node.children]) for node in cliconfig.parse(spaced, syntax)] == \
        [(node.text, [child.text.split() for child in node.children]) for node in cliconfig.parse(single, syntax)]
