"""The shared driver contract suite (napalm's BaseTestGetters idea): what every ``engine.driver.Driver``
must do, written once and run against every driver family in tests/drivers/test_contract.py.

A family's rig prepares its device for a scenario and hands over a driver, not yet open:
- ``fresh``: the device holds none of ``desired``;
- ``applied``: the device holds all of it already;
- ``restorable``: the device holds it, and ``rig.snapshot`` is what it was before;
- ``refusing``: the device takes the change but refuses part of it when committed;
- ``unreachable``: nothing answers where the device should be.
Linux runs against a real network namespace, Netmiko over real SSH against the emulated switch,
NAPALM against NAPALM's own mock driver replaying recorded responses of each scenario.
"""

from __future__ import annotations

from typing import Protocol

import pytest

from engine.driver import Driver
from engine.errors import CommitError, ConnectError, RollbackError
from engine.render import DeviceConfig


class Rig(Protocol):
    desired: DeviceConfig
    refused: DeviceConfig  # what the ``refusing`` device refuses part of
    snapshot: str  # restorable: the running state before ``desired`` was applied
    marker: str  # a line of ``desired``'s diff on a fresh device: "+vlan 10", "+ip link add ifb10 type ifb"

    def driver(self, scenario: str) -> Driver: ...


class DriverContract:
    """Subclasses provide the ``rig`` fixture; every test below then runs against their driver."""

    def test_stage_shows_the_change_and_commit_verifies_it(self, rig: Rig) -> None:
        with rig.driver("fresh") as driver:
            diff = driver.stage(rig.desired)
            assert rig.marker in diff
            driver.commit()  # reads the device back: raises unless it now holds the change
            assert driver.changes > 0

    def test_nothing_to_change_is_an_empty_diff_and_an_empty_commit(self, rig: Rig) -> None:
        with rig.driver("applied") as driver:
            assert driver.stage(rig.desired) == ""
            driver.commit()
            assert driver.changes == 0

    def test_rollback_restores_the_snapshot_and_checks_it(self, rig: Rig) -> None:
        with rig.driver("restorable") as driver:
            try:
                driver.rollback(rig.snapshot)
            except RollbackError as exc:  # the driver's own read-back check failed: the contract is broken
                pytest.fail(f"rollback did not restore the snapshot: {exc}")
            assert driver.changes > 0

    def test_a_refused_commit_is_a_commit_error_naming_the_device(self, rig: Rig) -> None:
        with rig.driver("refusing") as driver:
            driver.stage(rig.refused)
            with pytest.raises(CommitError) as info:
                driver.commit()
            assert str(info.value).startswith(f"{driver.device}: ")

    def test_confirm_without_an_armed_commit_is_refused(self, rig: Rig) -> None:
        with rig.driver("applied") as driver, pytest.raises(CommitError, match=f"^{driver.device}: "):
            driver.confirm()

    def test_an_unreachable_device_is_a_connect_error_naming_it(self, rig: Rig) -> None:
        driver = rig.driver("unreachable")
        with pytest.raises(ConnectError, match=f"^{driver.device}: "):
            driver.open()
