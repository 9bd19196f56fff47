"""One transaction across Linux (namespaces), NAPALM (EOS, NAPALM's mock with responses generated
here) and Netmiko (the emulated IOS switch over real SSH): all applied, or all rolled back."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import cliconfig
from engine.compiler import compile_site
from engine.loader import load_site
from engine.plan import cli_device_plan
from engine.render import platform_spec
from tests.fakeswitch import ENABLE, PASSWORD, FakeSwitch
from tests.labs import Lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces")

E1_RUNNING = """\
! device: e1 (DCS-7050SX3, EOS-4.31.2F)
hostname e1
!
vlan 99
   name mgmt
!
interface Ethernet1
   description to core1
!
interface Ethernet10
   description camera
!
interface Management1
   ip address 192.0.2.40/24
!
end
"""

SITE = """\
site: mixed
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, access: [acc1:eth3, e1:Ethernet10]}
  - name: video
    vlan: {id: 20, subnet: 10.20.0.0/24, gateway: core1, access: [acc2:eth3]}
  - name: guest
    vlan: {id: 30, subnet: 10.30.0.0/24, gateway: core1, access: [s1:GigabitEthernet1/0/12]}
  - name: video-10-20
    qos_guarantee: {between: [{vlan: 10}, {vlan: 20}], rate: 20Mbps, queue: pfifo}
"""


@pytest.fixture
def mixed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Lab, FakeSwitch]]:
    switch = FakeSwitch(tmp_path / "switch")
    monkeypatch.setenv("S1_PASSWORD", PASSWORD)
    monkeypatch.setenv("S1_ENABLE", ENABLE)
    monkeypatch.setenv("E1_PASSWORD", "e1-not-used-by-the-mock")
    lab = Lab(tmp_path / "site")
    lab.write("inventory.yaml", f"""\
        all:
          children:
            linux:
              vars: {{platform: linux}}
              hosts:
                core1: {{netns: {lab.ns('core1')}}}
                acc1: {{netns: {lab.ns('acc1')}}}
                acc2: {{netns: {lab.ns('acc2')}}}
            ios:
              hosts:
                s1: {{platform: ios, driver: netmiko, host: 127.0.0.1, port: {switch.port}, username: admin,
                      password_env: S1_PASSWORD, enable_secret_env: S1_ENABLE}}
            eos:
              hosts:
                e1: {{platform: eos, host: 192.0.2.40, username: netops, password_env: E1_PASSWORD,
                      napalm_driver: mock, napalm_optional_args: {{path: e1-recorded}}}}
        """)
    lab.write("topology.yaml", """\
        links:
          - {a: core1:eth1, b: acc1:eth0, bandwidth: 100Mbps}
          - {a: core1:eth2, b: acc2:eth0, bandwidth: 100Mbps}
          - {a: core1:eth3, b: e1:Ethernet1, bandwidth: 1Gbps}
          - {a: core1:eth4, b: s1:GigabitEthernet1/0/1, bandwidth: 1Gbps}
        """)
    lab.write("site.yaml", SITE)
    lab.write("known_hosts", switch.known_hosts_line())
    record_e1(lab)
    originals = {name: (lab.root / name).read_text() for name in ("site.yaml", "inventory.yaml", "topology.yaml")}
    try:
        lab.intent("lab", "up")
        for number in (3, 4):  # core1's ports towards the vendor devices, which are not in the lab
            lab.sh("core1", "ip", "link", "add", f"eth{number}", "type", "veth", "peer", "name", f"stub{number}")
            lab.sh("core1", "ip", "link", "set", f"eth{number}", "up")
        yield lab, switch
    finally:
        for name, text in originals.items():  # a test may have changed them; down removes this site's lab
            (lab.root / name).write_text(text)
        lab.intent("lab", "down")
        switch.stop()


def record_e1(lab: Lab) -> None:
    """What NAPALM's mock replays for e1: each driver instance counts its calls from 1. The apply's
    instance reads the config four times: snapshot, stage, verify, and the archived state after."""
    config = compile_site(load_site(lab.site)).configs["e1"]
    planned = cli_device_plan(config, E1_RUNNING)
    syntax = platform_spec("eos").syntax
    assert syntax is not None
    merged = cliconfig.render(cliconfig.merge(cliconfig.parse(E1_RUNNING, syntax), cliconfig.parse(config.text, syntax),
                                              syntax), syntax)
    directory = lab.root / "e1-recorded"
    directory.mkdir(exist_ok=True)
    device_diff = "\n".join(line for line in planned.diff.splitlines()[2:] if line[:1] in "+-")
    files = {
        "get_config.1": {"running": E1_RUNNING}, "get_config.2": {"running": E1_RUNNING},
        "get_config.3": {"running": merged}, "get_config.4": {"running": merged},
        "load_merge_candidate.1": {},
        "compare_config.1": {"diff": device_diff}, "commit_config.1": {}, "discard_config.1": {},
        "load_replace_candidate.1": {},
    }
    for name, payload in files.items():
        (directory / name).write_text(json.dumps(payload))


def run(lab: Lab, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    return lab.intent(*args, "--known-hosts", str(lab.root / "known_hosts"), check=check)


def test_one_apply_across_linux_napalm_and_netmiko(mixed: tuple[Lab, FakeSwitch]) -> None:
    lab, _ = mixed
    result = run(lab, "apply", "--yes")
    for device in ("acc1", "acc2", "core1", "e1", "s1"):
        assert f"  {device}: changed" in result.stdout, result.stdout
    assert "vlan 10" in result.stdout and "+vlan 30" in result.stdout  # the plan showed vendor diffs too
    assert "rate 20Mbit" in lab.sh("core1", "tc", "class", "show", "dev", "eth3")  # towards e1


def test_a_vendor_failure_rolls_back_every_device(mixed: tuple[Lab, FakeSwitch]) -> None:
    lab, _ = mixed
    before = {device: lab.dump(device) for device in ("acc1", "acc2", "core1")}
    lab.write("site.yaml", SITE + """\
  - name: guest-video
    qos_guarantee: {between: [{vlan: 30}, {vlan: 20}], rate: 5Mbps, queue: pfifo}
""")  # puts QoS on s1, which the emulated switch refuses
    record_e1(lab)
    result = run(lab, "apply", "--yes", "--parallel", "1", check=1)
    assert "s1: FAILED" in result.stdout and "No such command" in result.stdout
    for device in ("acc1", "acc2", "core1", "e1"):
        assert f"  {device}: rolled back" in result.stdout, result.stdout
    assert {device: lab.dump(device) for device in before} == before
    history = lab.intent("history").stdout
    assert "rolled back" in history


def test_commit_confirm_on_linux_and_netmiko_reverts_all_unless_confirmed(mixed: tuple[Lab, FakeSwitch]) -> None:
    lab, switch = mixed
    lab.write("site.yaml", SITE.replace(", e1:Ethernet10", ""))  # e1 is NAPALM's mock: no state across calls
    lab.write("inventory.yaml", (lab.root / "inventory.yaml").read_text().split("    eos:")[0])
    lab.write("topology.yaml", "\n".join(line for line in (lab.root / "topology.yaml").read_text().splitlines()
                                         if "e1:Ethernet" not in line) + "\n")
    before = lab.dump("core1")
    run(lab, "apply", "--yes", "--confirm-timeout", "3")
    assert lab.dump("core1") != before
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and lab.dump("core1") != before:
        time.sleep(0.5)
    assert lab.dump("core1") == before
    reverted = lab.root / "state" / "mixed" / "devices" / "s1" / "reverted.json"
    for _ in range(40):
        if reverted.exists():
            break
        time.sleep(0.5)
    assert json.loads(reverted.read_text())["ok"] is True  # the switch went back too, by the reverter

    run(lab, "apply", "--yes", "--confirm-timeout", "20")  # counted from each device's commit: room for the rest
    run(lab, "confirm")
    time.sleep(21)
    assert lab.dump("core1") != before
    assert run(lab, "plan", "--detailed-exitcode", check=None).returncode == 0  # everything still as intended
