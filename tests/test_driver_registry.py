"""Drivers are found through the ``intent_engine.drivers`` entry points, in a registry on an instance
that refuses two drivers with one name; optional abilities are checked with isinstance."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.driver import ClassStats, Connection, DriverRegistry, FeatureProbe, Neighbours
from engine.errors import ConnectError, IntentError
from engine.model import Device
from tests.conftest import fake_distribution

ROOT = Path(__file__).resolve().parent.parent


def test_our_drivers_are_registered_through_our_pyproject() -> None:
    registry = DriverRegistry.installed()
    assert registry.names() == ["linux", "napalm", "netmiko"]
    for name in registry.names():
        assert registry.get(name).name == name


def test_installed_registry_imports_no_driver_until_one_is_used() -> None:
    code = ("import sys; from engine.driver import DriverRegistry; r = DriverRegistry.installed(); "
            "before = sorted(m for m in sys.modules if m.startswith('drivers')); r.get('netmiko'); "
            "print(before, 'drivers.netmiko' in sys.modules, 'drivers.linux' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.split() == ["[]", "True", "False"]


class _Plugin:
    def __init__(self, name: str) -> None:
        self.name = name

    def create(self, device: Device, work_dir: Path, connection: Connection) -> object:
        raise AssertionError("not opened in these tests")


def test_two_drivers_with_one_name_are_refused() -> None:
    registry = DriverRegistry([_Plugin("acme")])
    with pytest.raises(IntentError, match="two drivers are named 'acme'"):
        registry.add(_Plugin("acme"))  # type: ignore[arg-type]
    assert registry.names() == ["acme"]


def test_another_distribution_claiming_a_driver_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second installed distribution whose entry point is also called ``linux``: refused, not shadowed."""
    fake_distribution(tmp_path, "acme-drivers", entry_points_txt="[intent_engine.drivers]\nlinux = acme.linux:PLUGIN\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(IntentError, match="two drivers are named 'linux'") as info:
        DriverRegistry.installed()
    assert "acme.linux:PLUGIN (acme-drivers)" in str(info.value)
    assert "drivers.linux:PLUGIN (intent-engine)" in str(info.value)


def test_an_unknown_driver_is_a_connect_error_naming_the_device(tmp_path: Path) -> None:
    device = Device("sw1", "ios", "netmiko")
    with pytest.raises(ConnectError, match=r"sw1: no driver named 'netmiko' is installed \(installed: acme\)"):
        DriverRegistry([_Plugin("acme")]).create(device, tmp_path, Connection())  # type: ignore[list-item]


def test_abilities_are_protocols_the_drivers_have_or_lack(tmp_path: Path) -> None:
    registry = DriverRegistry.installed()
    connection = Connection(str(tmp_path / "known_hosts"), False, registry)
    linux = registry.create(Device("r1", "linux", "linux", netns="nowhere"), tmp_path, connection)
    napalm = registry.create(Device("r2", "eos", "napalm"), tmp_path, connection)
    netmiko = registry.create(Device("r3", "ios", "netmiko"), tmp_path, connection)
    assert [isinstance(d, ClassStats) for d in (linux, napalm, netmiko)] == [True, False, False]
    assert [isinstance(d, FeatureProbe) for d in (linux, napalm, netmiko)] == [True, False, False]
    assert [isinstance(d, Neighbours) for d in (linux, napalm, netmiko)] == [False, True, False]



def test_the_loader_asks_the_registry_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An inventory's driver names are checked against the registry of the run: a plugin that says
    which platforms it manages is accepted for those only, one whose distribution does not import is
    an error at the driver's line rather than a traceback, and the duplicate check of the installed
    group applies at load time too."""
    from engine.errors import ValidationError
    from engine.loader import load_inventory

    class Manages(_Plugin):
        platforms = ("linux",)

    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("all:\n  hosts:\n    r1: {platform: linux, driver: acme}\n"
                         "    r2: {platform: eos, driver: acme}\n    r3: {platform: linux, driver: broken}\n")
    fake_distribution(tmp_path / "broken", "acme-broken",
                      entry_points_txt="[intent_engine.drivers]\nbroken = acme_broken_nowhere:PLUGIN\n")
    monkeypatch.syspath_prepend(str(tmp_path / "broken"))
    registry = DriverRegistry.installed()
    registry.add(Manages("acme"))  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        load_inventory(inventory, drivers=registry)
    lines = info.value.lines()
    assert any(line.startswith(f"{inventory}:4:") and "host r2: driver acme cannot manage platform eos (the "
               "platforms it manages: linux; platform eos's drivers: napalm, netmiko)" in line for line in lines), lines
    assert any(line.startswith(f"{inventory}:5:") and "host r3: driver broken cannot be loaded: "
               "ModuleNotFoundError" in line for line in lines), lines
    assert not any("host r1" in line for line in lines)
    inventory.write_text("all:\n  hosts:\n    r1: {platform: linux, driver: acme}\n")
    assert load_inventory(inventory, drivers=registry)["r1"].driver == "acme"

    fake_distribution(tmp_path / "twin", "acme-drivers", entry_points_txt="[intent_engine.drivers]\nlinux = acme.linux:PLUGIN\n")
    monkeypatch.syspath_prepend(str(tmp_path / "twin"))
    with pytest.raises(IntentError, match="two drivers are named 'linux'"):
        load_inventory(inventory)


class _SlowLibraryPlugin:
    """A driver family whose vendor library takes ``seconds`` to import, as napalm or netmiko do on a
    loaded machine, imported lazily by the driver's ``open`` (as drivers/napalm does) and by ``preload``."""

    name = "slowlib"

    def __init__(self, module: str) -> None:
        self.module = module

    def preload(self, devices: list[Device]) -> None:
        importlib.import_module(self.module)

    def create(self, device: Device, work_dir: Path, connection: Connection) -> object:
        plugin = self

        class Driver:
            def __enter__(self) -> Driver:
                importlib.import_module(plugin.module)  # the driver's first connection needs its library
                return self

            def __exit__(self, *exc: object) -> None: ...

            def get_running(self) -> str:
                return "hostname s1\n"

        return Driver()


def test_a_device_budget_does_not_pay_for_the_first_import_of_its_vendor_library(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--device-timeout measures the device: the registry imports each driver family's library before
    any budget starts (before, the first device's budget included napalm's or netmiko's import)."""
    from engine.render import DeviceConfig
    from engine.transaction import read_running

    module = f"slow_vendor_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text("import time\ntime.sleep(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    device = Device("s1", "ios", "slowlib")
    site = SimpleNamespace(devices={"s1": device})
    state = SimpleNamespace(device_dir=lambda name: tmp_path / name)
    connection = Connection(drivers=DriverRegistry([_SlowLibraryPlugin(module)]))
    texts = read_running(site, {"s1": DeviceConfig("s1", "ios", "")}, state, connection=connection,  # type: ignore[arg-type]
                         budget=1.5, probe=False)
    assert texts == {"s1": "hostname s1\n"}


def test_napalm_and_netmiko_are_imported_by_the_registry_load_step() -> None:
    code = ("import sys; from engine.driver import DriverRegistry; from engine.model import Device; "
            "DriverRegistry.installed().load([Device('s1', 'ios', 'napalm'), Device('s2', 'eos', 'netmiko')]); "
            "print('napalm.ios' in sys.modules, 'netmiko' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.split() == ["True", "True"]
