"""The Linux driver against the real kernel: lab namespaces, apply, verify, roll back, commit-confirm.

Needs root (network namespaces); CI runs as root. Every test builds its own lab with unique
namespace names and removes it, checking that nothing is left behind.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import lab_site
from tests.labs import Lab, running_lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: creates network namespaces")

SITE = lab_site("rate: 30Mbps, queue: pfifo, match: {dscp: af41}", reservable="90%")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with running_lab(tmp_path, SITE) as built:
        yield built
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "h-acc1-eth3" not in left


def classes(lab: Lab, device: str, interface: str) -> dict[str, str]:
    out = lab.sh(device, "tc", "class", "show", "dev", interface)
    return {m.group(1): m.group(0) for m in re.finditer(r"class htb (\S+) .*", out)}


def test_lab_up_is_idempotent_and_cabled_per_topology(lab: Lab) -> None:
    again = lab.intent("lab", "up")
    assert "already up" in again.stdout
    assert "eth1" in lab.sh("core1", "ip", "-o", "link", "show", "eth1")
    assert "10.10.0.2/24" in lab.sh("h-acc1-eth3", "ip", "-o", "addr", "show", "eth0")
    assert "default via 10.10.0.1" in lab.sh("h-acc1-eth3", "ip", "route")


def test_another_lab_with_the_same_device_names_leaves_this_labs_hosts_and_traffic_alone(lab: Lab,
                                                                                           tmp_path: Path) -> None:
    """Host namespaces are named h-<device>-<interface>, so a second lab of devices named alike (another
    run on the machine) finds this lab's h-acc1-eth3: its up is refused, and its down (which kills what
    runs in its namespaces) must not kill this lab's traffic nor remove its hosts."""
    running = subprocess.Popen(["ip", "netns", "exec", "h-acc1-eth3", "sleep", "60"])
    other = Lab(tmp_path / "other")
    try:
        for name in ("inventory.yaml", "topology.yaml", "site.yaml"):
            text = (lab.root / name).read_text()
            other.write(name, text.replace(f"{lab.prefix}-", f"{other.prefix}-") if name == "inventory.yaml" else text)
        up = other.intent("lab", "up", check=1)
        assert "h-acc1-eth3 already exists and is cabled to another lab's eth3" in up.stderr, up.stderr
        assert "Traceback" not in up.stderr
        down = other.intent("lab", "down")
        assert "left h-acc1-eth3: it is cabled to another lab" in down.stdout + down.stderr
        time.sleep(0.5)
        assert running.poll() is None, f"this lab's process was killed ({running.returncode})"
        assert "10.10.0.2/24" in lab.sh("h-acc1-eth3", "ip", "-o", "addr", "show", "eth0")
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert other.prefix not in left, left
    finally:
        running.kill()
        running.wait()
        other.intent("lab", "down", check=None)


def test_apply_builds_every_egress_of_the_path_and_hosts_reach_each_other(lab: Lab) -> None:
    result = lab.intent("apply", "--yes")
    assert "apply " in result.stdout and ": ok" in result.stdout
    for device, interface in (("core1", "eth1"), ("core1", "eth2"), ("acc1", "eth0"), ("acc2", "eth0")):
        found = classes(lab, device, interface)
        assert "rate 30Mbit ceil 100Mbit" in found["1:338c"] and "prio 1" in found["1:338c"], found
        assert "rate 100Mbit" in found["1:1"] and "rate 70Mbit" in found["1:2"]
        filters = lab.sh(device, "tc", "filter", "show", "dev", interface)
        assert "flowid 1:338c" in filters and "00880000/00fc0000 at 0" in filters  # dscp af41 << 2
        assert "pfifo 338c:" in lab.sh(device, "tc", "qdisc", "show", "dev", interface)
    assert "10.10.0.0/24 match" not in lab.sh("core1", "ip", "route")  # connected, no static route needed
    assert lab.sh("core1", "cat", "/proc/sys/net/ipv4/ip_forward").strip() == "1"
    ping = subprocess.run(["ip", "netns", "exec", "h-acc1-eth3", "ping", "-c", "2", "-W", "2", "10.20.0.2"],
                          capture_output=True, text=True)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    again = lab.intent("apply", "--yes")
    assert "Nothing to apply." in again.stdout  # a second apply makes zero netlink changes


def test_removing_an_intent_removes_exactly_its_objects(lab: Lab) -> None:
    lab.sh("core1", "ip", "link", "add", "hand0", "type", "veth", "peer", "name", "hand1")
    lab.sh("core1", "tc", "qdisc", "add", "dev", "hand0", "root", "tbf", "rate", "1mbit", "burst", "32kbit",
           "latency", "400ms")
    lab.intent("apply", "--yes")
    lab.write("site.yaml", SITE.split("  - name: video-10-20")[0])
    lab.intent("apply", "--yes")
    assert "htb" not in lab.sh("core1", "tc", "qdisc", "show", "dev", "eth1")
    assert lab.sh("core1", "tc", "filter", "show", "dev", "eth1") == ""
    assert re.search(r"tbf [0-9a-f]+: root .*rate 1Mbit", lab.sh("core1", "tc", "qdisc", "show", "dev", "hand0"))
    assert "br10" in lab.sh("core1", "ip", "-o", "link")  # the VLANs stay
    owned = json.loads((lab.root / "state" / "lab" / "devices" / "core1" / "owned.json").read_text())
    assert not any(key.startswith(("qdisc", "class", "filter")) for key in owned)


def test_rollback_restores_byte_identical_dumps(lab: Lab) -> None:
    before = {device: lab.dump(device) for device in ("core1", "acc1", "acc2")}
    lab.intent("apply", "--yes")
    assert lab.dump("core1") != before["core1"]
    result = lab.intent("rollback")
    assert "rolled back" in result.stdout
    assert {device: lab.dump(device) for device in before} == before
    history = lab.intent("history").stdout
    assert re.search(r"apply .* ok .*acc1, acc2, core1", history) and "rollback" in history


def test_a_failure_on_the_second_device_rolls_back_the_first(lab: Lab) -> None:
    before = {device: lab.dump(device) for device in ("acc1", "acc2", "core1")}
    lab.sh("acc2", "ip", "link", "del", "eth3")  # the host port vanishes: acc2 cannot be configured
    before["acc2"] = lab.dump("acc2")
    result = lab.intent("apply", "--yes", "--parallel", "1", check=1)
    assert "acc1: rolled back" in result.stdout
    assert "acc2: FAILED" in result.stdout and "interface eth3 does not exist" in result.stdout
    assert "core1" in result.stdout and "not started" in result.stdout
    for device, dump in before.items():
        assert lab.dump(device) == dump, device


@pytest.mark.measures  # the reverter's deadline, in wall-clock seconds
def test_commit_confirm_reverts_on_timeout_and_sticks_after_confirm(lab: Lab) -> None:
    # Deadlines count from each device's commit, inside the apply: the change is looked at, and the
    # confirm sent, after the rest of the apply and the start of a program, seconds on a loaded machine.
    # Those must come before the deadline (10 s, 20 s); the wait for the revert only ends early.
    before = lab.dump("core1")
    lab.intent("apply", "--yes", "--confirm-timeout", "10")
    applied_at = time.monotonic()
    assert lab.dump("core1") != before
    while time.monotonic() - applied_at < 10 + 60 and lab.dump("core1") != before:
        time.sleep(0.5)
    assert lab.dump("core1") == before  # reverted by the detached reverter, not by this process
    late = lab.intent("confirm", check=1)
    assert "too late: apply" in late.stderr and "already reverted at its deadline" in late.stderr
    assert re.search(r"apply .* reverted \(not confirmed in time\)", lab.intent("history").stdout)

    lab.intent("apply", "--yes", "--confirm-timeout", "20")
    applied_at = time.monotonic()  # every device's deadline is before applied_at + 20
    lab.intent("confirm")
    applied = lab.dump("core1")
    time.sleep(max(0.0, applied_at + 20 + 2 - time.monotonic()))
    assert lab.dump("core1") == applied != before


def test_a_missing_kernel_feature_fails_at_plan_time(lab: Lab) -> None:
    from drivers.linux.driver import kernel_has

    lab.write("site.yaml", SITE.replace("queue: pfifo", "queue: fq_codel"))
    result = lab.intent("apply", "--yes", check=None)
    if kernel_has(("qdisc", "fq_codel")):
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 1
        assert "core1: the kernel lacks qdisc fq_codel; use queue: pfifo in the intent, or a kernel that has it" \
            in result.stderr
        assert "htb" not in lab.sh("core1", "tc", "qdisc", "show", "dev", "eth1")  # nothing was changed


def test_apply_without_yes_and_without_a_terminal_refuses(lab: Lab) -> None:
    result = lab.intent("apply", check=1)
    assert "refusing to change devices without confirmation: pass --yes" in result.stderr
    assert "htb" not in lab.sh("core1", "tc", "qdisc", "show", "dev", "eth1")


def test_trunks_are_refused_without_8021q(lab: Lab) -> None:
    from drivers.linux.driver import kernel_has

    lab.write("site.yaml", SITE.replace("access: [acc1:eth3]}", "access: [acc1:eth3, acc2:eth4]}"))
    result = lab.intent("lab", "up", check=None)
    if kernel_has(("link", "vlan")):
        assert result.returncode == 0
    else:
        assert result.returncode == 1
        assert "this kernel has no 802.1Q VLAN support (8021q), and these links are trunks: core1:eth2 -- acc2:eth0 " \
            "(VLANs 10,20)" in result.stderr


def test_lab_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    from drivers.linux import lab as lab_driver
    from engine.labspec import LabSpec

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(lab_driver.LabError, match="needs root"):
        lab_driver.up(LabSpec(("x",), (), (), (), ()))
