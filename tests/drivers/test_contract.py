"""The shared driver contract (tests/drivers/contract.py) against each family, through its plugin:
Linux in a real network namespace, Netmiko over SSH against the emulated switch, NAPALM against its
own mock driver (every platform). Each driver is made by ``DriverRegistry.installed()``, as a run
makes it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from napalm.base.mock import MockDriver

from engine.compiler import compile_site
from engine.driver import Connection, Driver, DriverRegistry
from engine.loader import load_site
from engine.model import Device
from engine.render import DeviceConfig
from tests.conftest import SiteDir
from tests.drivers.conftest import NETMIKO_SITE
from tests.drivers.contract import DriverContract
from tests.fakeswitch import FakeSwitch
from tests.test_linux_driver_contract import SITE as LINUX_SITE

HERE = Path(__file__).parent
REGISTRY = DriverRegistry.installed()

# -- Linux: a namespace of its own per test, with the interfaces the desired state uses ---------------

def _ns(netns: str, *command: str) -> None:
    subprocess.run(["ip", "netns", "exec", netns, *command], check=True, capture_output=True)


class LinuxRig:
    marker = "+ip link add ifb10 type ifb"

    def __init__(self, root: Path, desired: DeviceConfig) -> None:
        self.root, self.desired, self.refused = root, desired, desired
        self.netns = f"k{uuid.uuid4().hex[:6]}"
        self.snapshot = ""

    def start(self, interfaces: tuple[str, ...] = ("eth1", "eth3")) -> None:
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        _ns(self.netns, "ip", "link", "set", "lo", "up")
        for number, name in enumerate(interfaces):
            _ns(self.netns, "ip", "link", "add", name, "type", "veth", "peer", "name", f"p{number}")
            _ns(self.netns, "ip", "link", "set", name, "up")

    def stop(self) -> None:
        subprocess.run(["ip", "netns", "del", self.netns], check=False)

    def device(self, netns: str | None = None) -> Device:
        return Device("r1", "linux", "linux", netns=netns or self.netns)

    def _make(self, netns: str | None = None) -> Driver:
        return REGISTRY.create(self.device(netns), self.root / "work", Connection(drivers=REGISTRY))

    def driver(self, scenario: str) -> Driver:
        if scenario == "unreachable":
            return self._make(f"{self.netns}-gone")
        self.start(("eth1",) if scenario == "refusing" else ("eth1", "eth3"))  # refusing: eth3 is missing
        if scenario in ("applied", "restorable"):
            with self._make() as setup:
                self.snapshot = setup.get_running()
                setup.stage(self.desired)
                setup.commit()
        return self._make()


@pytest.fixture(scope="module")
def linux_desired(tmp_path_factory: pytest.TempPathFactory) -> DeviceConfig:
    site = SiteDir(tmp_path_factory.mktemp("linux-contract"))
    site.write("inventory.yaml", "all:\n  vars: {platform: linux}\n  hosts:\n    r1: {netns: x}\n    peer: {netns: y}\n")
    site.write("topology.yaml", "links:\n  - {a: r1:eth1, b: peer:eth0, bandwidth: 100Mbps}\n")
    site.write("site.yaml", LINUX_SITE)  # the one tests/test_linux_driver_contract.py applies
    return compile_site(load_site(site.site)).configs["r1"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces")
class TestLinuxContract(DriverContract):
    @pytest.fixture
    def rig(self, tmp_path: Path, linux_desired: DeviceConfig) -> Iterator[LinuxRig]:
        made = LinuxRig(tmp_path, linux_desired)
        yield made
        made.stop()


# -- Netmiko: the emulated IOS switch over real SSH, put back as it was after every test --------------

REFUSED = "  - name: video\n    qos_guarantee: {between: [{vlan: 10}, {vlan: 30}], rate: 10Mbps}\n"


class NetmikoRig:
    marker = "+vlan 10"

    def __init__(self, site: SiteDir, switch: FakeSwitch) -> None:
        self.site, self.switch = site, switch
        self.desired = compile_site(load_site(site.site)).configs["s1"]
        site.write("site.yaml", NETMIKO_SITE + REFUSED)  # the switch has no QoS: those commands are refused
        self.refused = compile_site(load_site(site.site)).configs["s1"]
        self.device = load_site(site.site).devices["s1"]
        with self._make() as first:
            self.snapshot = first.get_running()

    def _make(self, device: Device | None = None) -> Driver:
        connection = Connection(str(self.site.root / "known_hosts"), False, REGISTRY)
        return REGISTRY.create(device or self.device, self.site.root / "work", connection)

    def driver(self, scenario: str) -> Driver:
        if scenario == "unreachable":
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                free = probe.getsockname()[1]
            return self._make(replace(self.device, port=free))
        if scenario in ("applied", "restorable"):
            with self._make() as setup:
                setup.stage(self.desired)
                setup.commit()
        return self._make()

    def restore(self) -> None:
        with self._make() as driver:
            if driver.get_running() != self.snapshot:
                driver.rollback(self.snapshot)


class TestNetmikoContract(DriverContract):
    @pytest.fixture
    def rig(self, netmiko_site: SiteDir, switch: FakeSwitch) -> Iterator[NetmikoRig]:
        made = NetmikoRig(netmiko_site, switch)
        yield made
        made.restore()


# -- NAPALM: its mock driver replaying the recorded responses of each scenario, every platform ---------

SCENARIOS = {"fresh": "apply", "applied": "noop", "restorable": "rollback", "refusing": "commit-fails",
             "unreachable": "apply"}


class _MockPlugin:
    """The napalm plugin, with NAPALM's mock driver where the platform's driver would be loaded."""

    name = "napalm"

    def __init__(self, path: Path, optional: dict[str, Any]) -> None:
        self.path, self.optional = path, optional

    def create(self, device: Device, work_dir: Path, connection: Connection) -> Driver:
        from drivers.napalm import NapalmDriver
        from drivers.ssh import ConnectOptions

        def factory(name: str) -> Any:
            return lambda host, user, password, timeout, optional_args: MockDriver(
                host, user, password, timeout, {"path": str(self.path), **self.optional})

        return NapalmDriver(device, work_dir, ConnectOptions.of(connection), factory=factory)


class NapalmRig:
    def __init__(self, platform: str, root: Path) -> None:
        self.platform, self.root = platform, root
        recorded = json.loads((HERE / platform / "recorded" / "apply" / "compare_config.1").read_text())["diff"]
        self.marker = recorded.splitlines()[0]  # stage returns the device's own diff
        self.desired = self.refused = compile_site(load_site(HERE / platform / "site" / "site.yaml")).configs["r1"]
        self.snapshot = json.loads((HERE / platform / "recorded" / "rollback" / "get_config.1").read_text())["running"]

    def driver(self, scenario: str) -> Driver:
        recorded = HERE / self.platform / "recorded" / SCENARIOS[scenario]
        work = self.root / scenario
        shutil.rmtree(work, ignore_errors=True)
        plugin = _MockPlugin(recorded, {"fail_on_open": True} if scenario == "unreachable" else {})
        device = Device("r1", self.platform, "napalm", host="192.0.2.1", username="netops",
                        password="S3cr3tPassw0rd")
        return DriverRegistry([plugin]).create(device, work, Connection())


class TestNapalmContract(DriverContract):
    @pytest.fixture(params=["ios", "eos", "junos", "nxos"])
    def rig(self, request: pytest.FixtureRequest, tmp_path: Path) -> NapalmRig:
        return NapalmRig(request.param, tmp_path)

