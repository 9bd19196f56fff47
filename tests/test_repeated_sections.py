"""A running config that holds a section or a line twice at one level (files concatenated, a section
header lost so its lines fell under the section above, a device that prints a section twice): read as
the device reads it, config mode re-entering the section, so the plan is the one for the union; where
the two disagree about a setting the engine owns, refused at the line. Never hier_config's
DuplicateChildError (an "internal error" before)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import cliconfig, remediate
from engine.compiler import compile_site
from engine.errors import ValidationError
from engine.loader import load_site
from engine.plan import RunningState, make_plan
from engine.render import platform_spec
from tests.brownfield import checker
from tests.brownfield.test_corpus import HERE, MANIFEST, write_site


def syntax(platform: str) -> cliconfig.PlatformSyntax:
    found = platform_spec(platform).syntax
    assert found is not None
    return found


def test_a_section_entered_twice_is_one_section_with_both_sections_lines() -> None:
    repeats: list[str] = []
    nodes = cliconfig.parse("hostname sw1\n!\ninterface Gi1/0/1\n description uplink\n!\ninterface Gi1/0/2\n"
                            " shutdown\n!\ninterface Gi1/0/1\n speed 1000\n description uplink\n!\nend\n",
                            syntax("ios"), repeats)
    assert [node.text for node in nodes] == ["hostname sw1", "interface Gi1/0/1", "interface Gi1/0/2", ""]
    assert [child.text for child in nodes[1].children] == ["description uplink", "speed 1000"]
    assert repeats == ["interface Gi1/0/1 (lines 3 and 9)", "interface Gi1/0/1 > description uplink (lines 4 and 11)"]
    # the repeat's separator is kept before what follows it, and the config renders as the device has it
    assert cliconfig.render(nodes, syntax("ios")) == (
        "hostname sw1\n!\ninterface Gi1/0/1\n description uplink\n speed 1000\n!\ninterface Gi1/0/2\n shutdown\n"
        "!\n!\nend\n")


def test_a_lost_header_that_repeats_a_class_under_a_policy_map_is_read_merged() -> None:
    """The case found: `policy-map B` lost, so B's `class X` fell under `policy-map A`, which has one."""
    text = ("policy-map INTENT-OUT-A\n class INTENT-g014\n  bandwidth 20000\n class class-default\n  fair-queue\n"
            " class INTENT-g014\n  priority 20000\n")
    repeats: list[str] = []
    nodes = cliconfig.parse(text, syntax("ios"), repeats)
    assert [(c.text, [g.text for g in c.children]) for c in nodes[0].children] == [
        ("class INTENT-g014", ["bandwidth 20000", "priority 20000"]), ("class class-default", ["fair-queue"])]
    assert repeats == ["policy-map INTENT-OUT-A > class INTENT-g014 (lines 2 and 6)"]
    tree = remediate.hconfig("ios", remediate.content(nodes, syntax("ios")))  # no DuplicateChildError
    assert [c.text for c in tree.get_child(equals="policy-map INTENT-OUT-A").children] == [
        "class INTENT-g014", "class class-default"]


def test_lines_that_differ_only_in_spacing_are_one_line() -> None:
    nodes = cliconfig.parse("interface Ethernet1\n description a  b\n description a b\n", syntax("eos"))
    assert [child.text for child in nodes[0].children] == ["description a  b"]


def test_repeated_vlan_blocks_and_trunk_lines_read_in_order_as_config_mode_does() -> None:
    text = ("vlan 10\n name users\nvlan 10\n name users\ninterface Ethernet1/1\n switchport mode trunk\n"
            " switchport trunk allowed vlan 10,20\ninterface Ethernet1/1\n switchport trunk allowed vlan add 30\n")
    nodes = cliconfig.parse(text, syntax("nxos"))
    assert [node.text for node in nodes] == ["vlan 10", "interface Ethernet1/1"]
    assert [child.text for child in nodes[0].children] == ["name users"]
    assert [child.text for child in nodes[1].children] == ["switchport mode trunk", "switchport trunk allowed vlan 10,20,30"]


def test_a_banner_given_twice_alike_is_once_and_banner_text_is_never_merged() -> None:
    text = "banner motd ^C\n*****\n*****\n^C\nbanner motd ^C\n*****\n*****\n^C\nhostname x\n"
    nodes = cliconfig.parse(text, syntax("ios"))
    assert [node.text for node in nodes] == ["banner motd ^C", "hostname x"]
    assert [child.text for child in nodes[0].children] == ["*****", "*****", "^C"]


def test_a_bgp_address_familys_repeated_lines_stay_as_printed() -> None:
    """hier_config lets IOS' address families repeat lines (``repeatable`` in templates/ios/platform.yaml)."""
    text = "router bgp 65000\n address-family ipv4\n  network 10.0.0.0\n  network 10.0.0.0\n"
    nodes = cliconfig.parse(text, syntax("ios"))
    assert [c.text for c in nodes[0].children[0].children] == ["network 10.0.0.0", "network 10.0.0.0"]


def test_ios_repeatable_sections_are_hier_configs() -> None:
    rules = remediate.hier_driver("ios").rules.parent_allows_duplicate_child
    assert [[m.startswith for m in rule.match_rules] for rule in rules] == [
        [pattern.pattern.lstrip("^") for pattern in lineage] for lineage in syntax("ios").repeatable]


def test_a_junos_statement_set_twice_is_set_once() -> None:
    repeats: list[str] = []
    nodes = cliconfig.parse("set vlans users vlan-id 10\nset system host-name ex1\nset vlans users  vlan-id 10\n",
                            syntax("junos"), repeats)
    users = next(node for node in nodes if node.text == "set vlans users")
    assert [child.text for child in users.children] == ["vlan-id 10"]
    assert repeats == ["set vlans users vlan-id 10 (lines 1, 3)"]
    remediate.hconfig("junos", remediate.content(nodes, syntax("junos")))


@pytest.mark.parametrize(("first", "second"), [("switchport access vlan 10", "switchport access vlan 20"),
                                               ("service-policy output POLICY-A", "service-policy output POLICY-B"),
                                               ("switchport trunk allowed vlan 10", "switchport trunk allowed vlan 30")])
def test_a_repeat_setting_an_owned_setting_otherwise_is_refused_at_its_line(first: str, second: str) -> None:
    text = f"interface Gi1/0/1\n {first}\n description a\n!\ninterface Gi1/0/1\n {second}\n"
    with pytest.raises(cliconfig.ConfigLineError) as info:
        cliconfig.parse(text, syntax("ios"))
    assert info.value.line == 6
    assert str(info.value) == (f"'interface Gi1/0/1' is in the running config twice (lines 1 and 5), with {first!r} "
                               f"(line 2) and {second!r} (line 6): which one the device runs cannot be told; save its "
                               "running config again")


def test_a_repeat_that_agrees_or_sets_what_the_engine_does_not_own_merges() -> None:
    text = ("interface Gi1/0/1\n switchport access vlan 10\n switchport trunk allowed vlan 10\n description a\n!\n"
            "interface Gi1/0/1\n switchport access vlan 10\n description b\n switchport trunk allowed vlan add 40\n")
    nodes = cliconfig.parse(text, syntax("ios"))
    assert [c.text for c in nodes[0].children] == ["switchport access vlan 10", "switchport trunk allowed vlan 10,40",
                                                   "description a", "description b"]


def test_two_lines_the_reader_takes_for_one_are_an_error_naming_them_not_hier_configs() -> None:
    with pytest.raises(remediate.UnreadableConfig, match="interface Ethernet1/1 > description a; cannot compute"):
        remediate.hconfig("nxos", "interface Ethernet1/1\n description a!b\n description a!c\n")


def corpus_plan(tmp_path: Path, case: str, running: str) -> tuple[object, str]:
    entry = MANIFEST[case]
    site = load_site(write_site(tmp_path, case.split("/")[0], running, entry["roles"], takeover=True))
    compilation = compile_site(site)
    return make_plan(site, compilation, RunningState(tmp_path / "running")), compilation.configs["dut"].text


@pytest.mark.parametrize("case", ["ios/acc01-plain.cfg", "eos/leaf01-plain.cfg", "nxos/n9k01-plain.cfg"])
def test_a_corpus_config_saved_twice_plans_as_the_config_once_and_says_so(case: str, tmp_path: Path) -> None:
    running = (HERE / "corpus" / case).read_text()
    once, desired = corpus_plan(tmp_path / "once", case, running)
    twice, _ = corpus_plan(tmp_path / "twice", case, running + running)
    one, two = once.devices["dut"], twice.devices["dut"]  # type: ignore[attr-defined]
    assert two.commands == one.commands and two.rollback == one.rollback
    assert [note for note in two.notes if note not in one.notes] == [next(
        note for note in two.notes if note.startswith("the running config enters these more than once"))]
    checker.check(case.split("/")[0], running, desired, two)


def test_an_ambiguous_repeat_is_refused_naming_the_file_and_line(tmp_path: Path) -> None:
    case = "ios/acc01-plain.cfg"
    port = MANIFEST[case]["roles"]["trunk"]
    running = (HERE / "corpus" / case).read_text() + f"interface {port}\n switchport trunk allowed vlan 77\n"
    with pytest.raises(ValidationError) as info:
        corpus_plan(tmp_path, case, running)
    line = len(running.splitlines())
    assert str(info.value).startswith(f"{tmp_path / 'running' / 'dut.cfg'}:{line}:1: 'interface {port}' is in the "
                                      "running config twice")


def test_the_fabric_with_every_seventh_line_lost_is_planned_or_refused_with_locations(tmp_path: Path) -> None:
    """The case found: each CLI device's saved config without every line j % 7 == 3 (section headers
    among them), planned: refusals located in the device's file, never an internal error."""
    import json
    import re

    from tests.bench.fabric import generate
    from tests.hostile.common import run

    site = generate(tmp_path / "fabric", 60, guarantees=12)
    env = {"BENCH_PASSWORD": "x", "INTENT_STATE_DIR": str(tmp_path / "state")}
    running = tmp_path / "fabric" / "running"
    first = run("plan", str(site), "--running", str(running), "--format", "json", env=env)
    assert first.code == 0, first.text
    devices = json.loads(first.stdout)["devices"]
    configs = {name: device["config"] for name, device in devices.items() if device["platform"] != "linux"}
    repeats: list[str] = []
    for name, text in configs.items():
        kept = "\n".join(line for index, line in enumerate(text.splitlines()) if index % 7 != 3) + "\n"
        (running / f"{name}.cfg").write_text(kept)
        try:
            cliconfig.parse(kept, syntax(devices[name]["platform"]), repeats)
        except cliconfig.ConfigLineError:
            pass
    assert repeats  # sections that fell under another section of their kind: the DuplicateChildError before
    again = run("plan", str(site), "--running", str(running), "--format", "json", env=env)
    assert not again.crashed and "internal error" not in again.text, again.text
    assert again.code == 1
    errors = json.loads(again.stdout)["errors"]
    located = re.compile(rf"^{re.escape(str(running))}/(?P<device>[a-z0-9]+)\.cfg:[0-9]+:1: \S")
    assert errors and all(located.match(error) for error in errors), errors[:3]
    assert {located.match(error).group("device") for error in errors} <= set(configs)  # type: ignore[union-attr]
