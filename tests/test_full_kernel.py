"""The full-kernel tier: a Debian kernel under qemu (virtme-ng), where fq_codel, 802.1Q, drr and
nftables exist.

The guest shares this machine's filesystem; tests/kernel/guest_flow.py runs every scenario of the
tier in ONE boot (a boot costs minutes under software emulation): lab up -> apply -> verify on
examples/kernel/site.yaml (an 802.1Q trunk, fq_codel leaves, 20 Mbit/s links scaled for emulation),
then examples/kernel/segments.yaml on the same lab (isolate as an nftables table, qos_share as DRR
classes): apply, verify, re-apply, removal, rollback. It writes its report to a directory the tests
here read. `make test` sets the tier up where it can (root and Debian packages, as in CI);
`make test-kernel` runs only this.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT

KERNEL = ROOT / ".kernel"
VERSION = (KERNEL / "kver").read_text().strip() if (KERNEL / "kver").exists() else ""
VMLINUZ = KERNEL / "kroot" / "boot" / f"vmlinuz-{VERSION}"
VNG = KERNEL / "vng-venv" / "bin" / "vng"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not VMLINUZ.exists() or not VNG.exists(),
    reason="full-kernel tier not set up here: run `make kernel-setup` as root (make test does, where it can)",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Boot the full kernel once and run tests/kernel/guest_flow.py in it; the guest's report."""
    out = tmp_path_factory.mktemp("guest")
    guest_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    command = [str(VNG), "--run", str(VMLINUZ), "--disable-kvm", "--force-9p", "--memory", "2G",
               "--rwdir", str(out), "--cwd", str(ROOT), "--exec",
               f"env PATH={guest_path} {sys.executable} tests/kernel/guest_flow.py {out}"]
    env = {**os.environ, "PATH": f"{VNG.parent}:{os.environ['PATH']}"}
    done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600)
    progress = (out / "progress.json").read_text()[-3000:] if (out / "progress.json").exists() else "nothing"
    assert (out / "result.json").exists(), f"the guest wrote no report (exit {done.returncode}):\n" \
        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\nhow far it got: {progress}"
    loaded: dict[str, Any] = json.loads((out / "result.json").read_text())
    steps = loaded["steps"]
    print(f"\nfull kernel {loaded['kernel']} under qemu (TCG), guest steps: "
          + ", ".join(f"{name} {step['seconds']:.0f}s" for name, step in steps.items()))
    return loaded


def _ok(report: dict[str, Any], *names: str) -> None:
    for name in names:
        step = report["steps"][name]
        assert step["exit"] == 0, f"{name} failed in the guest:\n{step['output']}\n{step['stderr']}\n{step['exception']}"


def test_trunks_and_fq_codel_on_a_full_kernel_apply_and_verify(report: dict[str, Any]) -> None:
    _ok(report, "lab_up", "apply", "verify")
    steps = report["steps"]
    assert report["kernel"] == VERSION
    assert "fq_codel" in report["core1_qdiscs"]  # the default leaf, which the host kernel lacks
    assert "eth1.10" in report["core1_vlans"] and "eth1.30" in report["core1_vlans"]  # the 802.1Q trunk
    assert "vlan protocol 802.1Q id 10" in report["acc1_vlans"]
    verify = json.loads(steps["verify"]["output"])  # stdout alone: the whole of it is the JSON document
    for device in ("core1", "acc1", "acc2"):  # the progress lines were there, on stderr
        assert f"read {device}: read" in steps["verify"]["stderr"], steps["verify"]["stderr"]
    intents = {intent["name"]: intent for intent in verify["intents"]}
    video, cap = intents["video-10-20"], intents["cap-guest"]
    print("\n  " + "\n  ".join(d["detail"] for d in video["directions"] + cap["directions"]))
    failed = [f"{i['name']}: {i['detail']}" for i in verify["intents"] if not i["ok"]]
    # the leaves' own counters (fq_codel drops) are not in the HTB class counters verify reports
    assert verify["ok"] is True, "\n".join(failed) + f"\nqdiscs of the uplinks after verify:\n{report.get('shaped_qdiscs')}"
    assert any("software emulation" in note for note in verify["notes"])
    assert video["measured_bps"] >= 0.8 * 6_000_000 and cap["measured_bps"] <= 1.2 * 4_000_000  # the stated 20%
    assert all("(-20%)" in d["detail"] for d in video["directions"])  # the report states the tolerance it used
    assert report["left_over_namespaces"].strip() == ""
    assert shutil.which("qemu-system-x86_64")


def test_isolation_and_drr_shares_on_a_full_kernel(report: dict[str, Any]) -> None:
    """The kernel has nftables and drr, so the plan says so and renders them: isolate as table inet
    intent_isolate (no prohibit rules), qos_share as DRR classes. Measured: the isolated pair cut both
    ways (ICMP and TCP), the exception passing; weights 3:1 giving 3:1 +-15% under saturation; re-apply a
    no-op (a new plan finds nothing to change); removing the isolate intent removes the table and restores reachability; rollback brings both back."""
    _ok(report, "plan_segments", "apply_segments", "verify_segments", "replan_segments", "apply_open", "rollback")
    steps = report["steps"]
    plan = json.loads(steps["plan_segments"]["output"])
    core1 = plan["devices"]["core1"]
    assert any(note.startswith("isolate: nftables table inet intent_isolate (the kernel has nftables)")
               for note in core1["notes"]), core1["notes"]
    assert any("DRR classes" in note for note in core1["notes"]), core1["notes"]
    assert "qdisc drr 2: parent 1:2" in report["core1_eth2_tc"] and "class drr 2:400a" in report["core1_eth2_tc"]
    assert "prohibit" not in report["core1_rules"]  # nftables carries the isolation, not policy routing
    nft = report["core1_nft"]
    assert "table inet intent_isolate" in nft and "hook forward" in nft
    assert "ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 tcp dport 8000-8010 accept" in nft
    assert nft.count("reject with icmp admin-prohibited") == 2  # one per direction

    verify = json.loads(steps["verify_segments"]["output"])
    intents = {intent["name"]: intent for intent in verify["intents"]}
    share, isolate = intents["fair"], intents["keep-guests-out"]
    print(f"\n  {share['detail']}\n  {isolate['detail']}")
    assert share["ok"] and "within 15% of the weights' 3:1" in share["detail"], share["detail"]
    probes = isolate["probes"]
    assert isolate["ok"] and len(probes) == 6 and all(probe["ok"] for probe in probes), probes
    assert sorted(probe["expect"] for probe in probes) == ["cut"] * 4 + ["pass"] * 2
    assert verify["ok"] is True

    assert report["reached_before_isolate"] is True
    # replan_segments exited 0 under --detailed-exitcode (checked above): applied, nothing is left to change
    assert "intent_isolate" not in report["core1_nft_open"] and report["reached_open"] is True  # removal restores
    assert "intent_isolate" in report["core1_nft_rollback"] and report["reached_rollback"] is False  # rollback cuts again
    assert report["left_over_namespaces"].strip() == ""
