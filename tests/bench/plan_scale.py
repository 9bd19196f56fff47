"""Benchmark: plan a generated site of 1,000 devices and 100 intents (a script, not a timed test).

    python tests/bench/plan_scale.py [--devices 1000] [--keep DIR]

The campus: 4 Linux core routers in a full mesh (the VLAN gateways, routing between each other),
20 Linux distribution switches (vendor platforms have queues for 4 guarantees; 40 meet here) each cabled to every core, and access switches (IOS,
EOS, Junos, Linux) under the distribution layer. 40 VLANs with ports on 10 access switches each,
50 guarantees between VLAN pairs (with DSCP/port narrowing and priority mixed in), 10 caps.
Prints the wall time of each stage and of the whole `intent plan` command.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ACCESS_PLATFORMS = [("ios", "GigabitEthernet1/0/{}"), ("eos", "Ethernet{}"), ("junos", "ge-0/0/{}"), ("linux", "eth{}")]
DIST_PLATFORMS = [("linux", "eth{}"), ("linux", "eth{}")]  # vendor queues (4 guarantees) cannot carry 40


def generate(root: Path, devices: int) -> Path:
    cores = [f"core{i}" for i in range(1, 5)]
    dists = [f"dist{i:02d}" for i in range(1, 21)]
    access_count = devices - len(cores) - len(dists)
    access = [f"acc{i:04d}" for i in range(1, access_count + 1)]
    platform: dict[str, tuple[str, str]] = {core: ("linux", "eth{}") for core in cores}
    platform.update({d: DIST_PLATFORMS[i % 2] for i, d in enumerate(dists)})
    platform.update({a: ACCESS_PLATFORMS[i % 4] for i, a in enumerate(access)})

    links = []
    next_port = {name: 1 for name in platform}

    def port(device: str) -> str:
        number = next_port[device]
        next_port[device] += 1
        return platform[device][1].format(number)

    for i, a in enumerate(cores):
        for b in cores[i + 1:]:
            links.append(f"  - {{a: '{a}:{port(a)}', b: '{b}:{port(b)}', bandwidth: 100Gbps}}")
    for dist in dists:
        for core in cores:
            links.append(f"  - {{a: '{core}:{port(core)}', b: '{dist}:{port(dist)}', bandwidth: 40Gbps}}")
    for i, acc in enumerate(access):
        dist = dists[i % len(dists)]
        links.append(f"  - {{a: '{dist}:{port(dist)}', b: '{acc}:{port(acc)}', bandwidth: 10Gbps}}")

    intents = []
    for v in range(40):
        vid = 100 + v
        ports = [f"'{access[(v * 10 + k * 37) % len(access)]}:{platform[access[(v * 10 + k * 37) % len(access)]][1].format(40 + v)}'"
                 for k in range(10)]
        intents.append(f"  - name: vlan{vid}\n    vlan: {{id: {vid}, subnet: 10.{v}.0.0/24, gateway: {cores[v % 4]}, "
                       f"access: [{', '.join(ports)}]}}")
    for g in range(50):
        a, b = 100 + g % 40, 100 + (g * 7 + 3) % 40
        if a == b:
            b = 100 + (b - 99) % 40
        extra = ""
        if g % 5 == 0:
            extra = ", priority: true, match: {dscp: ef}, queue: pfifo"
        elif g % 5 == 1:
            extra = ", match: {protocol: udp, ports: 5004-5010, dscp: af41}"
        intents.append(f"  - name: g{g:02d}\n    qos_guarantee: {{between: [{{vlan: {a}}}, {{vlan: {b}}}], rate: 20Mbps{extra}}}")
    for c in range(10):
        intents.append(f"  - name: cap{c}\n    qos_limit: {{vlan: {100 + c * 4}, rate: 50Mbps}}")

    root.mkdir(parents=True, exist_ok=True)
    inventory = ["all:", "  vars: {password_env: BENCH_PASSWORD}", "  hosts:"]
    inventory += [f"    {name}: {{platform: {platform[name][0]}, host: 192.0.2.1}}" for name in sorted(platform)]
    (root / "inventory.yaml").write_text("\n".join(inventory) + "\n")
    (root / "topology.yaml").write_text("links:\n" + "\n".join(links) + "\n")
    (root / "site.yaml").write_text("site: bench\ninventory: inventory.yaml\ntopology: topology.yaml\n"
                                    "defaults: {reservable: 90%}\nintents:\n" + "\n".join(intents) + "\n")
    (root / "running").mkdir(exist_ok=True)
    return root / "site.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="write the generated site here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="intent-bench-"))
    site_path = generate(root, args.devices)

    from engine.compiler import compile_site
    from engine.loader import load_site
    from engine.plan import RunningState, make_plan
    from engine.report import plan_text

    t0 = time.perf_counter()
    site = load_site(site_path)
    t1 = time.perf_counter()
    compilation = compile_site(site)
    t2 = time.perf_counter()
    plan = make_plan(site, compilation, RunningState(root / "running"))
    t3 = time.perf_counter()
    plan.to_json()
    plan_text(plan)
    t4 = time.perf_counter()
    print(f"site: {len(site.devices)} devices, {len(site.links)} links, {len(site.intents)} intents; "
          f"{len(compilation.reservations)} reserved interfaces; "
          f"{sum(len(c.text.splitlines()) for c in compilation.configs.values())} config lines")
    print(f"load+validate {t1 - t0:.2f}s  compile+render {t2 - t1:.2f}s  plan/diff {t3 - t2:.2f}s  "
          f"output {t4 - t3:.2f}s  total in-process {t4 - t0:.2f}s")

    intent = Path(sys.executable).with_name("intent")
    start = time.perf_counter()
    result = subprocess.run([str(intent), "plan", str(site_path), "--running", str(root / "running"),
                             "--format", "json", "--out", str(root / "plan.json")], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        print(result.stderr[-2000:])
        raise SystemExit(f"intent plan failed with exit {result.returncode}")
    print(f"`intent plan --format json` end to end: {elapsed:.2f}s (target: under 10 s)")


if __name__ == "__main__":
    main()
