"""A plugin driver is named in an inventory like a built-in one: tests/plugin_driver is a distribution
of its own (``acme-statefile``), pip-installed into a temporary directory and found only through its
``intent_engine.drivers`` entry point. Its devices are files, so ``intent plan`` reads them through
it and ``intent apply`` changes them through the whole transaction (snapshot, journal, safety
reverter, read-back check), with nothing but file writes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SiteDir, run_intent

HERE = Path(__file__).resolve().parent

SITE = """\
site: files
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: r1, access: [r2:eth3]}
"""
INVENTORY = """\
all:
  vars: {platform: linux, driver: statefile}
  hosts:
    r1: {}
    r2: {}
"""
TOPOLOGY = "links:\n  - {a: r1:eth1, b: r2:eth0, bandwidth: 100Mbps}\n"


@pytest.fixture(scope="module")
def plugin(install_distribution: Callable[[str, str], Path]) -> Path:
    """The plugin installed into a directory of its own (tests/conftest.py)."""
    return install_distribution("plugin_driver", "acme_statefile")


def site(tmp_path: Path, inventory: str = INVENTORY) -> SiteDir:
    built = SiteDir(tmp_path)
    built.write("inventory.yaml", inventory)
    built.write("topology.yaml", TOPOLOGY)
    built.write("site.yaml", SITE)
    (tmp_path / "devices").mkdir()
    return built


def _env(plugin: Path | None, tmp_path: Path) -> dict[str, str]:
    paths = [str(plugin)] if plugin else []
    return {"PYTHONPATH": os.pathsep.join([*paths, str(HERE.parent)]), "ACME_STATEFILE_DIR": str(tmp_path / "devices"),
            "INTENT_STATE_DIR": str(tmp_path / "state")}


def test_without_the_plugin_the_driver_is_refused_at_its_line(tmp_path: Path) -> None:
    built = site(tmp_path)
    result = run_intent("validate", str(built.site), env=_env(None, tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    inventory = tmp_path / "inventory.yaml"
    column = INVENTORY.splitlines()[1].index("statefile") + 1
    assert (f"{inventory}:2:{column}: host r1: driver 'statefile' is not installed (installed drivers: linux, "
            "napalm, netmiko; a driver is registered in the intent_engine.drivers entry-point group") in result.stderr


def test_the_plugin_driver_is_listed_among_the_installed(plugin: Path, tmp_path: Path) -> None:
    built = site(tmp_path, INVENTORY.replace("driver: statefile", "driver: statefiles"))
    result = run_intent("validate", str(built.site), env=_env(plugin, tmp_path))
    assert result.returncode == 1
    assert "driver 'statefiles' is not installed (installed drivers: linux, napalm, netmiko, statefile;" in result.stderr


def test_the_plugin_driver_says_which_platforms_it_manages(plugin: Path, tmp_path: Path) -> None:
    built = site(tmp_path, INVENTORY.replace("platform: linux", "platform: ios"))
    result = run_intent("validate", str(built.site), env=_env(plugin, tmp_path))
    assert result.returncode == 1
    assert ("host r1: driver statefile cannot manage platform ios (the platforms it manages: linux; "
            "platform ios's drivers: napalm, netmiko)") in result.stderr


def test_plan_and_apply_go_through_the_plugin_driver(plugin: Path, tmp_path: Path) -> None:
    built = site(tmp_path)
    env = _env(plugin, tmp_path)
    result = run_intent("validate", str(built.site), env=env)
    assert result.returncode == 0, result.stderr
    result = run_intent("plan", str(built.site), "--format", "json", env=env)  # live: read through the driver
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["changes"] and set(plan["devices"]) == {"r1", "r2"}
    assert "+ip address add 10.10.0.1/24 dev" in plan["devices"]["r1"]["diff"]

    result = run_intent("apply", str(built.site), "--yes", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    r1 = json.loads((tmp_path / "devices" / "r1.json").read_text())
    assert r1["device"] == "r1" and any(a["address"] == "10.10.0.1/24" for a in r1["addresses"])
    assert json.loads((tmp_path / "devices" / "r2.json").read_text())["device"] == "r2"

    # read back through the driver, the devices now hold the intents: nothing left to change
    result = run_intent("plan", str(built.site), "--detailed-exitcode", env=env)
    assert result.returncode == 0, result.stdout + result.stderr

    # the transaction's snapshot of the empty devices brings them back through the driver
    result = run_intent("rollback", str(built.site), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "devices" / "r1.json").read_text() == "{}\n"
