"""Brownfield cases beyond the 40-config corpus: Junos protected hierarchies and configuration groups,
SVIs that already carry somebody else's address. Each is planned like the corpus (test_corpus.write_site)
and judged by the same checker where a plan is expected; where the device would refuse the change,
the plan must refuse it first, naming the device, the place and the lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.compiler import compile_site
from engine.errors import ValidationError
from engine.loader import load_site
from engine.plan import Plan, RunningState, make_plan
from tests.brownfield import checker
from tests.brownfield.test_corpus import HERE, MANIFEST, write_site


def plan_of(tmp_path: Path, platform: str, running: str, roles: dict[str, str], takeover: bool) -> tuple[Plan, str]:
    site = load_site(write_site(tmp_path, platform, running, roles, takeover))
    compilation = compile_site(site)
    return make_plan(site, compilation, RunningState(tmp_path / "running")), compilation.configs["dut"].text


def corpus(case: str) -> tuple[str, dict[str, str]]:
    return (HERE / "corpus" / case).read_text(), MANIFEST[case]["roles"]


def test_a_protected_port_the_plan_would_change_is_refused_naming_the_hierarchy(tmp_path: Path) -> None:
    text, roles = corpus("junos/ex01-plain.cfg")
    text = text.replace("    ge-0/0/3 {", "    protect: ge-0/0/3 {")  # access_a, as `show configuration` marks it
    line = text.splitlines().index("    protect: ge-0/0/3 {") + 1
    with pytest.raises(ValidationError) as info:
        plan_of(tmp_path, "junos", text, roles, takeover=True)  # takeover cannot lift a protection
    message = str(info.value)
    assert f"running/dut.cfg:{line}:1: dut: the plan would change the protected hierarchy [edit interfaces " \
           "ge-0/0/3]: delete interfaces ge-0/0/3 unit 0 family ethernet-switching vlan members default" in message
    assert "unprotect interfaces ge-0/0/3" in message


@pytest.mark.parametrize("form", ["brace", "set"])
def test_protected_hierarchies_the_plan_leaves_alone_survive_both_round_trips(form: str, tmp_path: Path) -> None:
    case = "junos/ex01-plain.cfg" if form == "brace" else "junos/ex02-spaces.cfg"
    text, roles = corpus(case)
    if form == "brace":
        text = text.replace("system {", "protect: system {", 1).replace("    em0 {", "    protect: em0 {")
    else:
        text = text.replace("set interfaces em0 unit 0 family inet address 192.0.2.41/24\n",
                            "set interfaces em0 unit 0 family inet address 192.0.2.41/24\nprotect interfaces em0\n")
        text += "protect system\n"
    plan, desired = plan_of(tmp_path, "junos", text, roles, takeover=True)
    device = plan.devices["dut"]
    assert device.changed and not any("protect" in c or " em0 " in c or " system " in c for c in device.commands)
    checker.check("junos", text, desired, device)
    changed = [line for line in device.diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert not [line for line in changed if "protect" in line]  # context at most, never a change
