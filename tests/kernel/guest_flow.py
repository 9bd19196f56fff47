"""Runs inside the full-kernel guest (make test-kernel): every full-kernel scenario in one boot.

    python tests/kernel/guest_flow.py OUT_DIR

1. examples/kernel/site.yaml (802.1Q trunk, fq_codel leaves): lab up -> apply -> verify.
2. examples/kernel/segments.yaml on the same lab (isolate as nftables, qos_share as DRR): apply ->
   verify (shares held to 15%) -> plan again (must change nothing) -> remove the isolate intent
   (the table goes, the guests reach the users) -> rollback (the table and the cut come back).

Python start-up under software emulation is slow, so the CLI is driven in-process (click's
runner) rather than as separate processes. Writes OUT_DIR/result.json for the host-side test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from engine.cli import main  # noqa: E402

TRUNKS = "examples/kernel/site.yaml"
SEGMENTS = "examples/kernel/segments.yaml"
GUEST_HOST, USERS_ADDRESS = "h-acc1-eth4", "10.10.0.2"  # VLAN 30's lab host; VLAN 10's host (engine.labspec)
SHAPED = (("k-core1", "eth1"), ("k-core1", "eth2"), ("k-acc1", "eth0"), ("k-acc2", "eth0"))  # the uplinks' egresses


def sh(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True).stdout


def reaches(netns: str, address: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "2", address],
                          capture_output=True).returncode == 0


def without_isolate(out: Path) -> str:
    """segments.yaml less its isolate intent, beside copies of its inventory and topology."""
    for name in ("inventory.yaml", "segments-topology.yaml"):
        shutil.copy(ROOT / "examples/kernel" / name, out / name)
    text = (ROOT / SEGMENTS).read_text()
    start = text.index("  - name: keep-guests-out")
    end = text.index("  - name: fair")
    (out / "open.yaml").write_text(text[:start] + text[end:])
    return str(out / "open.yaml")


def run() -> dict:
    out = Path(sys.argv[1])
    os.environ.setdefault("INTENT_STATE_DIR", "/tmp/intent-state")
    runner = CliRunner()
    steps: dict[str, dict] = {}
    checks: dict[str, str | bool] = {}

    def save() -> None:  # after every step: a guest that dies midway still says how far it got
        report = {"kernel": os.uname().release, "steps": steps, **checks}
        (out / "progress.json").write_text(json.dumps(report, indent=2))

    def step(name: str, *args: str) -> None:
        save()
        started = time.monotonic()
        result = runner.invoke(main, list(args), catch_exceptions=True)
        # stdout and stderr apart, as a pipeline sees them: progress lines go to stderr, the JSON to stdout
        output = result.stdout if name.startswith(("verify", "plan")) else result.stdout[-6000:]  # JSON: whole
        steps[name] = {"exit": result.exit_code, "output": output, "stderr": result.stderr[-6000:],
                       "seconds": time.monotonic() - started,
                       "exception": repr(result.exception) if result.exception and result.exit_code not in (0, 1, 2)
                       else None}
        save()

    # Under emulation the tolerance is 20%, stated in the report: 802.1Q and Ethernet headers (which
    # HTB counts, iperf3 does not) and emulated timers cost 5-14%. qos_share's ratio is held to 15%.
    step("lab_up", "lab", "up", TRUNKS)
    # Emulation is slow, slower still on a busy machine: each device gets 15 minutes a phase, not 2.
    slow = ("--device-timeout", "900", "--safety-timeout", "1800")
    step("apply", "apply", TRUNKS, "--yes", *slow)
    step("verify", "verify", TRUNKS, "--format", "json", "--seconds", "5", "--tolerance", "20")
    # what each shaped egress's qdiscs counted (a leaf's own drops, e.g. fq_codel's, are not in the HTB
    # class counters verify reports): read when a guarantee falls short
    checks["shaped_qdiscs"] = "".join(f"--- {ns} {dev}\n" + sh("ip", "netns", "exec", ns, "tc", "-s", "qdisc", "show", "dev", dev)
                                      for ns, dev in SHAPED)
    checks["core1_qdiscs"] = sh("ip", "netns", "exec", "k-core1", "tc", "qdisc", "show", "dev", "eth1")
    checks["core1_vlans"] = sh("ip", "netns", "exec", "k-core1", "ip", "-d", "-o", "link", "show", "type", "vlan")
    checks["acc1_vlans"] = sh("ip", "netns", "exec", "k-acc1", "ip", "-d", "-o", "link", "show", "type", "vlan")

    checks["reached_before_isolate"] = reaches(GUEST_HOST, USERS_ADDRESS)
    step("plan_segments", "plan", SEGMENTS, "--format", "json")
    step("apply_segments", "apply", SEGMENTS, "--yes", *slow)
    # 20 s: TCP takes seconds to fill the weight-1 class's queue under emulation, and a 5 s average
    # still holds the ramp (measured here: 2.30:1 over 5 s for weights 3:1).
    step("verify_segments", "verify", SEGMENTS, "--format", "json", "--seconds", "20", "--tolerance", "15")
    checks["core1_eth2_tc"] = sh("ip", "netns", "exec", "k-core1", "tc", "qdisc", "show", "dev", "eth2") \
        + sh("ip", "netns", "exec", "k-core1", "tc", "class", "show", "dev", "eth2")
    checks["core1_rules"] = sh("ip", "netns", "exec", "k-core1", "ip", "rule", "show")
    checks["core1_nft"] = sh("ip", "netns", "exec", "k-core1", "nft", "list", "ruleset")
    step("replan_segments", "plan", SEGMENTS, "--detailed-exitcode")  # read back from the devices: 0 = no change

    opened = without_isolate(out)
    step("apply_open", "apply", opened, "--yes", *slow)
    checks["core1_nft_open"] = sh("ip", "netns", "exec", "k-core1", "nft", "list", "ruleset")
    checks["reached_open"] = reaches(GUEST_HOST, USERS_ADDRESS)
    step("rollback", "rollback", opened, "--device-timeout", "900")  # back to the snapshot before that apply: isolated again
    checks["core1_nft_rollback"] = sh("ip", "netns", "exec", "k-core1", "nft", "list", "ruleset")
    checks["reached_rollback"] = reaches(GUEST_HOST, USERS_ADDRESS)

    step("lab_down", "lab", "down", TRUNKS)
    report = {"kernel": os.uname().release, "steps": steps, **checks,
              "left_over_namespaces": sh("ip", "netns", "list")}
    (out / "result.json").write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    run()
