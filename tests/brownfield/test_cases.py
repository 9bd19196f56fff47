"""Brownfield cases beyond the 40-config corpus: Junos protected hierarchies and configuration groups,
SVIs that already carry somebody else's address. Each is planned like the corpus (test_corpus.write_site)
and judged by the same checker where a plan is expected; where the device would refuse the change,
the plan must refuse it first, naming the device, the place and the lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import junos
from engine.compiler import compile_site
from engine.errors import ValidationError
from engine.loader import load_site
from engine.plan import Plan, RunningState, make_plan
from tests.brownfield import checker
from tests.brownfield.test_corpus import HERE, write_site

CASES: dict[str, dict[str, Any]] = yaml.safe_load((HERE / "cases.yaml").read_text())


def plan_of(tmp_path: Path, platform: str, running: str, roles: dict[str, str], takeover: bool) -> tuple[Plan, str]:
    site = load_site(write_site(tmp_path, platform, running, roles, takeover))
    compilation = compile_site(site)
    return make_plan(site, compilation, RunningState(tmp_path / "running")), compilation.configs["dut"].text


def test_every_case_file_is_in_the_manifest() -> None:
    assert sorted(str(p.relative_to(HERE / "cases")) for p in (HERE / "cases").glob("*/*.cfg")) == sorted(CASES)
    traps = {trap for entry in CASES.values() for trap in entry["traps"]}
    assert {"svi-foreign-address", "svi-helper-address", "junos-vlan-unit", "junos-protect", "junos-apply-groups",
            "junos-group-wildcard", "junos-apply-groups-except", "junos-apply-groups-nested"} <= traps
    assert {"vlan-list", "svi-shut", "foreign-policy", "junos-foreign-filter", "trunk-native-intent-vlan",
            "banner-one-line", "banner-config-lines", "junos-interface-range", "junos-port-mode",
            "junos-unit-inet-dhcp", "junos-vlan-id-list", "vlan-name-other-id"} <= traps  # the held-out review's
    assert {case.split("/")[0] for case in CASES} == {"ios", "eos", "nxos", "junos"}


def refusals(tmp_path: Path, case: str, takeover: bool) -> list[str]:
    entry = CASES[case]
    with pytest.raises(ValidationError) as info:
        plan_of(tmp_path, case.split("/")[0], (HERE / "cases" / case).read_text(), entry["roles"], takeover)
    return str(info.value).splitlines()  # one FILE:LINE:COL: message per problem


@pytest.mark.parametrize("case", sorted(CASES))
def test_without_takeover_the_plan_refuses_exactly_what_stands_in_the_way(case: str, tmp_path: Path) -> None:
    expected = CASES[case]["refused"]
    if not expected:
        entry = CASES[case]
        plan, _ = plan_of(tmp_path, case.split("/")[0], (HERE / "cases" / case).read_text(), entry["roles"], False)
        assert plan.devices["dut"].changed
        return
    messages = refusals(tmp_path, case, takeover=False)
    assert len(messages) == len(expected), messages
    for wanted in expected:
        assert any(wanted in message for message in messages), (wanted, messages)
    assert "Traceback" not in "".join(messages)


@pytest.mark.parametrize("case", sorted(CASES))
def test_with_takeover_the_plan_is_judged_by_the_checker_or_still_refused(case: str, tmp_path: Path) -> None:
    entry = CASES[case]
    if entry["with_takeover"] != "plan":
        messages = refusals(tmp_path, case, takeover=True)
        assert len(messages) == len(entry["with_takeover"]), messages
        for wanted in entry["with_takeover"]:
            assert any(wanted in message for message in messages), (wanted, messages)
        return
    running = (HERE / "cases" / case).read_text()
    plan, desired = plan_of(tmp_path, case.split("/")[0], running, entry["roles"], takeover=True)
    device = plan.devices["dut"]
    assert device.changed and device.commands
    checker.check(case.split("/")[0], running, desired, device, entry.get("inherited"))
    for note in entry["notes"]:
        assert note in device.notes, (note, device.notes)
    changed = [line for line in device.diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert not [line for line in changed if line[1:].startswith("protect")]  # protect lines: context at most
    assert not [c for c in device.commands if "protect" in c]



@pytest.mark.parametrize("case", sorted(case for case in CASES if "inherited" in CASES[case]))
def test_the_engine_sees_what_the_device_inherits_from_its_groups(case: str) -> None:
    found = junos.inherited((HERE / "cases" / case).read_text())
    assert sorted(line for line, _, _ in found) == sorted(CASES[case]["inherited"])


def test_a_single_valued_setting_inherited_from_a_group_is_overridden_locally_not_deleted(tmp_path: Path) -> None:
    case = "junos/ex16-groups-inherited.cfg"
    entry = CASES[case]
    running = (HERE / "cases" / case).read_text().replace(  # the WAN address local again: only the mode is inherited
        "set interfaces ge-0/0/47 apply-groups WAN-LINK\n", "set interfaces ge-0/0/47 unit 0 family inet address "
        "203.0.113.1/30\n")
    plan, desired = plan_of(tmp_path, "junos", running, entry["roles"], takeover=True)
    device = plan.devices["dut"]
    mode = "interfaces ge-0/0/4 unit 0 family ethernet-switching interface-mode"
    assert f"set {mode} access" in device.commands and f"delete {mode} trunk" not in device.commands
    assert f"delete {mode} access" in device.rollback and f"set {mode} trunk" not in device.rollback
    checker.check("junos", running, desired, device, [f"set {mode} trunk"])
    assert f"takeover of dut ge-0/0/4 (set interfaces ge-0/0/4): overrides {mode} trunk (inherited from group CAMERAS) " \
           "with the intent's own statement" in device.notes


def test_after_the_commit_what_a_group_gives_counts_as_there(tmp_path: Path) -> None:
    """The drivers' check after a commit judges the effective config: the access mode ge-0/0/3 has from
    its group is no missing line (else every commit on a device with groups would look failed)."""
    from drivers.cli import satisfied

    case = "junos/ex15-groups.cfg"
    running = (HERE / "cases" / case).read_text()
    site = load_site(write_site(tmp_path, "junos", running, CASES[case]["roles"], takeover=True))
    compilation = compile_site(site)
    device = make_plan(site, compilation, RunningState(tmp_path / "running")).devices["dut"]
    committed = "\n".join(checker.junos_apply(checker.junos_lines(junos.to_set(running)), list(device.commands)))
    assert satisfied(compilation.configs["dut"], committed + "\n")
    assert not satisfied(compilation.configs["dut"], junos.to_set(running))  # before the commit: not there yet


def test_an_nxos_gateway_svi_the_device_has_shut_by_default_is_brought_up(tmp_path: Path) -> None:
    """NX-OS SVIs are shut unless the config says ``no shutdown`` (it prints nothing for a shut one):
    the gateway gets ``no shutdown``, and its undo shuts it again."""
    case = "nxos/n9k13-foreign-qos.cfg"
    plan, _ = plan_of(tmp_path, "nxos", (HERE / "cases" / case).read_text(), CASES[case]["roles"], takeover=True)
    device = plan.devices["dut"]
    svi = list(device.commands[device.commands.index("interface Vlan10"):])
    assert " no shutdown" in svi[:svi.index(" exit")]
    back = list(device.rollback[device.rollback.index("interface Vlan10"):])
    assert " shutdown" in back[:back.index(" exit")]


def test_a_foreign_policy_the_engine_does_not_replace_stays_out_of_the_way(tmp_path: Path) -> None:
    """acc13's Vlan10 has an operator's input policy; the engine binds none there (its qos_limit is on
    VLAN 20), so that policy is no conflict and no command touches it."""
    case = "ios/acc13-foreign-qos.cfg"
    plan, _ = plan_of(tmp_path, "ios", (HERE / "cases" / case).read_text(), CASES[case]["roles"], takeover=True)
    device = plan.devices["dut"]
    assert not [c for c in (*device.commands, *device.rollback) if "MARK-IN" in c]
    assert not [note for note in device.notes if "MARK-IN" in note]


def test_a_vlan_id_list_without_the_intents_ids_is_no_conflict(tmp_path: Path) -> None:
    """ex22 with its list left clear of 10 and 20: planned, and judged (re0/re1 groups, an inactive port)."""
    case = "junos/ex22-vlan-id-list.cfg"
    running = (HERE / "cases" / case).read_text().replace("vlan-id-list [ 15-25 30 ];", "vlan-id-list [ 15-19 30 ];")
    plan, desired = plan_of(tmp_path, "junos", running, CASES[case]["roles"], takeover=False)
    checker.check("junos", running, desired, plan.devices["dut"], [
        "set system host-name ex22-re0", "set interfaces em0 unit 0 family inet address 192.0.2.52/24"])
    assert not [c for c in plan.devices["dut"].commands if "ge-0/0/30" in c or "legacy-voice" in c]
