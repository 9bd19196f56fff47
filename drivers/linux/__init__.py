"""Linux devices over netlink (pyroute2 plus batched tc messages). The only place pyroute2 is imported.

``PLUGIN`` is what the ``intent_engine.drivers`` entry point ``linux`` names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from drivers.linux import lab, traffic
from drivers.linux.driver import LinuxDriver
from drivers.ssh import ConnectOptions
from engine.checks import Check, Host, Probe
from engine.driver import Connection, DriverPlugin
from engine.labspec import LabSpec
from engine.model import Device

__all__ = ["PLUGIN", "LinuxDriver", "LinuxPlugin"]


class LinuxPlugin:
    """Linux hosts: a local network namespace (``netns``) or a remote host over SSH (``host``)."""

    name = "linux"

    def create(self, device: Device, work_dir: Path, connection: Connection) -> LinuxDriver:
        return LinuxDriver(device, work_dir, ConnectOptions.of(connection))

    # -- the lab (engine.labspec.LabBuilder) ------------------------------------------------

    def up(self, spec: LabSpec, progress: Callable[[str], None]) -> list[str]:
        return lab.up(spec, progress)

    def down(self, spec: LabSpec, progress: Callable[[str], None]) -> list[str]:
        return lab.down(spec, progress)

    # -- real traffic between lab hosts (engine.verify.Traffic) -----------------------------

    def measure(self, check: Check, seconds: int) -> dict[str, int]:
        return traffic.measure(check, seconds)

    def reach(self, host: Host, address: str) -> bool:
        return traffic.reach(host, address)

    def probe(self, probe: Probe) -> bool:
        return traffic.probe_reach(probe)

    def emulated(self) -> bool:
        return traffic.emulated()


PLUGIN: DriverPlugin = LinuxPlugin()  # mypy checks here that it, and the driver it makes, keep the contract
