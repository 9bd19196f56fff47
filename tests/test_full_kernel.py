"""The full-kernel tier: a Debian kernel under qemu (virtme-ng), where fq_codel and 802.1Q exist.

The guest shares this machine's filesystem; tests/kernel/guest_flow.py runs lab up -> apply ->
verify on examples/kernel (an 802.1Q trunk, fq_codel leaves, 20 Mbit/s links scaled for emulation)
and writes its report to a directory this test reads. `make test` sets the tier up where it can
(root and Debian packages, as in CI); `make test-kernel` runs only this.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def boot(site: str, out: Path, tolerance: int = 20) -> dict:
    """Boot the full kernel, run lab up -> apply -> verify on ``site`` in it, return the guest's report."""
    out.mkdir()
    guest_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    command = [str(VNG), "--run", str(VMLINUZ), "--disable-kvm", "--force-9p", "--memory", "1G",
               "--rwdir", str(out), "--cwd", str(ROOT), "--exec",
               f"env PATH={guest_path} GUEST_TOLERANCE={tolerance} {sys.executable} tests/kernel/guest_flow.py "
               f"{site} {out}"]
    env = {**os.environ, "PATH": f"{VNG.parent}:{os.environ['PATH']}"}
    done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1800)
    assert (out / "result.json").exists(), f"the guest wrote no report (exit {done.returncode}):\n" \
        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    report: dict = json.loads((out / "result.json").read_text())
    return report


def test_trunks_and_fq_codel_on_a_full_kernel_apply_and_verify(tmp_path: Path) -> None:
    report = boot("examples/kernel/site.yaml", tmp_path / "out")
    steps = report["steps"]
    for step in ("lab_up", "apply", "verify"):
        assert steps[step]["exit"] == 0, \
            f"{step} failed in the guest:\n{steps[step]['output']}\n{steps[step]['stderr']}\n{steps[step]['exception']}"
    assert report["kernel"] == VERSION
    assert "fq_codel" in report["core1_qdiscs"]  # the default leaf, which the host kernel lacks
    assert "eth1.10" in report["core1_vlans"] and "eth1.30" in report["core1_vlans"]  # the 802.1Q trunk
    assert "vlan protocol 802.1Q id 10" in report["acc1_vlans"]
    verify = json.loads(steps["verify"]["output"])  # stdout alone: the whole of it is the JSON document
    for device in ("core1", "acc1", "acc2"):  # the progress lines were there, on stderr
        assert f"read {device}: read" in steps["verify"]["stderr"], steps["verify"]["stderr"]
    assert verify["ok"] is True and any("software emulation" in note for note in verify["notes"])
    intents = {intent["name"]: intent for intent in verify["intents"]}
    video, cap = intents["video-10-20"], intents["cap-guest"]
    print(f"\nfull kernel {report['kernel']} under qemu (TCG), 20 Mbit/s links:\n  " +
          "\n  ".join(d["detail"] for d in video["directions"] + cap["directions"]))
    assert video["measured_bps"] >= 0.8 * 6_000_000 and cap["measured_bps"] <= 1.2 * 4_000_000  # the stated 20%
    assert all("(-20%)" in d["detail"] for d in video["directions"])  # the report states the tolerance it used
    assert report["left_over_namespaces"].strip() == ""
    print("  guest steps: " + ", ".join(f"{name} {step['seconds']:.0f}s" for name, step in steps.items()))
    assert shutil.which("qemu-system-x86_64")


def test_isolation_and_drr_shares_on_a_full_kernel(tmp_path: Path) -> None:
    """qos_share as DRR classes (this kernel has drr): weights 3:1 measured 3:1 +-15% under saturation;
    isolate probed both ways (policy-routing rules: nftables is not used yet)."""
    report = boot("examples/kernel/segments.yaml", tmp_path / "out", tolerance=15)
    steps = report["steps"]
    for step in ("lab_up", "apply", "verify"):
        assert steps[step]["exit"] == 0, f"{step} failed in the guest:\n{steps[step]['output']}\n{steps[step]['exception']}"
    assert "qdisc drr 2: parent 1:2" in report["core1_eth2_tc"] and "class drr 2:400a" in report["core1_eth2_tc"]
    assert report["core1_rules"].count("prohibit") == 2
    verify = json.loads(steps["verify"]["output"])
    intents = {intent["name"]: intent for intent in verify["intents"]}
    share, isolate = intents["fair"], intents["keep-guests-out"]
    print(f"\nfull kernel {report['kernel']} under qemu (TCG), 20 Mbit/s links:\n  {share['detail']}\n  "
          f"{isolate['detail']}")
    assert share["ok"] and "within 15% of the weights' 3:1" in share["detail"]
    assert isolate["ok"] and all(probe["ok"] for probe in isolate["probes"]) and len(isolate["probes"]) == 6
    assert verify["ok"] is True
    assert report["left_over_namespaces"].strip() == ""
