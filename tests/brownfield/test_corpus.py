"""The brownfield corpus: 40 running configs (10 per vendor platform) in the forms devices print,
each planned with VLAN and QoS intents on its existing ports and judged by checker.check.

tests/brownfield/corpus.yaml names, for every config, the ports each intent uses and the traps the
config holds (``no shutdown``, ``shutdown``, trunk lists with spaces, ``add``/``remove``/``except``/
``none``/``all`` and continuation lines, routed ports, port-channel members, a VLAN id under another
name, banners, Junos brace form). The configs were written for this project in the forms learned
from public device dumps (batfish, napalm, hier_config and Ansible collection fixtures); none is a copy.

Every config is planned twice: without ``takeover`` the plan must refuse exactly the ports (and VLAN)
that carry what the engine does not own, naming them; with ``takeover: true`` it must plan, and the
checker must find nothing touched that is not the intents', no port shut, no trunk VLAN dropped, and
the circular property.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.compiler import compile_site
from engine.errors import ValidationError
from engine.loader import load_site
from engine.plan import RunningState, make_plan
from tests.brownfield import checker

HERE = Path(__file__).parent
MANIFEST: dict[str, dict[str, Any]] = yaml.safe_load((HERE / "corpus.yaml").read_text())
CASES = sorted(MANIFEST)


def write_site(root: Path, platform: str, running: str, roles: dict[str, str], takeover: bool) -> Path:
    """dut: the corpus device, gateway of VLANs 10 and 20 (access ports on it, a trunk to the Linux
    switch lnx1 carrying both); gw2, reached over the routed port when there is one, routes VLAN 30."""
    (root / "running").mkdir(parents=True, exist_ok=True)
    (root / "running" / "dut.cfg").write_text(running)
    (root / "inventory.yaml").write_text(yaml.safe_dump({"all": {"vars": {"password_env": "CORPUS_PW"}, "hosts": {
        "dut": {"platform": platform, "host": "192.0.2.1"}, "lnx1": {"platform": "linux", "netns": "lnx1"},
        "gw2": {"platform": "linux", "netns": "gw2"}}}}))
    links = [{"a": f"dut:{roles['trunk']}", "b": "lnx1:eth0", "bandwidth": "10Gbps"}]
    access10 = [f"dut:{roles['access_a']}", "lnx1:eth1"] + ([f"dut:{roles['lag_member']}"] if "lag_member" in roles else [])
    intents: list[dict[str, Any]] = [
        {"name": "users", "vlan": {"id": 10, "subnet": "10.10.0.0/24", "gateway": "dut", "access": access10,
                                   **({"takeover": True} if takeover else {})}},
        {"name": "video", "vlan": {"id": 20, "subnet": "10.20.0.0/24", "gateway": "dut",
                                   "access": [f"dut:{roles['access_b']}", "lnx1:eth2"]}},
        {"name": "video-10-20", "qos_guarantee": {"between": [{"vlan": 10}, {"vlan": 20}], "rate": "100Mbps"}},
        {"name": "cap-video", "qos_limit": {"vlan": 20, "rate": "50Mbps"}},
    ]
    if "routed" in roles:
        links.append({"a": f"dut:{roles['routed']}", "b": "gw2:eth0", "bandwidth": "1Gbps"})
        intents.insert(2, {"name": "servers", "vlan": {"id": 30, "subnet": "10.30.0.0/24", "gateway": "gw2",
                                                       "access": ["gw2:eth1"]}})
        intents.append({"name": "backup-10-30", "qos_guarantee": {"between": [{"vlan": 10}, {"vlan": 30}],
                                                                  "rate": "200Mbps"}})
    (root / "topology.yaml").write_text(yaml.safe_dump({"links": links}))
    (root / "site.yaml").write_text(yaml.safe_dump({"site": "corpus", "inventory": "inventory.yaml",
                                                    "topology": "topology.yaml", "intents": intents}, sort_keys=False))
    return root / "site.yaml"


def test_the_corpus_is_forty_configs_ten_per_platform() -> None:
    platforms = [case.split("/")[0] for case in CASES]
    assert {p: platforms.count(p) for p in set(platforms)} == {"ios": 10, "eos": 10, "nxos": 10, "junos": 10}
    traps = {trap for entry in MANIFEST.values() for trap in entry["traps"]}
    assert {"noshut", "adminshut", "trunk-spaces", "trunk-continued", "trunk-none", "trunk-except", "trunk-all",
            "trunk-remove", "routed-port", "port-channel-member", "vlan-name-conflict", "banner",
            "junos-brace"} <= traps
    assert sorted(str(p.relative_to(HERE / "corpus")) for p in (HERE / "corpus").glob("*/*.cfg")) == CASES


@pytest.mark.parametrize("case", CASES)
def test_without_takeover_the_plan_refuses_exactly_what_stands_in_the_way(case: str, tmp_path: Path) -> None:
    platform = case.split("/")[0]
    entry = MANIFEST[case]
    site_file = write_site(tmp_path, platform, (HERE / "corpus" / case).read_text(), entry["roles"], takeover=False)
    site = load_site(site_file)
    expected = [entry["roles"][role] for role in ("routed", "lag_member") if role in entry["roles"]]
    conflict = "vlan-name-conflict" in entry["traps"]
    if not expected and not conflict:
        plan = make_plan(site, compile_site(site), RunningState(tmp_path / "running"))
        assert plan.devices["dut"].changed
        return
    with pytest.raises(ValidationError) as info:
        make_plan(site, compile_site(site), RunningState(tmp_path / "running"))
    message = str(info.value)
    for port in expected:
        assert f"dut {port} carries configuration the engine does not own" in message, message
    assert "takeover: true" in message
    if conflict:
        assert "dut VLAN 10 already exists under another name" in message


@pytest.mark.parametrize("case", CASES)
def test_with_takeover_commands_touch_only_what_the_intents_own(case: str, tmp_path: Path) -> None:
    platform = case.split("/")[0]
    entry = MANIFEST[case]
    running = (HERE / "corpus" / case).read_text()
    site_file = write_site(tmp_path, platform, running, entry["roles"], takeover=True)
    site = load_site(site_file)
    compilation = compile_site(site)
    plan = make_plan(site, compilation, RunningState(tmp_path / "running"))
    device = plan.devices["dut"]
    assert device.changed and device.commands
    checker.check(platform, running, compilation.configs["dut"].text, device)
    for role in ("routed", "lag_member"):
        if role in entry["roles"]:
            assert any(note.startswith(f"takeover of dut {entry['roles'][role]} ") for note in device.notes)
