"""Benchmark: plan generated sites end to end, against the floor any tool must pay (a script, not a test).

    python tests/bench/plan_scale.py [--shape campus|fabric] [--devices N ...] [--keep DIR]

Shapes:
- campus: 4 Linux core routers in a full mesh (the VLAN gateways), 20 Linux distribution switches
  cabled to every core, access switches (IOS, EOS, Junos, Linux) under them; 40 VLANs with ports on
  10 access switches each, 50 guarantees between VLAN pairs, 10 caps.
- fabric: an L3 leaf-spine where every leaf is the gateway of its own VLAN (tests/bench/fabric.py):
  4 spines, leaves cabled to each, 100 guarantees. Past 3,996 leaves (VLAN IDs are 12 bits) the rest
  are L2 server switches under the leaves.

For each site, in child processes (so each has its own peak RSS): the stages in-process (load and
validate, compile and render, plan/diff, JSON and text output; wall and CPU seconds, the table shows
CPU, which another process's load inflates less), then the whole `intent plan --format json --out
FILE` command as a user runs it (the installed console script; wall and CPU seconds, peak RSS; best
of ``--repeat`` runs by wall time), then the floor on the same output: the C YAML loader over the
same three files, one Jinja2 render per device writing its configuration, and difflib over the same
lines (best of ``--repeat``). "x floor" divides wall by wall, "x floor CPU" CPU by CPU. The floor has
no process start; "start s" is what starting Python and importing yaml, jinja2 and difflib costs
(wall, best of ``--repeat``), and "x floor+start" divides the command's wall by floor + start.

The project's modules are byte-compiled first, as a wheel install leaves them (PYTHONDONTWRITEBYTECODE,
set on some machines, would otherwise have every run compile them again: 0.15 CPU s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ACCESS_PLATFORMS = [("ios", "GigabitEthernet1/0/{}"), ("eos", "Ethernet{}"), ("junos", "ge-0/0/{}"), ("linux", "eth{}")]
DIST_PLATFORMS = [("linux", "eth{}"), ("linux", "eth{}")]  # vendor queues (4 guarantees) cannot carry 40
STAGES = ("load", "compile", "plan", "output")
DEFAULT_RUNS = [("campus", 1000), ("fabric", 250), ("fabric", 1000), ("fabric", 10000)]


def generate_campus(root: Path, devices: int) -> Path:
    cores = [f"core{i}" for i in range(1, 5)]
    dists = [f"dist{i:02d}" for i in range(1, 21)]
    access_count = devices - len(cores) - len(dists)
    access = [f"acc{i:04d}" for i in range(1, access_count + 1)]
    platform: dict[str, tuple[str, str]] = {core: ("linux", "eth{}") for core in cores}
    platform.update({d: DIST_PLATFORMS[i % 2] for i, d in enumerate(dists)})
    platform.update({a: ACCESS_PLATFORMS[i % 4] for i, a in enumerate(access)})

    links = []
    next_port = dict.fromkeys(platform, 1)

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


def generate(shape: str, root: Path, devices: int) -> Path:
    if shape == "campus":
        return generate_campus(root, devices)
    from tests.bench.fabric import generate as generate_fabric

    return generate_fabric(root, devices)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children waited for (engine.parallel's forked workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def stages(site_path: Path) -> dict[str, float]:
    """Child: each stage timed in-process (CPU: with the workers it forked)."""
    from engine.compiler import compile_site
    from engine.loader import load_site
    from engine.plan import RunningState, make_plan
    from engine.report import plan_text

    marks = [(time.perf_counter(), cpu_seconds())]
    site = load_site(site_path)
    marks.append((time.perf_counter(), cpu_seconds()))
    compilation = compile_site(site)
    marks.append((time.perf_counter(), cpu_seconds()))
    plan = make_plan(site, compilation, RunningState(site_path.parent / "running"))
    marks.append((time.perf_counter(), cpu_seconds()))
    plan.to_json()
    plan_text(plan)
    marks.append((time.perf_counter(), cpu_seconds()))
    wall = {name: marks[i + 1][0] - marks[i][0] for i, name in enumerate(STAGES)}
    cpu = {f"{name}_cpu": marks[i + 1][1] - marks[i][1] for i, name in enumerate(STAGES)}
    return {**wall, **cpu,
            "devices": len(site.devices), "links": len(site.links), "intents": len(site.intents),
            "lines": sum(c.text.count("\n") for c in compilation.configs.values()),
            "routes": sum(len(m.routes) for m in compilation.models.values()), "rss_mb": peak_rss_mb()}


def floor(site_path: Path, plan_file: Path, repeat: int) -> dict[str, float]:
    """Child: what any tool must at least do for the same output (the best of ``repeat`` passes by wall)."""
    import difflib

    import jinja2
    import yaml

    desired = json.loads(plan_file.read_text())["desired"]
    texts = {name: entry["text"] for name, entry in desired.items()}
    best: dict[str, float] = {}
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        for name in ("site.yaml", "inventory.yaml", "topology.yaml"):
            yaml.load((site_path.parent / name).read_text(), Loader=yaml.CSafeLoader)
        t1 = time.perf_counter()
        template = jinja2.Environment(autoescape=False, keep_trailing_newline=True).from_string(
            "{% for line in lines %}{{ line }}\n{% endfor %}")
        rendered = {name: template.render(lines=text.splitlines()) for name, text in texts.items()}
        t2 = time.perf_counter()
        for name, text in rendered.items():
            "\n".join(difflib.unified_diff([], text.splitlines(), f"{name} (running)", f"{name} (intent)", lineterm=""))
        t3, c3 = time.perf_counter(), time.process_time()
        if not best or t3 - t0 < best["floor"]:
            best = {"yaml": t1 - t0, "render": t2 - t1, "diff": t3 - t2, "floor": t3 - t0, "floor_cpu": c3 - c0}
    return best


def child(command: list[str]) -> tuple[str, float, float, float]:
    """Run ``command``; its stdout, wall seconds, CPU seconds and peak RSS in MB (of that process alone)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{err.read().decode()[-2000:]}")
        return out.read().decode(), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(shape: str, devices: int, root: Path, repeat: int) -> dict[str, float | str]:
    site_path = generate(shape, root / f"{shape}-{devices}", devices)
    me = [sys.executable, str(Path(__file__).resolve())]
    text, _, _, _ = child([*me, "--child-stages", str(site_path)])
    result: dict[str, float | str] = {"shape": shape, **json.loads(text)}
    plan_file = site_path.parent / "plan.json"
    intent = str(Path(sys.executable).with_name("intent"))
    runs = [child([intent, "plan", str(site_path), "--running", str(site_path.parent / "running"),
                   "--format", "json", "--out", str(plan_file)])[1:] for _ in range(repeat)]
    wall, cpu, rss = min(runs)
    result.update({"e2e": wall, "e2e_cpu": cpu, "e2e_rss_mb": rss})
    text, _, _, _ = child([*me, "--child-floor", str(site_path), str(plan_file), str(repeat)])
    result.update(json.loads(text))
    result["start"] = min(child([sys.executable, "-c", "import difflib, jinja2, yaml"])[1] for _ in range(repeat))
    return result


def byte_compile() -> None:
    """The project's modules byte-compiled, as installing a wheel leaves them (quietly; stale files are
    rewritten, and Python ignores a .pyc whose source changed since)."""
    import compileall

    for package in ("engine", "intents", "drivers", "intent_engine", "templates"):
        compileall.compile_dir(str(ROOT / package), quiet=2)


def table(results: list[dict[str, float | str]]) -> str:
    header = ["shape", "devices", "load CPU s", "compile CPU s", "plan CPU s", "output CPU s", "intent plan s",
              "CPU s", "peak RSS MB", "config lines", "floor s", "floor CPU s", "x floor", "x floor CPU", "start s",
              "x floor+start"]
    rows = [[str(r["shape"]), f"{int(r['devices']):,}", f"{r['load_cpu']:.2f}", f"{r['compile_cpu']:.2f}",
             f"{r['plan_cpu']:.2f}", f"{r['output_cpu']:.2f}", f"{r['e2e']:.2f}", f"{r['e2e_cpu']:.2f}",
             f"{r['e2e_rss_mb']:.0f}", f"{int(r['lines']):,}", f"{r['floor']:.2f}", f"{r['floor_cpu']:.2f}",
             f"{float(r['e2e']) / float(r['floor']):.1f}", f"{float(r['e2e_cpu']) / float(r['floor_cpu']):.1f}",
             f"{r['start']:.2f}", f"{float(r['e2e']) / (float(r['floor']) + float(r['start'])):.1f}"]
            for r in results]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    fabrics = {int(r["devices"]): r for r in results if r["shape"] == "fabric"}
    if 1000 in fabrics and 10000 in fabrics:
        small, large = fabrics[1000], fabrics[10000]
        lines.append("")
        lines.append(f"fabric 1,000 -> 10,000 devices: time x{float(large['e2e']) / float(small['e2e']):.1f} "
                     f"(CPU x{float(large['e2e_cpu']) / float(small['e2e_cpu']):.1f}), config lines "
                     f"x{float(large['lines']) / float(small['lines']):.1f}, peak RSS "
                     f"x{float(large['e2e_rss_mb']) / float(small['e2e_rss_mb']):.1f}")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child-stages":
        print(json.dumps(stages(Path(sys.argv[2]))))
        return
    if len(sys.argv) > 4 and sys.argv[1] == "--child-floor":
        print(json.dumps(floor(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=["campus", "fabric"], help="only this shape")
    parser.add_argument("--devices", type=int, nargs="+", help="device counts (default: campus 1000; fabric 250 1000 10000)")
    parser.add_argument("--keep", type=Path, help="write the generated sites here and keep them")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the command and of the floor, the best "
                                                              "kept (default 3)")
    args = parser.parse_args()
    byte_compile()
    start_load = os.getloadavg()[0]
    runs = DEFAULT_RUNS
    if args.shape or args.devices:
        shapes = [args.shape] if args.shape else ["campus", "fabric"]
        runs = [(shape, n) for shape in shapes for n in (args.devices or [n for s, n in DEFAULT_RUNS if s == shape])]
    root = args.keep or Path(tempfile.mkdtemp(prefix="intent-bench-"))
    results = []
    for shape, devices in runs:
        result = measure(shape, devices, root, max(1, args.repeat))
        results.append(result)
        print(f"{shape} {devices}: `intent plan` {result['e2e']:.2f}s (CPU {result['e2e_cpu']:.2f}s, "
              f"{result['e2e_rss_mb']:.0f} MB), floor {result['floor']:.2f}s", flush=True)
    print()
    print(f"load average (1 min) {start_load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; stage times "
          "are CPU seconds in one process (with its forked workers); `intent plan` wall and CPU seconds (its children included) and the "
          f"floor's in one process, each the best of {max(1, args.repeat)} runs by wall time")
    print(table(results))


if __name__ == "__main__":
    main()
