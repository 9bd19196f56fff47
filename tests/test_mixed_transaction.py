"""One transaction across Linux (namespaces), NAPALM (EOS: NAPALM's mock replaying responses written
by hand below) and Netmiko (the emulated IOS switch over real SSH): all applied, or all rolled back."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeswitch import ENABLE, PASSWORD, FakeSwitch
from tests.labs import Lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces")

# e1's answers, as NAPALM's eos driver returns them (written by hand; nothing here comes from the
# engine): get_config(retrieve="running") is `show running-config` over eAPI as text, its "! Command:"
# and "! device:" header kept, three-space indentation, sub-sections closed by an indented "!".
E1_RUNNING = """\
! Command: show running-config
! device: e1 (DCS-7050SX3-48YC8, EOS-4.31.2F)
!
! boot system flash:/EOS-4.31.2F.swi
!
no aaa root
!
username netops privilege 15 role network-admin secret sha512 $6$Rq2Wz7Lp$N0tARealHashJustTheFormEOSPrints.0123456789abcdefghijklmnopqrstuvwxyzABCD/
!
transceiver qsfp default-mode 4x10G
!
service routing protocols model multi-agent
!
hostname e1
!
spanning-tree mode mstp
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
no ip routing
!
end
"""
# After the commit: the device's own rendering of what it was sent, in EOS's order (qos profiles,
# VLANs by id, class-maps and policy-maps before interfaces, access lists after them).
E1_AFTER = """\
! Command: show running-config
! device: e1 (DCS-7050SX3-48YC8, EOS-4.31.2F)
!
! boot system flash:/EOS-4.31.2F.swi
!
no aaa root
!
username netops privilege 15 role network-admin secret sha512 $6$Rq2Wz7Lp$N0tARealHashJustTheFormEOSPrints.0123456789abcdefghijklmnopqrstuvwxyzABCD/
!
transceiver qsfp default-mode 4x10G
!
service routing protocols model multi-agent
!
hostname e1
!
spanning-tree mode mstp
!
qos profile INTENT-OUT-Ethernet1
   !
   tx-queue 0
      no priority
      bandwidth percent 98
   !
   tx-queue 1
      no priority
      bandwidth percent 2
!
vlan 10
   name users
!
vlan 99
   name mgmt
!
class-map type qos match-any INTENT-video-10-20
   match ip access-group INTENT-video-10-20
!
policy-map type quality-of-service INTENT-IN
   class INTENT-video-10-20
      set traffic-class 1
   !
   class class-default
      set traffic-class 0
!
interface Ethernet1
   description to core1
   switchport access vlan 10
   switchport mode access
   service-profile INTENT-OUT-Ethernet1
   service-policy type qos input INTENT-IN
!
interface Ethernet10
   description camera
   switchport access vlan 10
   switchport mode access
   service-policy type qos input INTENT-IN
!
interface Management1
   ip address 192.0.2.40/24
!
ip access-list INTENT-video-10-20
   10 permit ip 10.10.0.0/24 10.20.0.0/24
!
no ip routing
!
end
"""
# compare_config(): `show session-config named napalm_<n> diffs`, a unified diff of the running
# config against the session's, with the first two lines (--- system:/running-config,
# +++ session:/napalm_<n>-session-config) cut off by NAPALM and the rest stripped.
E1_SESSION_DIFF = """\
@@ -15,18 +15,51 @@
 !
 spanning-tree mode mstp
 !
+qos profile INTENT-OUT-Ethernet1
+   !
+   tx-queue 0
+      no priority
+      bandwidth percent 98
+   !
+   tx-queue 1
+      no priority
+      bandwidth percent 2
+!
+vlan 10
+   name users
+!
 vlan 99
    name mgmt
 !
+class-map type qos match-any INTENT-video-10-20
+   match ip access-group INTENT-video-10-20
+!
+policy-map type quality-of-service INTENT-IN
+   class INTENT-video-10-20
+      set traffic-class 1
+   !
+   class class-default
+      set traffic-class 0
+!
 interface Ethernet1
    description to core1
+   switchport access vlan 10
+   switchport mode access
+   service-profile INTENT-OUT-Ethernet1
+   service-policy type qos input INTENT-IN
 !
 interface Ethernet10
    description camera
+   switchport access vlan 10
+   switchport mode access
+   service-policy type qos input INTENT-IN
 !
 interface Management1
    ip address 192.0.2.40/24
 !
+ip access-list INTENT-video-10-20
+   10 permit ip 10.10.0.0/24 10.20.0.0/24
+!
 no ip routing
 !
 end"""

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
    """The lab up and the emulated switch started; afterwards, whatever failed on the way (the switch's
    start, a write, ``lab up``, the test, ``lab down`` itself), the lab is down and the switch ended."""
    with contextlib.ExitStack() as cleanup:
        switch = cleanup.enter_context(FakeSwitch(tmp_path / "switch"))
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
        cleanup.callback(lab_down, lab, originals)  # before `lab up`: a lab half built is removed too
        lab.intent("lab", "up")
        for number in (3, 4):  # core1's ports towards the vendor devices, which are not in the lab
            lab.sh("core1", "ip", "link", "add", f"eth{number}", "type", "veth", "peer", "name", f"stub{number}")
            lab.sh("core1", "ip", "link", "set", f"eth{number}", "up")
        yield lab, switch


def lab_down(lab: Lab, originals: dict[str, str]) -> None:
    """``intent lab down`` on the site as it was written (a test may have changed its files), and nothing
    of it left behind."""
    for name, text in originals.items():
        (lab.root / name).write_text(text)
    lab.intent("lab", "down")
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert lab.prefix not in left, f"namespaces left behind: {left}"


def record_e1(lab: Lab) -> None:
    """What NAPALM's mock replays for e1: each driver instance counts its calls from 1. The apply's
    instance reads the config four times (snapshot, stage, the driver's check after its commit, the
    engine's verification); a restore's instance reads it twice (its check, the hash check)."""
    def running(text: str, models: str) -> dict[str, str]:
        return {"_models": models, "startup": "", "running": text, "candidate": ""}

    before = "napalm eos get_config(retrieve='running'): show running-config as text, before the change"
    after = "napalm eos get_config(retrieve='running'): show running-config as text, after the commit"
    done = "success: NAPALM returns None"
    files = {
        "get_config.1": running(E1_RUNNING, before), "get_config.2": running(E1_RUNNING, before),
        "get_config.3": running(E1_AFTER, after), "get_config.4": running(E1_AFTER, after),
        "load_merge_candidate.1": {"_models": done},
        "compare_config.1": {"_models": "napalm eos compare_config(): the session's diff, header cut, stripped",
                             "diff": E1_SESSION_DIFF},
        "commit_config.1": {"_models": done}, "discard_config.1": {"_models": done},
        "load_replace_candidate.1": {"_models": done},
    }
    directory = lab.root / "e1-recorded"
    directory.mkdir(exist_ok=True)
    for name, payload in files.items():
        (directory / name).write_text(json.dumps(payload, indent=1))


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


@pytest.mark.measures  # confirm deadlines in wall-clock seconds: alone, so a busy worker cannot eat them
def test_commit_confirm_on_linux_and_netmiko_reverts_all_unless_confirmed(mixed: tuple[Lab, FakeSwitch]) -> None:
    lab, switch = mixed
    lab.write("site.yaml", SITE.replace(", e1:Ethernet10", ""))  # e1 is NAPALM's mock: no state across calls
    lab.write("inventory.yaml", (lab.root / "inventory.yaml").read_text().split("    eos:")[0])
    lab.write("topology.yaml", "\n".join(line for line in (lab.root / "topology.yaml").read_text().splitlines()
                                         if "e1:Ethernet" not in line) + "\n")
    # Deadlines count from each device's commit, inside the apply: core1 is looked at, and the confirm
    # sent, after the rest of the apply (the switch's commit over SSH) and the start of a program, seconds
    # on a loaded machine. Those must come before the deadline (15 s, 30 s); the waits for the reverts
    # only end early.
    before = lab.dump("core1")
    run(lab, "apply", "--yes", "--confirm-timeout", "15")
    applied_at = time.monotonic()
    assert lab.dump("core1") != before
    while time.monotonic() - applied_at < 15 + 60 and lab.dump("core1") != before:
        time.sleep(0.5)
    assert lab.dump("core1") == before
    reverted = lab.root / "state" / "mixed" / "devices" / "s1" / "reverted.json"
    while time.monotonic() - applied_at < 15 + 120 and not reverted.exists():
        time.sleep(0.5)
    assert json.loads(reverted.read_text())["ok"] is True  # the switch went back too, by the reverter

    run(lab, "apply", "--yes", "--confirm-timeout", "30")
    applied_at = time.monotonic()  # every device's deadline is before applied_at + 30
    run(lab, "confirm")
    time.sleep(max(0.0, applied_at + 30 + 2 - time.monotonic()))
    assert lab.dump("core1") != before
    assert run(lab, "plan", "--detailed-exitcode", check=None).returncode == 0  # everything still as intended
