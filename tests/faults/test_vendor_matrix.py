"""The fault matrix on vendor drivers: Netmiko against two emulated IOS switches over real SSH
(tests/fakeswitch.py; their VLANs route on an EOS gateway, since the emulation has no `ip routing`),
and NAPALM against two EOS devices of a synthetic NAPALM driver whose running config is a file
(tests/faults/napalm_plugins/custom_napalm/filemock.py). Every phase x every fault kind ends S0 or
S1, byte for byte on every device, and history says which. No network namespaces.

Why synthetic, not NAPALM's own mock (napalm.base.mock.MockDriver) with hand-written responses:
the mock answers the Nth call of a method with the file ``<method>.<N>``, counted per driver
instance, and ignores the configuration it is given (``load_merge_candidate`` keeps only a file
name, ``commit_config`` replays a file). An apply opens a new instance per phase (plan read,
snapshot and change, restore) and per process (the safety reverter that restores after a kill, the
dumps), and each starts again at ``get_config.1``: every new connection would show the same config
whatever was committed, so every case would "end S0" by construction, and responses written per
case would be the expected outcome written down, not observed. The matrix needs a device whose
state is what the last commit made it, across connections and processes: that is the file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from engine.loader import load_site
from engine.state import StateDir
from tests.conftest import SiteDir
from tests.fakeswitch import ENABLE, PASSWORD, FakeSwitch
from tests.faults.conftest import PLUGINS, plugin_path
from tests.faults.forkserver import ForkServer
from tests.faults.matrix import KINDS, PHASES, check, run_case, tmpfs

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: tmpfs mounts for the state directories")

NETMIKO_SITE = """\
site: nm
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: e0, access: [s2:GigabitEthernet1/0/11]}
  - name: guest
    vlan: {id: 30, subnet: 10.30.0.0/24, gateway: e0, access: [s1:GigabitEthernet1/0/12]}
"""

NAPALM_SITE = """\
site: np
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: e1, access: [e2:Ethernet10]}
  - name: cameras
    vlan: {id: 20, subnet: 10.20.0.0/24, gateway: e1, access: [e1:Ethernet11, e2:Ethernet11]}
"""

EOS_RUNNING = """\
! device: {name} (DCS-7050SX3, EOS-4.31.2F)
hostname {name}
!
vlan 99
   name mgmt
!
interface Ethernet1
   description uplink
!
interface Ethernet10
   description camera
!
interface Ethernet11
!
interface Management1
   ip address 192.0.2.{octet}/24
!
end
"""


class Vendor:
    """A two-device vendor site and how to dump its devices."""

    def __init__(self, driver: str, site: SiteDir, env: dict[str, str], order: list[str], runner: ForkServer,
                 devices: list[str] | None = None) -> None:
        self.driver, self.site, self.env, self.order = driver, site, env, order  # order: the faults' targets
        self.runner = runner
        self.devices = devices or order
        os.environ.update(env)  # the dumps below read the same variables as intent does
        self.s0 = self.dumps(site.root / "empty")
        with tmpfs(site.root / "s1") as state:
            self.intent(state, "apply", "--yes")
            self.s1 = self.dumps(state)
            self.intent(state, "rollback")
        assert self.dumps(site.root / "empty") == self.s0 and self.s1 != self.s0

    def dumps(self, state: Path) -> dict[str, str]:
        from engine.driver import Connection, DriverRegistry
        from engine.transaction import open_driver

        loaded = load_site(self.site.site)
        directory = StateDir(state / loaded.name)
        connection = Connection(str(self.site.root / "known_hosts"), False, DriverRegistry.installed())
        def dump(name: str) -> str:
            with open_driver(loaded.devices[name], directory, connection) as driver:
                return driver.get_running()

        with ThreadPoolExecutor(len(self.devices)) as pool:  # one SSH login per device, at once
            return dict(zip(self.devices, pool.map(dump, self.devices), strict=True))

    def intent(self, state: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "INTENT_FAULT"}
        result = self.runner.run([*args, str(self.site.site)], {**env, **self.env, "INTENT_STATE_DIR": str(state)})
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def netmiko_site(tmp_path_factory: pytest.TempPathFactory, intent_runner: ForkServer) -> Iterator[Vendor]:
    root = tmp_path_factory.mktemp("netmiko-faults")
    with contextlib.ExitStack() as started:  # the first switch is stopped even when the second cannot start
        switches = [started.enter_context(FakeSwitch(root / f"switch{n}")) for n in (1, 2)]
        site = SiteDir(root)
        site.write("e0.running", EOS_RUNNING.format(name="e0", octet=40))
        site.write("inventory.yaml", f"""\
            all:
              children:
                eos:
                  hosts:
                    e0: {{platform: eos, host: 192.0.2.40, username: netops, password_env: E_PASSWORD,
                          napalm_driver: filemock, napalm_optional_args: {{path: {root / 'e0.running'}}}}}
                ios:
                  vars: {{platform: ios, driver: netmiko, host: 127.0.0.1, username: admin,
                          password_env: S_PASSWORD, enable_secret_env: S_ENABLE}}
                  hosts:
                    s1: {{port: {switches[0].port}}}
                    s2: {{port: {switches[1].port}}}
            """)
        site.write("topology.yaml", """\
            links:
              - {a: e0:Ethernet1, b: s1:GigabitEthernet1/0/1, bandwidth: 1Gbps}
              - {a: s1:GigabitEthernet1/0/2, b: s2:GigabitEthernet1/0/1, bandwidth: 1Gbps}
            """)
        site.write("site.yaml", NETMIKO_SITE)
        site.write("known_hosts", "".join(switch.known_hosts_line() for switch in switches))
        env = {"S_PASSWORD": PASSWORD, "S_ENABLE": ENABLE, "INTENT_KNOWN_HOSTS": str(root / "known_hosts"),
               **plugin_env()}
        yield Vendor("netmiko", site, env, ["s1", "s2"], intent_runner, ["e0", "s1", "s2"])


@pytest.fixture(scope="module")
def napalm_site(tmp_path_factory: pytest.TempPathFactory, intent_runner: ForkServer) -> Vendor:
    root = tmp_path_factory.mktemp("napalm-faults")
    site = SiteDir(root)
    for number, name in enumerate(("e1", "e2"), 41):
        site.write(f"{name}.running", EOS_RUNNING.format(name=name, octet=number))
    site.write("inventory.yaml", f"""\
        all:
          children:
            eos:
              vars: {{platform: eos, username: netops, password_env: E_PASSWORD, napalm_driver: filemock}}
              hosts:
                e1: {{host: 192.0.2.41, napalm_optional_args: {{path: {root / 'e1.running'}}}}}
                e2: {{host: 192.0.2.42, napalm_optional_args: {{path: {root / 'e2.running'}}}}}
        """)
    site.write("topology.yaml", "links:\n  - {a: e1:Ethernet1, b: e2:Ethernet1, bandwidth: 1Gbps}\n")
    site.write("site.yaml", NAPALM_SITE)
    site.write("known_hosts", "")
    return Vendor("napalm", site, plugin_env(), ["e1", "e2"], intent_runner)


def plugin_env() -> dict[str, str]:
    """The file-backed NAPALM driver on the path of intent, its reverters, and the dumps of this process."""
    import sys

    if str(PLUGINS) not in sys.path:
        sys.path.insert(0, str(PLUGINS))
    return {"E_PASSWORD": "not-used-by-the-fake", "PYTHONPATH": plugin_path()}  # the reverters need it too


def case(vendor: Vendor, phase: str, index: int, expected: str, kind: str) -> Any:
    name = load_site(vendor.site.site).name
    with tmpfs(vendor.site.root / "cases" / f"{phase}-{kind}") as state:
        outcome = run_case(runner=vendor.runner, driver=vendor.driver, phase=phase, index=index, kind=kind,
                           expected=expected, site=vendor.site.site, site_name=name, order=vendor.order,
                           state=state, dumps=vendor.dumps, s0=vendor.s0, s1=vendor.s1, extra_env=vendor.env)
        try:
            check(outcome)
        except AssertionError:  # restore what it can, so that one failed case does not fail the next ones
            with contextlib.suppress(Exception):
                (state / name / ".fault-fill").unlink(missing_ok=True)
                vendor.intent(state, "rollback")
            raise
        if outcome.history == "in progress":  # full: nothing more could be written; free it and recover
            (state / name / ".fault-fill").unlink()
            vendor.intent(state, "rollback")
        if outcome.ended == "S1":  # a full disk that still let the apply end: the fault is over, free it first
            (state / name / ".fault-fill").unlink(missing_ok=True)
            vendor.intent(state, "rollback")
        if outcome.ended == "S1" or outcome.history == "in progress":
            assert vendor.dumps(state) == vendor.s0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("phase", "index", "expected"), PHASES)
def test_netmiko_fault(netmiko_site: Vendor, phase: str, index: int, expected: str, kind: str) -> None:
    case(netmiko_site, phase, index, expected, kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("phase", "index", "expected"), PHASES)
def test_napalm_fault(napalm_site: Vendor, phase: str, index: int, expected: str, kind: str) -> None:
    case(napalm_site, phase, index, expected, kind)
