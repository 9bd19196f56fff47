"""isolate and qos_share on the host kernel, in the lab, with both of isolate's Linux forms: the nftables
table (this kernel has nf_tables once the nft tool is installed, as `make test` does) and the policy-routing
prohibit rules a kernel without nftables gets (an `nft` on PATH that fails as it does on such a kernel).
Each cuts exactly the isolated pair both ways and nothing else, exceptions pass, removal restores
reachability, a second apply changes nothing, and intent verify proves both (HTB share classes here: this
kernel has no drr)."""

from __future__ import annotations

import json
import os
import shutil
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


# What nft says on a kernel without nf_tables: the probe must then choose the prohibit rules.
NO_NF_TABLES = "#!/bin/sh\necho 'Error: Could not process rule: Operation not supported' >&2\nexit 1\n"


def has_nftables() -> bool:
    """Whether this kernel takes an inet table with a forward chain (tried in a scratch namespace)."""
    if os.geteuid() != 0 or shutil.which("nft") is None:
        return False
    scratch = f"nftprobe-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", scratch], check=True)
    try:
        return subprocess.run(["ip", "netns", "exec", scratch, "nft", "add table inet t; add chain inet t c "
                               "{ type filter hook forward priority 0; }"], capture_output=True).returncode == 0
    finally:
        subprocess.run(["ip", "netns", "del", scratch], check=True)


@pytest.fixture(params=["nftables", "prohibit"])
def isolated(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Lab, str]]:
    if request.param == "nftables" and not has_nftables():
        pytest.skip("this machine has no nft tool or its kernel no nf_tables (make test installs nftables)")
    if request.param == "prohibit":
        from drivers.linux import transport

        bin_dir = tmp_path / "no-nf-tables"
        bin_dir.mkdir()
        (bin_dir / "nft").write_text(NO_NF_TABLES)
        (bin_dir / "nft").chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")  # the intent processes inherit it
        # this process probes its kernel once (lab.dump reads through the driver): what it finds under the
        # failing nft must not stay behind for the worker's later tests, which would see no nf_tables
        monkeypatch.setattr(transport, "_features", {})
    with running_lab(tmp_path, SITE, apply=True) as lab:
        yield lab, request.param


def assert_cut_by_its_form(lab: Lab, form: str) -> None:
    rules = lab.sh("core1", "ip", "rule", "show")
    table = lab.sh("core1", "sh", "-c", "nft list table inet intent_isolate 2>/dev/null || true")
    if form == "prohibit":
        assert rules.count("prohibit") == 2 and "from 10.30.0.0/24 to 10.10.0.0/24 ipproto udp dport 53 lookup main" in rules
        assert table == ""
    else:
        assert "prohibit" not in rules and rules.count("\n") == 3  # the kernel's three rules only
        assert table.count("reject with icmp admin-prohibited") == 2, table
        assert "ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 udp dport 53 accept" in table, table


def test_isolate_cuts_exactly_the_pair_both_ways_until_removed(isolated: tuple[Lab, str]) -> None:
    applied, form = isolated
    assert not pings(USERS, GUEST) and not pings(GUEST, USERS)
    assert not connects(USERS, GUEST, 9000) and not connects(GUEST, USERS, 9000)
    assert connects(USERS, GUEST, 8005) and connects(GUEST, USERS, 8000)  # the allowed exception, both ways
    # Nothing else is cut: both isolated VLANs still reach the third one, and it reaches them.
    for one, other in ((USERS, VIDEO), (VIDEO, USERS), (GUEST, VIDEO), (VIDEO, GUEST)):
        assert pings(one, other), f"{one[0]} -> {other[0]}"
    assert connects(VIDEO, GUEST, 9000) and connects(USERS, VIDEO, 9000)
    assert_cut_by_its_form(applied, form)

    again = applied.intent("plan", "--detailed-exitcode")  # re-apply is a no-op
    assert "no changes" in again.stdout
    if form == "prohibit":
        assert "isolate: 2 policy-routing prohibit rules, 8 exception rules" in again.stdout
        assert "the kernel has no nftables" in again.stdout
    else:
        assert "isolate: nftables table inet intent_isolate (the kernel has nftables)" in again.stdout
        assert "2 reject rules" in again.stdout
    assert "qos_share on eth2: HTB classes" in again.stdout and "the kernel has no drr" in again.stdout

    applied.write("site.yaml", VLANS)
    applied.intent("apply", "--yes")
    assert pings(USERS, GUEST) and pings(GUEST, USERS) and connects(USERS, GUEST, 9000)
    rules = applied.sh("core1", "ip", "rule", "show")
    assert "prohibit" not in rules and "lookup main" in rules and rules.count("\n") == 3  # the kernel's three rules
    assert applied.sh("core1", "sh", "-c", "nft list table inet intent_isolate 2>/dev/null || true") == ""
    assert "2:" not in applied.sh("core1", "tc", "qdisc", "show", "dev", "eth2")  # the share tree went with it
    assert applied.intent("plan", "--detailed-exitcode").returncode == 0


def test_verify_probes_the_isolation_and_measures_the_shares(isolated: tuple[Lab, str]) -> None:
    applied, form = isolated
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
    if form == "prohibit":
        pref = applied.sh("core1", "ip", "rule", "show").split("prohibit")[0].splitlines()[-1].split(":")[0]
        for source, target in (("10.10.0.0/24", "10.30.0.0/24"), ("10.30.0.0/24", "10.10.0.0/24")):
            applied.sh("core1", "ip", "rule", "del", "pref", pref, "from", source, "to", target, "prohibit")
    else:
        applied.sh("core1", "nft", "delete", "table", "inet", "intent_isolate")
    report = json.loads(applied.intent("verify", "--format", "json", "--seconds", "2", check=1).stdout)
    isolate = next(i for i in report["intents"] if i["name"] == "keep-guests-out")
    assert isolate["ok"] is False and "VLAN 10 -> VLAN 30: tcp 5999 gets through (MUST BE CUT)" in isolate["detail"]
    assert ("+ip rule add pref" if form == "prohibit" else "+nft add table inet intent_isolate") \
        in report["drift"]["core1"], report["drift"]["core1"]


APART = """\
site: lab
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: acc1, access: [acc1:eth3]}
  - name: video
    vlan: {id: 20, subnet: 10.20.0.0/24, gateway: acc2, access: [acc2:eth3]}
  - name: guest
    vlan: {id: 30, subnet: 10.30.0.0/24, gateway: core1, access: [core1:eth3]}
"""


def test_isolate_between_vlans_routed_at_different_gateways_holds_on_the_router_between(tmp_path: Path) -> None:
    """VLAN 10 routed at acc1, VLAN 20 at acc2, core1 between them (and the gateway of VLAN 30): the pair is cut
    both ways and its exceptions (a port list) pass, each gateway and the router between hold the isolation,
    the third VLAN still reaches both; removing the isolate restores the pair, and each plan after is empty."""
    site = APART + "  - name: apart\n    isolate: {between: [{vlan: 10}, {vlan: 20}], allow: [{protocol: tcp, ports: [8000, 8005]}]}\n"
    users, video = ("h-acc1-eth3", "10.10.0.2"), ("h-acc2-eth3", "10.20.0.2")
    with running_lab(tmp_path, site, apply=True) as lab:
        assert not pings(users, video) and not pings(video, users)
        assert not connects(users, video, 9000) and connects(users, video, 8000) and connects(video, users, 8005)
        assert pings(users, GUEST) and pings(GUEST, video) and pings(video, GUEST)
        for device in ("acc1", "core1", "acc2"):
            listed = lab.sh(device, "sh", "-c", "nft list table inet intent_isolate 2>/dev/null; ip rule show")
            assert listed.count("reject with icmp admin-prohibited") == 2 or listed.count("prohibit") == 2, device
        assert lab.intent("plan", "--detailed-exitcode").returncode == 0
        lab.write("site.yaml", APART)
        lab.intent("apply", "--yes")
        assert pings(users, video) and pings(video, users) and connects(users, video, 9000)
        assert lab.intent("plan", "--detailed-exitcode").returncode == 0
