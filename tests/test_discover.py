"""intent discover: a topology from LLDP and interface speeds, through NAPALM (its mock, recorded)."""

from __future__ import annotations

import json
from pathlib import Path

from engine.loader import load_site
from tests.conftest import SiteDir, run_intent


def lldp(entries: dict[str, tuple[str, str]]) -> dict:
    return {local: [{"remote_system_name": name, "remote_port": port, "remote_chassis_id": "",
                     "remote_port_description": "", "remote_system_description": "", "remote_system_capab": [],
                     "remote_system_enable_capab": [], "parent_interface": ""}] for local, (name, port) in entries.items()}


def interfaces(speeds: dict[str, float]) -> dict:
    return {name: {"is_up": True, "is_enabled": True, "description": "", "mtu": 1500, "last_flapped": -1.0,
                   "speed": speed, "mac_address": "00:00:00:00:00:01"} for name, speed in speeds.items()}


def record(directory: Path, neighbours: dict, ports: dict) -> None:
    directory.mkdir(parents=True)
    (directory / "get_lldp_neighbors_detail.1").write_text(json.dumps(neighbours))
    (directory / "get_interfaces.1").write_text(json.dumps(ports))


def test_discover_builds_a_topology_the_site_can_use(tmp_path: Path) -> None:
    site = SiteDir(tmp_path)
    record(tmp_path / "sw1", lldp({"GigabitEthernet1/0/1": ("core1.example.net", "Ethernet1/1"),
                                   "GigabitEthernet1/0/2": ("printer-7", "port 1")}),
           interfaces({"GigabitEthernet1/0/1": 1000.0, "GigabitEthernet1/0/2": 100.0}))
    record(tmp_path / "core1", lldp({"Ethernet1/1": ("sw1", "GigabitEthernet1/0/1"),
                                     "Ethernet1/2": ("sw2", "Ethernet1")}),
           interfaces({"Ethernet1/1": 10000.0, "Ethernet1/2": 0.0}))
    site.write("inventory.yaml", """\
        all:
          vars: {password_env: DISCOVER_PW, napalm_driver: mock}
          hosts:
            sw1: {platform: ios, napalm_optional_args: {path: sw1}}
            core1: {platform: nxos, host: core1.example.net, napalm_optional_args: {path: core1}}
            sw2: {platform: eos, driver: netmiko}
            lab1: {platform: linux, netns: lab1}
        """)
    result = run_intent("discover", "--inventory", str(tmp_path / "inventory.yaml"), "--out",
                        str(tmp_path / "topology.yaml"), env={"DISCOVER_PW": "x"})
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "topology.yaml").read_text()
    assert "  - {a: core1:Ethernet1/1, b: sw1:GigabitEthernet1/0/1, bandwidth: 1Gbps}" in text  # once, slower side
    assert "# sw1:GigabitEthernet1/0/2 sees printer-7 (port 1), which is not in the inventory" in text
    assert "# core1:Ethernet1/2 -- sw2:Ethernet1: speed unknown, link left out" in text
    assert "# skipped lab1: discovery reads LLDP neighbours, which the linux driver cannot" in text
    site.write("site.yaml", "site: found\ninventory: inventory.yaml\ntopology: topology.yaml\nintents: []\n")
    assert len(load_site(site.site).links) == 1  # the output is a valid topology for that inventory


def test_discover_reports_unreachable_devices(tmp_path: Path) -> None:
    SiteDir(tmp_path).write("inventory.yaml", """\
        all:
          hosts:
            sw1: {platform: ios, password_env: DISCOVER_PW, napalm_driver: mock,
                  napalm_optional_args: {path: nowhere, fail_on_open: true}}
        """)
    result = run_intent("discover", "--inventory", str(tmp_path / "inventory.yaml"), env={"DISCOVER_PW": "x"})
    assert result.returncode == 1
    assert "# failed sw1: ConnectionException: You told me to do this" in result.stdout
    assert "Traceback" not in result.stderr


def test_apply_dry_run_shows_the_device_diff_and_commits_nothing(tmp_path: Path) -> None:
    site = SiteDir(tmp_path)
    recorded = Path(__file__).parent / "drivers" / "ios" / "recorded" / "apply"
    site.write("inventory.yaml", f"""\
        all:
          vars: {{platform: ios, password_env: DRY_PW, napalm_driver: mock}}
          hosts:
            r1: {{napalm_optional_args: {{path: {tmp_path / 'r1'}}}}}
        """)
    target = tmp_path / "r1"
    target.mkdir()
    for name in ("get_config.1", "load_merge_candidate.1", "compare_config.1", "discard_config.1"):
        (target / name).write_text((recorded / name).read_text())
    (target / "get_config.2").write_text((recorded / "get_config.1").read_text())  # the apply reads it again
    (target / "get_config.3").write_text((recorded / "get_config.1").read_text())
    site.write("topology.yaml", "links: []\n")
    site.write("site.yaml", "site: dry\ninventory: inventory.yaml\ntopology: topology.yaml\nintents:\n"
                            "  - name: video\n    vlan: {id: 20, subnet: 10.20.0.0/24, gateway: r1, "
                            "access: [r1:GigabitEthernet1/0/5]}\n")
    result = run_intent("apply", str(site.site), "--dry-run", env={"DRY_PW": "x",
                                                                   "INTENT_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--- r1: the device's own diff (discarded)" in result.stdout and "+vlan 20" in result.stdout
    assert "dry run " in result.stdout and ": ok" in result.stdout
    # commit_config has no recorded answer: had the dry run committed, NAPALM's mock would have failed it
    history = (tmp_path / "state" / "dry" / "applies.jsonl")
    assert '"action": "dry-run"' in history.read_text() and '"action": "apply"' not in history.read_text()
