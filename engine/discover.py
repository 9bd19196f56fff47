"""intent discover: ask every device whose driver reads LLDP (``Neighbours``), then build a topology
from the neighbours and interface speeds (what NAPALM's getters return; ``build`` is pure)."""

from __future__ import annotations

import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.driver import Connection, Neighbours
from engine.errors import IntentError
from engine.model import Device
from engine.progress import Phases, Progress, quiet
from engine.units import format_bps

STAGES = ("LLDP and interfaces", "done")


@dataclass
class Discovery:
    links: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # devices that were asked and did not answer, with why

    def yaml(self) -> str:
        lines = ["# Discovered by `intent discover` from LLDP neighbours and interface speeds; review before use.",
                 "links:"]
        lines += [f"  - {{a: {link['a']}, b: {link['b']}, bandwidth: {link['bandwidth']}}}" for link in self.links]
        if not self.links:
            lines[-1] = "links: []"
        lines += [f"# {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def discover(devices: dict[str, Device], connection: Connection, *, parallel: int = 8,
             phases: Phases = quiet) -> tuple[Discovery, int]:
    """(the topology, how many devices answered). Devices whose driver cannot read LLDP are noted as
    skipped, devices that fail as failed; one failure never stops the others."""
    seen: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    failures: list[str] = []
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="intent-discover-") as scratch:
        work = Path(scratch)
        drivers = {name: connection.drivers.create(device, work / name, connection)
                   for name, device in sorted(devices.items())}  # not open yet: asking what they can do is free
        asked = [name for name, driver in drivers.items() if isinstance(driver, Neighbours)]

        def ask(name: str, progress: Progress) -> None:
            progress(name, STAGES[0])
            try:
                with drivers[name] as driver:
                    assert isinstance(driver, Neighbours)
                    answer = driver.neighbours()
                with lock:
                    seen[name] = answer
                progress(name, "done")
            except IntentError as exc:
                with lock:
                    failures.append(str(exc))
                progress(name, "failed")

        with phases("discover", asked, STAGES) as progress, ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            list(pool.map(lambda name: ask(name, progress), asked))
    result = build(devices, seen)
    result.notes += [f"skipped {name}: discovery reads LLDP neighbours, which the {devices[name].driver} "
                     "driver cannot" for name in sorted(set(devices) - set(asked))]
    result.failed = sorted(failures)
    result.notes += [f"failed {line}" for line in result.failed]
    return result, len(seen)


def build(devices: dict[str, Device], seen: dict[str, tuple[dict[str, Any], dict[str, Any]]]) -> Discovery:
    """``seen``: device -> (get_lldp_neighbors_detail, get_interfaces). Links appear once, sorted."""
    by_name: dict[str, str] = {}
    for name, device in devices.items():
        for alias in {name, name.split(".")[0], device.host or "", (device.host or "").split(".")[0]}:
            if alias:
                by_name.setdefault(alias.lower(), name)
    result = Discovery()
    found: dict[tuple[tuple[str, str], tuple[str, str]], str] = {}
    for name in sorted(seen):
        neighbours, interfaces = seen[name]
        for local, entries in sorted(neighbours.items()):
            for entry in entries:
                remote_name = str(entry.get("remote_system_name", ""))
                remote = by_name.get(remote_name.lower()) or by_name.get(remote_name.split(".")[0].lower())
                remote_port = str(entry.get("remote_port", ""))
                if remote is None:
                    result.notes.append(f"{name}:{local} sees {remote_name or 'an unnamed system'} ({remote_port}), "
                                        "which is not in the inventory")
                    continue
                ends = tuple(sorted([(name, local), (remote, remote_port)]))
                speeds = [_speed(interfaces, local)]
                if remote in seen:
                    speeds.append(_speed(seen[remote][1], remote_port))
                known = [s for s in speeds if s]
                if not known:
                    result.notes.append(f"{name}:{local} -- {remote}:{remote_port}: speed unknown, link left out")
                    continue
                found.setdefault(ends, format_bps(min(known)))  # type: ignore[arg-type]
    for (a, b), bandwidth in sorted(found.items()):
        result.links.append({"a": f"{a[0]}:{a[1]}", "b": f"{b[0]}:{b[1]}", "bandwidth": bandwidth})
    return result


def _speed(interfaces: dict[str, Any], name: str) -> int:
    """NAPALM reports speed in Mbit/s (float); 0 or less means unknown."""
    speed = (interfaces.get(name) or {}).get("speed") or 0
    return int(float(speed) * 1_000_000) if float(speed) > 0 else 0
