"""isolate and qos_share on the host kernel, in the lab: policy-routing rules cut exactly the isolated
pair both ways and nothing else, exceptions pass, removal restores reachability, a second apply changes
nothing, and intent verify proves both (HTB share classes here: this kernel has no drr)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.labs import Lab, running_lab
from tests.test_isolate_share import BOTH as SITE  # the site both kinds are planned on, applied here
from tests.test_isolate_share import VLANS

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and traffic"),
              pytest.mark.measures]

USERS, VIDEO, GUEST = ("h-acc1-eth3", "10.10.0.2"), ("h-acc2-eth3", "10.20.0.2"), ("h-core1-eth3", "10.30.0.2")

# The test's own probes (not the ones intent verify uses): ping, and a TCP connect to a listener.
LISTEN = "import socket,sys;s=socket.socket();s.setsockopt(1,2,1);s.bind(('0.0.0.0',int(sys.argv[1])));s.listen();" \
         "print('up',flush=True);s.settimeout(8);c,_=s.accept();c.close()"
CONNECT = "import socket,sys;socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2).close()"


def pings(source: tuple[str, str], target: tuple[str, str]) -> bool:
    return subprocess.run(["ip", "netns", "exec", source[0], "ping", "-c", "1", "-W", "1", target[1]],
                          capture_output=True).returncode == 0


def connects(source: tuple[str, str], target: tuple[str, str], port: int) -> bool:
    server = subprocess.Popen(["ip", "netns", "exec", target[0], sys.executable, "-c", LISTEN, str(port)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "up"
        return subprocess.run(["ip", "netns", "exec", source[0], sys.executable, "-c", CONNECT, target[1], str(port)],
                              capture_output=True).returncode == 0
    finally:
        server.kill()
        server.wait()


@pytest.fixture
def applied(tmp_path: Path) -> Iterator[Lab]:
    with running_lab(tmp_path, SITE, apply=True) as lab:
        yield lab


def test_isolate_cuts_exactly_the_pair_both_ways_until_removed(applied: Lab) -> None:
    assert not pings(USERS, GUEST) and not pings(GUEST, USERS)
    assert not connects(USERS, GUEST, 9000) and not connects(GUEST, USERS, 9000)
    assert connects(USERS, GUEST, 8005) and connects(GUEST, USERS, 8000)  # the allowed exception, both ways
    # Nothing else is cut: both isolated VLANs still reach the third one, and it reaches them.
    for one, other in ((USERS, VIDEO), (VIDEO, USERS), (GUEST, VIDEO), (VIDEO, GUEST)):
        assert pings(one, other), f"{one[0]} -> {other[0]}"
    assert connects(VIDEO, GUEST, 9000) and connects(USERS, VIDEO, 9000)
    rules = applied.sh("core1", "ip", "rule", "show")
    assert rules.count("prohibit") == 2 and "from 10.30.0.0/24 to 10.10.0.0/24 ipproto udp dport 53 lookup main" in rules

    again = applied.intent("plan", "--detailed-exitcode")  # re-apply is a no-op
    assert "no changes" in again.stdout
    assert "isolate: 2 policy-routing prohibit rules, 8 exception rules" in again.stdout
    assert "qos_share on eth2: HTB classes" in again.stdout and "the kernel has no drr" in again.stdout

    applied.write("site.yaml", VLANS)
    applied.intent("apply", "--yes")
    assert pings(USERS, GUEST) and pings(GUEST, USERS) and connects(USERS, GUEST, 9000)
    rules = applied.sh("core1", "ip", "rule", "show")
    assert "prohibit" not in rules and "lookup main" in rules and rules.count("\n") == 3  # the kernel's three rules
    assert "2:" not in applied.sh("core1", "tc", "qdisc", "show", "dev", "eth2")  # the share tree went with it
    assert applied.intent("plan", "--detailed-exitcode").returncode == 0


def test_verify_probes_the_isolation_and_measures_the_shares(applied: Lab) -> None:
    result = applied.intent("verify", "--format", "json", "--seconds", "4", check=None)
    report = json.loads(result.stdout)
    intents = {intent["name"]: intent for intent in report["intents"]}
    isolate, share = intents["keep-guests-out"], intents["fair"]
    probes = {(p["direction"], p["probe"]): (p["expect"], p["ok"]) for p in isolate["probes"]}
    assert probes == {
        ("VLAN 30 -> VLAN 10", "icmp"): ("cut", True), ("VLAN 30 -> VLAN 10", "tcp 5999"): ("cut", True),
        ("VLAN 30 -> VLAN 10", "tcp 8000"): ("pass", True), ("VLAN 30 -> VLAN 10", "udp 53"): ("pass", True),
        ("VLAN 10 -> VLAN 30", "icmp"): ("cut", True), ("VLAN 10 -> VLAN 30", "tcp 5999"): ("cut", True),
        ("VLAN 10 -> VLAN 30", "tcp 8000"): ("pass", True), ("VLAN 10 -> VLAN 30", "udp 53"): ("pass", True),
    }
    assert isolate["ok"] is True
    print(f"\nqos_share on the host kernel (HTB): {share['detail']}")
    (direction,) = share["directions"]
    assert direction["direction"] == "VLAN 10 : VLAN 30 to VLAN 20 on core1 eth2"
    assert share["ok"] is True, share["detail"]
    assert share["measured_bps"] > 60_000_000  # 3/4 of the 100 Mbit/s link, less goodput overheads
    assert report["ok"] is True, result.stdout
    counters = {(c["device"], c["interface"], c["class"]): c for c in report["counters"]}
    assert counters[("core1", "eth2", "1:400a")]["intent"] == "fair VLAN 10"
    assert counters[("core1", "eth2", "1:400a")]["bytes"] > 3 * counters[("core1", "eth2", "1:401e")]["bytes"] * 0.8

    # Break the isolation by hand: verify sees the traffic get through and the drift.
    pref = applied.sh("core1", "ip", "rule", "show").split("prohibit")[0].splitlines()[-1].split(":")[0]
    for source, target in (("10.10.0.0/24", "10.30.0.0/24"), ("10.30.0.0/24", "10.10.0.0/24")):
        applied.sh("core1", "ip", "rule", "del", "pref", pref, "from", source, "to", target, "prohibit")
    report = json.loads(applied.intent("verify", "--format", "json", "--seconds", "2", check=1).stdout)
    isolate = next(i for i in report["intents"] if i["name"] == "keep-guests-out")
    assert isolate["ok"] is False and "VLAN 10 -> VLAN 30: tcp 5999 gets through (MUST BE CUT)" in isolate["detail"]
    assert "+ip rule add pref" in report["drift"]["core1"]
