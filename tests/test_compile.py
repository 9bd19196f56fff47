"""Topology, paths, ECMP, both directions, admission control, determinism, purity."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.compiler import compile_site
from engine.device import PortMode
from engine.errors import AdmissionError, TopologyError
from engine.loader import load_site
from tests.conftest import SiteDir

ECMP_INVENTORY = """\
all:
  vars: {platform: linux}
  hosts:
    s1: {netns: s1}
    r1: {netns: r1}
    a: {netns: a}
    b: {netns: b}
    r2: {netns: r2}
    s2: {netns: s2}
"""
ECMP_TOPOLOGY = """\
links:
  - {a: s1:eth0, b: r1:eth0, bandwidth: 1Gbps}
  - {a: r1:eth1, b: a:eth0, bandwidth: 1Gbps}
  - {a: r1:eth2, b: b:eth0, bandwidth: 1Gbps}
  - {a: a:eth1, b: r2:eth1, bandwidth: 1Gbps}
  - {a: b:eth1, b: r2:eth2, bandwidth: 1Gbps}
  - {a: r2:eth0, b: s2:eth0, bandwidth: 1Gbps}
"""
ECMP_SITE = """\
site: ecmp
inventory: inventory.yaml
topology: topology.yaml
defaults: {reservable: 90%}
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: r1, access: [s1:eth3]}
  - name: video
    vlan: {id: 20, subnet: 10.20.0.0/24, gateway: r2, access: [s2:eth3]}
  - name: video-10-20
    qos_guarantee: {between: [{vlan: 10}, {vlan: 20}], rate: 100Mbps}
"""


@pytest.fixture
def ecmp(site_dir: SiteDir) -> SiteDir:
    """Two gateways joined by two equal-cost routed paths (r1-a-r2 and r1-b-r2)."""
    site_dir.write("inventory.yaml", ECMP_INVENTORY)
    site_dir.write("topology.yaml", ECMP_TOPOLOGY)
    site_dir.write("site.yaml", ECMP_SITE)
    return site_dir


def reserved(site_dir: SiteDir) -> dict[tuple[str, str], tuple[int, tuple[str, ...]]]:
    compilation = compile_site(load_site(site_dir.site))
    return {(r.device, r.interface): (r.reserved_bps, r.intents) for r in compilation.reservations}


def test_every_egress_of_every_equal_cost_path_in_both_directions(ecmp: SiteDir) -> None:
    forward = {("s1", "eth0"), ("r1", "eth1"), ("r1", "eth2"), ("a", "eth1"), ("b", "eth1"), ("r2", "eth0")}
    backward = {("s2", "eth0"), ("r2", "eth1"), ("r2", "eth2"), ("a", "eth0"), ("b", "eth0"), ("r1", "eth0")}
    result = reserved(ecmp)
    assert set(result) == forward | backward
    assert all(value == (100_000_000, ("video-10-20",)) for value in result.values())


def test_ecmp_routes_have_every_next_hop_and_classes_match_each_direction(ecmp: SiteDir) -> None:
    compilation = compile_site(load_site(ecmp.site))
    r1 = compilation.models["r1"]
    (route,) = r1.routes
    assert route.prefix == "10.20.0.0/24"
    assert sorted(hop.interface for hop in route.next_hops) == ["eth1", "eth2"]
    assert {p.name: p.mode for p in r1.ports} == {"eth0": PortMode.ACCESS, "eth1": PortMode.ROUTED, "eth2": PortMode.ROUTED}
    a = compilation.models["a"]
    assert [r.prefix for r in a.routes] == ["10.10.0.0/24", "10.20.0.0/24"]
    matches = {policy.interface: [(m.src, m.dst) for c in policy.classes for m in c.matches] for policy in a.egress}
    assert matches == {"eth0": [("10.20.0.0/24", "10.10.0.0/24")], "eth1": [("10.10.0.0/24", "10.20.0.0/24")]}
    assert a.forwarding and not compilation.models["s1"].forwarding


def test_parallel_links_at_layer_2_are_equal_cost_paths(site_dir: SiteDir) -> None:
    site_dir.write("topology.yaml", """\
        links:
          - {a: core1:eth1, b: acc1:eth0, bandwidth: 1Gbps}
          - {a: core1:eth5, b: acc1:eth5, bandwidth: 1Gbps}
          - {a: core1:eth2, b: acc2:eth0, bandwidth: 1Gbps}
        """)
    result = reserved(site_dir)
    assert {("acc1", "eth0"), ("acc1", "eth5"), ("core1", "eth1"), ("core1", "eth5")} <= set(result)


def test_admission_refusal_names_device_interface_capacity_holders_and_excess(ecmp: SiteDir) -> None:
    ecmp.write("site.yaml", ECMP_SITE + """\
  - name: backup
    qos_guarantee: {between: [{vlan: 10}, {vlan: 20}], rate: 850Mbps}
""")
    with pytest.raises(AdmissionError) as info:
        compile_site(load_site(ecmp.site))
    messages = info.value.messages
    assert len(messages) == 12  # every egress interface of both paths, both directions
    assert f"{ecmp.site}:12:5: admission refused: backup needs 850Mbps on a eth0, capacity 1Gbps, reservable 900Mbps " \
        "(90%), already reserved 100Mbps by video-10-20 (100Mbps); over by 50Mbps" in messages


def test_cli_refuses_an_oversubscribed_plan(ecmp: SiteDir) -> None:
    from tests.conftest import run_intent

    ecmp.write("site.yaml", ECMP_SITE.replace("rate: 100Mbps", "rate: 95%"))
    running = ecmp.root / "running"
    running.mkdir()
    result = run_intent("plan", str(ecmp.site), "--running", str(running))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "admission refused: video-10-20 needs 950Mbps on r1 eth1, capacity 1Gbps, reservable 900Mbps (90%), " \
        "nothing else reserved there; over by 50Mbps" in result.stderr


def test_percent_rates_follow_each_link(ecmp: SiteDir) -> None:
    ecmp.write("topology.yaml", ECMP_TOPOLOGY.replace("{a: r2:eth0, b: s2:eth0, bandwidth: 1Gbps}",
                                                      "{a: r2:eth0, b: s2:eth0, bandwidth: 200Mbps}"))
    ecmp.write("site.yaml", ECMP_SITE.replace("rate: 100Mbps", "rate: 10%"))
    result = reserved(ecmp)
    assert result[("r2", "eth0")][0] == 20_000_000
    assert result[("r1", "eth1")][0] == 100_000_000


def test_priority_is_capped_at_its_rate_and_ceil_defaults_to_the_link(ecmp: SiteDir) -> None:
    ecmp.write("site.yaml", ECMP_SITE + """\
  - name: voice
    qos_guarantee: {between: [{vlan: 10}, {vlan: 20}], rate: 10Mbps, priority: true, match: {dscp: ef}}
""")
    compilation = compile_site(load_site(ecmp.site))
    (policy,) = [p for p in compilation.models["r1"].egress if p.interface == "eth1"]
    classes = {c.intent: c for c in policy.classes}
    assert (classes["voice"].rate_bps, classes["voice"].ceil_bps, classes["voice"].priority) == (10**7, 10**7, True)
    assert classes["video-10-20"].ceil_bps == 10**9
    assert policy.default_rate_bps == 10**9 - 110_000_000
    assert classes["voice"].matches[0].dscp == 46


def test_a_link_cannot_be_both_trunk_and_routed_transit(ecmp: SiteDir) -> None:
    ecmp.write("site.yaml", ECMP_SITE.replace("access: [s2:eth3]", "access: [s2:eth3, s1:eth4]"))
    with pytest.raises(TopologyError, match="would carry VLAN 20 at layer 2 and also route between gateways"):
        compile_site(load_site(ecmp.site))


def test_no_path_is_a_topology_error(site_dir: SiteDir) -> None:
    site_dir.write("topology.yaml", "links:\n  - {a: core1:eth1, b: acc1:eth0, bandwidth: 1Gbps}\n")
    with pytest.raises(TopologyError, match="no path from acc2 to core1"):
        compile_site(load_site(site_dir.site))


def test_class_ids_are_stable_when_other_intents_come_and_go(ecmp: SiteDir) -> None:
    def minor() -> int:
        compilation = compile_site(load_site(ecmp.site))
        return next(c.minor for p in compilation.models["r1"].egress for c in p.classes if c.intent == "video-10-20")

    before = minor()
    ecmp.write("site.yaml", ECMP_SITE.replace("intents:\n", "intents:\n  - name: aaa-first\n"
                                              "    vlan: {id: 30, subnet: 10.30.0.0/24, gateway: r1}\n"))
    assert minor() == before


def test_compile_is_deterministic(ecmp: SiteDir) -> None:
    first = compile_site(load_site(ecmp.site))
    second = compile_site(load_site(ecmp.site))
    assert first == second
    assert {n: c.text for n, c in first.configs.items()} == {n: c.text for n, c in second.configs.items()}


def test_import_engine_pulls_in_no_vendor_library() -> None:
    code = ("import sys, engine, engine.plan, engine.report, engine.transaction, engine.cli, intents; "
            "print([m for m in ('napalm', 'netmiko', 'pyroute2', 'paramiko', 'hier_config') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
