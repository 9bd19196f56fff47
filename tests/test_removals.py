"""Removing any intent of a site plans, applies and then plans no change; the whole site applies again
after it. Every site of examples/ and every golden site (tests/golden/<platform>/<case>: the campus's
shape, a router, two access switches, a second router), fresh, brownfield and transit. Most of them
no driver here can apply: examples/campus (its NX-OS, IOS, EOS and Junos switches: the emulated IOS
switch has no QoS, NAPALM's mock only replays answers, and no NX-OS or Junos runs here; its Linux
core needs 802.1Q towards them, which this kernel lacks), examples/kernel (802.1Q, fq_codel, DRR and
nftables: the full-kernel tier only); examples/lab is also applied for real, on namespaces, by
tests/faults/test_example_sites.py.

"Applied" here is what the engine predicts the device becomes (its merge of the desired config into
the running one, the diff's "intent" side), and the commands that get it there are judged by the
brownfield checker (tests/brownfield/checker.py: hier_config's model of IOS, EOS and NX-OS, Junos'
own set/delete semantics): running + commands holds the desired config, nothing the engine does not
own changes, no trunk loses a VLAN somebody else put there, rollback restores the running config. A
Linux device's state after the apply is its desired document. On Junos every `vlan members` line must
still name a defined VLAN (the commit would fail otherwise). The intents about a VLAN (guarantees,
caps, isolations, shares that name it) go with it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import cliconfig
from engine.compiler import compile_site
from engine.loader import load_site
from engine.plan import Plan, RunningState, make_plan
from engine.render import platform_spec
from tests.brownfield import checker
from tests.conftest import ROOT
from tests.faults.test_example_sites import intents_of, without

# Every site file of examples/ (each against its recorded running state, where it has one: the
# campus's) and every golden site.
SITES = {f"examples/{path.relative_to(ROOT / 'examples').with_suffix('')}": (path, path.parent / "running")
         for path in sorted((ROOT / "examples").glob("*/*.yaml")) if re.search(r"^intents:", path.read_text(), re.M)}
for _case in sorted((ROOT / "tests" / "golden").glob("*/*/site.yaml")):
    SITES[f"{_case.parent.parent.name}/{_case.parent.name}"] = (_case, _case.parent / "running")
CASES = [(site, name) for site, (path, _) in SITES.items() for name in intents_of(path.read_text())]


def _vlans_named(value: Any) -> set[int]:
    """Every VLAN id an intent's body names (``{vlan: 10}`` anywhere in it)."""
    if isinstance(value, dict):
        found = {value["vlan"]} if isinstance(value.get("vlan"), int) else set()
        return found.union(*(_vlans_named(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_vlans_named(v) for v in value))
    return set()


def going_with(site_text: str, name: str) -> set[str]:
    """``name`` and the intents that cannot stay without it: those naming its VLAN."""
    intents = yaml.safe_load(site_text)["intents"]
    removed = next(i for i in intents if i["name"] == name)
    if "vlan" not in removed:
        return {name}
    vid = removed["vlan"]["id"]
    return {name} | {i["name"] for i in intents if "vlan" not in i and vid in _vlans_named(i)}


def planned(site_file: Path, running: Path) -> tuple[Plan, Any]:
    site = load_site(site_file)
    compilation = compile_site(site)
    return make_plan(site, compilation, RunningState(running)), compilation


def apply_to(site_file: Path, running: Path, after: Path) -> None:
    """Plan ``site_file`` against ``running``, judge every device's commands, and write what each
    device then runs into ``after``."""
    plan, compilation = planned(site_file, running)
    assert plan.errors == ()
    after.mkdir(parents=True)
    for name, device in plan.devices.items():
        config = compilation.configs[name]
        spec = platform_spec(config.platform)
        before_file = running / f"{name}{spec.running_file}"
        text = before_file.read_text() if before_file.exists() else ""
        if config.document is not None:
            result = json.dumps(config.document, indent=2, sort_keys=True) + "\n" if device.changed else text
        elif device.changed:
            checker.check(config.platform, text, config.text, device)
            assert spec.syntax is not None
            merged = cliconfig.merge(cliconfig.parse(text, spec.syntax), cliconfig.parse(config.text, spec.syntax),
                                     spec.syntax)
            result = cliconfig.render(merged, spec.syntax)
        else:
            result = text
        if spec.syntax is not None and spec.syntax.style == "set":
            defined = set(re.findall(r"^set vlans (\S+) ", result, re.MULTILINE))
            members = set(re.findall(r" vlan members (\S+)$", result, re.MULTILINE))
            assert members <= defined, f"{name}: members of VLANs that are not defined: {sorted(members - defined)}"
        (after / f"{name}{spec.running_file}").write_text(result)


def unchanged(site_file: Path, running: Path) -> None:
    plan, _ = planned(site_file, running)
    changed = {name: device.diff for name, device in plan.devices.items() if device.changed}
    assert not changed, f"a plan still changes: {changed}"


@pytest.mark.parametrize(("site", "name"), CASES, ids=[f"{s}:{n}" for s, n in CASES])
def test_removing_an_intent_plans_applies_and_then_plans_no_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   site: str, name: str) -> None:
    path, running = SITES[site]
    monkeypatch.setenv("CAMPUS_PASSWORD", "not-read-offline")
    monkeypatch.setenv("GOLDEN_PASSWORD", "not-read-offline")
    full = re.sub(r"^(inventory|topology): (\S+)", lambda m: f"{m.group(1)}: {(path.parent / m.group(2)).resolve()}",
                  path.read_text(), flags=re.MULTILINE)
    (tmp_path / "site.yaml").write_text(full)
    names = going_with(full, name)
    (tmp_path / "less.yaml").write_text(without(full, names))
    assert not names & set(intents_of((tmp_path / "less.yaml").read_text()))
    if not running.is_dir():
        running = tmp_path / "fresh"
        running.mkdir()
    apply_to(tmp_path / "site.yaml", running, tmp_path / "whole")
    apply_to(tmp_path / "less.yaml", tmp_path / "whole", tmp_path / "removed")
    unchanged(tmp_path / "less.yaml", tmp_path / "removed")
    apply_to(tmp_path / "site.yaml", tmp_path / "removed", tmp_path / "again")
    unchanged(tmp_path / "site.yaml", tmp_path / "again")
