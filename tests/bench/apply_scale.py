"""Benchmark: apply 2,000 guarantee classes with leaf qdiscs and u32 filters on one interface.

    sudo .venv/bin/python tests/bench/apply_scale.py [--classes 2000] [--rounds 3]

The same objects go to two fresh namespaces: once through the Linux driver (read state, diff,
batched netlink, read back and verify) and once through `tc -batch` (the plan's own tc lines).
Prints both, the driver split into apply and verify, and checks both namespaces end up identical.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pyroute2 import IPRoute  # noqa: E402
from pyroute2 import netns as netns_tools  # noqa: E402

from drivers.linux import LinuxDriver  # noqa: E402
from engine import linux  # noqa: E402
from engine.model import Device  # noqa: E402


def document(classes: int) -> dict:
    qdiscs = [{"dev": "eth0", "parent": "root", "handle": "1:", "kind": "htb", "default": "2"}]
    tc_classes = [
        {"dev": "eth0", "classid": "1:1", "parent": "1:", "kind": "htb", "rate": 10**9, "ceil": 10**9, "prio": None},
        {"dev": "eth0", "classid": "1:2", "parent": "1:1", "kind": "htb", "rate": 10**8, "ceil": 10**9, "prio": 7},
    ]
    filters = []
    for k in range(classes):
        minor = 0x100 + k
        tc_classes.append({"dev": "eth0", "classid": f"1:{minor:x}", "parent": "1:1", "kind": "htb",
                           "rate": 400_000, "ceil": 10**9, "prio": 1})
        qdiscs.append({"dev": "eth0", "parent": f"1:{minor:x}", "handle": f"{minor:x}:", "kind": "pfifo"})
        filters.append({"dev": "eth0", "parent": "1:", "protocol": "ip", "pref": 0xC000 + minor,
                        "match": [["src", f"10.{k // 256}.{k % 256}.0/24"], ["dst", "10.250.0.0/24"]],
                        "flowid": f"1:{minor:x}", "action": None})
    return {"device": "bench", "platform": "linux", "sysctl": {}, "links": [], "addresses": [], "routes": [],
            "qdiscs": qdiscs, "classes": tc_classes, "filters": filters}


def fresh(name: str) -> None:
    if Path(f"/run/netns/{name}").exists():
        netns_tools.remove(name)
    netns_tools.create(name)
    with IPRoute(netns=name, flags=0) as ipr:
        ipr.link("add", ifname="eth0", kind="veth", peer={"ifname": "eth1"})
        ipr.link("set", index=ipr.link_lookup(ifname="eth0")[0], state="up")


def tc_dump(name: str) -> str:
    """qdiscs, classes and filters as tc shows them, burst sizes left out: tc and the driver
    round HTB's burst to ticks differently (both are valid configurations)."""
    text = "".join(subprocess.run(["ip", "netns", "exec", name, "tc", what, "show", "dev", "eth0"],
                                  capture_output=True, text=True, check=True).stdout
                   for what in ("qdisc", "class", "filter"))
    return re.sub(r" c?burst \S+", "", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    desired = document(args.classes)
    batch = Path(tempfile.mkdtemp()) / "objects.tc"
    batch.write_text("\n".join(line[3:] for line in linux.lines(desired) if line.startswith("tc ")) + "\n")
    objects = len(desired["qdiscs"]) + len(desired["classes"]) + len(desired["filters"])
    ours, applied, tc = [], [], []
    for _ in range(args.rounds):
        fresh("bench-tc")
        start = time.perf_counter()
        subprocess.run(["ip", "netns", "exec", "bench-tc", "tc", "-batch", str(batch)], check=True,
                       stderr=subprocess.DEVNULL)
        tc.append(time.perf_counter() - start)

        fresh("bench-intent")
        work = Path(tempfile.mkdtemp())
        device = Device("bench", "linux", "linux", netns="bench-intent")
        start = time.perf_counter()
        with LinuxDriver(device, work) as driver:
            driver.stage_document(desired)
            verify = driver._verify
            verify_time = []

            def timed(*args: object, verify=verify, verify_time=verify_time) -> None:
                began = time.perf_counter()
                verify(*args)
                verify_time.append(time.perf_counter() - began)

            driver._verify = timed  # type: ignore[method-assign]
            driver.commit()
            sent = driver.changes
        total = time.perf_counter() - start
        ours.append(total)
        applied.append(total - verify_time[0])
        same = tc_dump("bench-tc") == tc_dump("bench-intent")
    for name in ("bench-tc", "bench-intent"):
        netns_tools.remove(name)
    median = statistics.median
    print(f"{objects} tc objects ({args.classes} classes + leaf qdiscs + u32 filters) on one interface, "
          f"median of {args.rounds}:")
    print(f"  tc -batch:                              {median(tc):.3f} s")
    print(f"  intent Linux driver, read+diff+apply:   {median(applied):.3f} s  ({median(applied) / median(tc):.2f}x tc -batch,"
          f" {sent} netlink requests)")
    print(f"  intent Linux driver, with verify:       {median(ours):.3f} s  ({median(ours) / median(tc):.2f}x)")
    print(f"  resulting tc state identical (burst sizes aside): {same}")


if __name__ == "__main__":
    main()
