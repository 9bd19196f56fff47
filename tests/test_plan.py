"""intent plan end to end: formats, exit codes, ownership, secrets, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.compiler import compile_site
from engine.loader import load_site
from tests.conftest import SiteDir, run_intent

MIXED_INVENTORY = """\
all:
  vars: {password_env: LAB_PASSWORD}
  children:
    linux:
      vars: {platform: linux}
      hosts:
        core1: {netns: core1}
        acc2: {netns: acc2}
    ios:
      vars: {ansible_network_os: cisco.ios.ios, ansible_password: "S3cr3tPassw0rd"}
      hosts:
        acc1: {ansible_host: 192.0.2.21}
"""
MIXED_TOPOLOGY = """\
links:
  - {a: core1:eth1, b: acc1:GigabitEthernet1/0/1, bandwidth: 1Gbps}
  - {a: core1:eth2, b: acc2:eth0, bandwidth: 1Gbps}
"""
ACC1_RUNNING = """\
hostname acc1
!
enable secret 9 $9$nm4xq2$Jt5aB9cD0eF1gH2iJ3kL4mN5oP6qR7sT8uV9wX0yZ1
username netops privilege 15 password 0 S3cr3tPassw0rd
!
interface GigabitEthernet1/0/1
 description uplink
!
interface GigabitEthernet1/0/3
 description desk
 switchport access vlan 5
 switchport mode access
!
snmp-server community pub1icRO RO
end
"""


@pytest.fixture
def mixed(site_dir: SiteDir) -> SiteDir:
    site_dir.write("inventory.yaml", MIXED_INVENTORY)
    site_dir.write("topology.yaml", MIXED_TOPOLOGY)
    site_dir.write("site.yaml", (site_dir.root / "site.yaml").read_text().replace("acc1:eth3", "acc1:GigabitEthernet1/0/3"))
    site_dir.write("running/acc1.cfg", ACC1_RUNNING)
    return site_dir


def plan_json(site: SiteDir, *extra: str) -> dict:
    result = run_intent("plan", str(site.site), "--running", str(site.root / "running"), "--format", "json",
                        "--allow-plaintext-secrets", *extra)
    assert result.returncode in (0, 2), result.stderr
    return json.loads(result.stdout)


def test_json_plan_follows_the_contract(mixed: SiteDir) -> None:
    plan = plan_json(mixed)
    assert list(plan)[:5] == ["site", "changes", "devices", "reservations", "intents"] and plan["errors"] == []
    assert plan["site"] == "lab" and plan["changes"] is True
    acc1 = plan["devices"]["acc1"]
    assert acc1["platform"] == "ios" and acc1["changed"] and not acc1["fresh"]
    assert acc1["diff"].startswith("--- acc1 (running)\n+++ acc1 (intent)\n")
    assert "policy-map INTENT-OUT-GigabitEthernet1_0_1" in acc1["config"]
    assert plan["devices"]["core1"]["fresh"] is True
    assert "planned as a fresh device" in plan["devices"]["core1"]["notes"][0]
    first = plan["reservations"][0]
    assert first == {"device": "acc1", "interface": "GigabitEthernet1/0/1", "capacity_bps": 1_000_000_000,
                     "reservable_bps": 1_000_000_000, "reserved_bps": 100_000_000, "headroom_bps": 900_000_000,
                     "intents": ["video-10-20"]}


def test_diff_touches_only_what_the_engine_owns(mixed: SiteDir) -> None:
    diff = plan_json(mixed)["devices"]["acc1"]["diff"]
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    # The free uplink now carries one VLAN (untagged on both ends, like its Linux peer) and the desk
    # port moves to VLAN 10; descriptions, secrets, SNMP and everything else stay.
    assert removed == ["- switchport access vlan 5"]
    assert "+ switchport mode access" in diff and "+ switchport access vlan 10" in diff
    assert " description uplink" in diff and " description desk" in diff


BROWNFIELD_ACC1 = ACC1_RUNNING.replace(" description uplink\n", " description uplink\n channel-group 1 mode active\n").replace(
    " description desk\n switchport access vlan 5\n switchport mode access\n",
    " description desk\n no switchport\n ip address 192.0.2.9 255.255.255.0\n no shutdown\n").replace(
    "!\nsnmp-server", "!\nvlan 10\n name cameras\n!\nsnmp-server")


def test_a_port_carrying_what_the_engine_does_not_own_is_refused_naming_it(mixed: SiteDir) -> None:
    mixed.write("running/acc1.cfg", BROWNFIELD_ACC1)
    result = run_intent("plan", str(mixed.site), "--running", str(mixed.root / "running"), "--allow-plaintext-secrets")
    assert result.returncode == 1
    assert "acc1.cfg:6:1: acc1 GigabitEthernet1/0/1 carries configuration the engine does not own: " \
           "channel-group 1 mode active (add takeover: true to intent 'users' to replace it)" in result.stderr
    assert "acc1 GigabitEthernet1/0/3 carries configuration the engine does not own: no switchport; " \
           "ip address 192.0.2.9 255.255.255.0" in result.stderr
    assert "acc1 VLAN 10 already exists under another name: vlan 10 name cameras (wanted: users)" in result.stderr


def test_a_one_vlan_uplink_the_switch_runs_as_a_trunk_stays_a_trunk_on_both_ends(mixed: SiteDir) -> None:
    """Not an access port over somebody else's trunk (a takeover): the trunk gains the VLAN, keeps its
    own, and the Linux end tags it too, so both ends agree."""
    mixed.write("running/acc1.cfg", ACC1_RUNNING.replace(
        " description uplink\n", " description uplink\n switchport trunk allowed vlan 99\n switchport mode trunk\n"))
    plan = plan_json(mixed)
    assert plan["errors"] == []
    acc1 = plan["devices"]["acc1"]
    uplink = acc1["commands"][acc1["commands"].index("interface GigabitEthernet1/0/1"):][:3]
    assert uplink[1] == " switchport trunk allowed vlan add 10", uplink
    assert " switchport mode access" not in uplink and "switchport access vlan 10" not in uplink[1]
    assert "dev eth1.10" in plan["devices"]["core1"]["config"] or "eth1.10" in plan["devices"]["core1"]["config"]


def test_takeover_true_replaces_them_and_the_notes_say_what_goes(mixed: SiteDir) -> None:
    mixed.write("running/acc1.cfg", BROWNFIELD_ACC1)
    mixed.write("site.yaml", (mixed.root / "site.yaml").read_text().replace(
        "access: [acc1:GigabitEthernet1/0/3]}", "access: [acc1:GigabitEthernet1/0/3], takeover: true}"))
    acc1 = plan_json(mixed)["devices"]["acc1"]
    assert "takeover of acc1 GigabitEthernet1/0/3 (interface GigabitEthernet1/0/3): removes no switchport; " \
           "ip address 192.0.2.9 255.255.255.0" in acc1["notes"]
    assert "takeover of acc1 VLAN 10 (vlan 10): removes vlan 10 name cameras (wanted: users)" in acc1["notes"]
    commands = acc1["commands"]
    port = commands[commands.index("interface GigabitEthernet1/0/3"):]
    assert port[1:5] == [" switchport", " no ip address 192.0.2.9 255.255.255.0", " switchport access vlan 10",
                         " switchport mode access"] or set(port[1:5]) == {
        " switchport", " no ip address 192.0.2.9 255.255.255.0", " switchport access vlan 10", " switchport mode access"}
    assert " shutdown" not in commands and " no shutdown" not in port[:6]  # admin state stays the operator's
    assert "vlan 10" in commands and " name users" in commands


def test_secrets_are_masked_in_every_output(mixed: SiteDir) -> None:
    secrets = ["S3cr3tPassw0rd", "$9$nm4xq2$Jt5aB9cD0eF1gH2iJ3kL4mN5oP6qR7sT8uV9wX0yZ1", "pub1icRO"]
    outputs = []
    for fmt in ("text", "json", "markdown"):
        result = run_intent("plan", str(mixed.site), "--running", str(mixed.root / "running"), "--format", fmt,
                            "--allow-plaintext-secrets", "--out", str(mixed.root / f"plan-{fmt}.json"))
        outputs += [result.stdout, result.stderr, (mixed.root / f"plan-{fmt}.json").read_text()]
    # Make sure the diff context really includes the secret lines, so masking is exercised.
    mixed.write("running/acc1.cfg", ACC1_RUNNING.replace("!\ninterface GigabitEthernet1/0/3", "interface GigabitEthernet1/0/3"))
    assert "<masked>" in plan_json(mixed)["devices"]["acc1"]["diff"]
    for output in outputs:
        for secret in secrets:
            assert secret not in output


def test_detailed_exitcode_and_no_changes(site_dir: SiteDir) -> None:
    running = site_dir.root / "running"
    running.mkdir()
    result = run_intent("plan", str(site_dir.site), "--running", str(running), "--detailed-exitcode")
    assert result.returncode == 2
    assert "3 of 3 devices to change" in result.stdout
    for name, config in compile_site(load_site(site_dir.site)).configs.items():
        (running / f"{name}.json").write_text(json.dumps(config.document))
    result = run_intent("plan", str(site_dir.site), "--running", str(running), "--detailed-exitcode")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no changes; 3 devices match their intents" in result.stdout
    assert run_intent("plan", str(site_dir.site), "--running", str(running)).returncode == 0


def test_linux_plan_leaves_unowned_objects_out_and_removes_owned_leftovers(site_dir: SiteDir) -> None:
    document = compile_site(load_site(site_dir.site)).configs["core1"].document
    assert document is not None
    document = json.loads(json.dumps(document))
    document["owned"] = ["route 10.99.0.0/24"]
    document["routes"].append({"dst": "10.99.0.0/24", "nexthops": [{"via": "192.0.2.1", "dev": "eth0"}]})
    document["routes"].append({"dst": "0.0.0.0/0", "nexthops": [{"via": "192.0.2.1", "dev": "eth0"}]})
    document["qdiscs"].append({"dev": "eth9", "parent": "root", "handle": "1:", "kind": "tbf"})
    site_dir.write("running/core1.json", json.dumps(document))
    core1 = plan_json(site_dir)["devices"]["core1"]
    changes = [line for line in core1["diff"].splitlines()[2:] if line[:1] in "+-"]
    assert changes == ["-ip route replace 10.99.0.0/24 nexthop via 192.0.2.1 dev eth0"]
    assert core1["notes"] == []


def test_linux_plan_says_when_it_replaces_a_qdisc_it_did_not_create(site_dir: SiteDir) -> None:
    site_dir.write("running/core1.json", json.dumps({
        "device": "core1", "platform": "linux",
        "qdiscs": [{"dev": "eth1", "parent": "root", "handle": "8001:", "kind": "tbf"},
                   {"dev": "eth5", "parent": "root", "handle": "1:", "kind": "tbf"}],
    }))
    core1 = plan_json(site_dir)["devices"]["core1"]
    assert core1["notes"] == ["replaces a tbf qdisc on eth1 that intent did not create"]
    assert "-tc qdisc replace dev eth1 root handle 8001: tbf" in core1["diff"]
    assert "eth5" not in core1["diff"]


def test_output_is_byte_identical_across_runs_and_hash_seeds(mixed: SiteDir) -> None:
    for fmt in ("text", "json", "markdown"):
        outputs = {
            run_intent("plan", str(mixed.site), "--running", str(mixed.root / "running"), "--format", fmt,
                       "--allow-plaintext-secrets", env={"PYTHONHASHSEED": seed}).stdout
            for seed in ("0", "1", "12345")
        }
        assert len(outputs) == 1


def test_markdown_is_a_review_comment(mixed: SiteDir) -> None:
    result = run_intent("plan", str(mixed.site), "--running", str(mixed.root / "running"), "--format", "markdown",
                        "--allow-plaintext-secrets")
    text = result.stdout
    assert text.startswith("### intent plan: site `lab`\n\n**Site lab: 3 of 3 devices to change (acc1, acc2, core1).**")
    assert "| device | interface | capacity | reservable | reserved | headroom | intents |" in text
    assert "<details>\n<summary><code>acc1</code> (ios): +" in text and "```diff\n--- acc1 (running)" in text


def test_invalid_input_in_json_mode_is_reported_as_json(site_dir: SiteDir) -> None:
    site_dir.write("site.yaml", (site_dir.root / "site.yaml").read_text().replace("rate: 100Mbps", "rate: fast"))
    running = site_dir.root / "running"
    running.mkdir()
    result = run_intent("plan", str(site_dir.site), "--running", str(running), "--format", "json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["changes"] is False and len(payload["errors"]) == 1 and "invalid rate 'fast'" in payload["errors"][0]


def test_plan_needs_running_state_or_says_why(site_dir: SiteDir, tmp_path: Path) -> None:
    site_dir.write("inventory.yaml", (site_dir.root / "inventory.yaml").read_text().replace("{netns: acc2}", "{host: acc2.example.net}"))
    result = run_intent("plan", str(site_dir.site), env={})  # live, nothing reachable
    assert result.returncode == 1
    assert "acc2: no password: set the environment variable LAB_PASSWORD" in result.stderr  # before any connection
    assert "core1: network namespace 'core1' does not exist (run: intent lab up SITE)" in result.stderr
    result = run_intent("plan", str(site_dir.site), "--running", str(tmp_path / "nope"))
    assert result.returncode == 1 and "no such directory" in result.stderr
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "core1.json").write_text("{not json")
    result = run_intent("plan", str(site_dir.site), "--running", str(tmp_path / "bad"))
    assert result.returncode == 1 and f"{tmp_path / 'bad' / 'core1.json'}:1:1: invalid JSON running state" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_plan_says_where_commit_confirm_is_a_snapshot_revert() -> None:
    from tests.conftest import ROOT

    result = run_intent("plan", str(ROOT / "examples/campus/site.yaml"), "--running",
                        str(ROOT / "examples/campus/running"), "--format", "json")
    devices = json.loads(result.stdout)["devices"]
    assert "NAPALM has no commit-confirm for nxos" in " ".join(devices["dist1"]["notes"])  # napalm + nxos
    assert "commit-confirm is a detached reverter" in " ".join(devices["sw2"]["notes"])  # netmiko
    assert not any("reverter" in note for note in devices["sw1"]["notes"])  # napalm + ios: the device's own
