"""The Netmiko driver over real SSH against an emulated IOS switch (fake-switches: VLANs, ports, SVIs;
it has no QoS, so QoS lines are what a device refusing a command looks like here)."""

from __future__ import annotations

import pytest

from drivers.netmiko import NetmikoDriver
from drivers.ssh import ConnectOptions
from engine.compiler import compile_site
from engine.errors import CommitError, ConnectError
from engine.loader import load_site
from tests.conftest import SiteDir
from tests.drivers.conftest import NETMIKO_SITE
from tests.fakeswitch import FakeSwitch

SITE = NETMIKO_SITE  # the switch and the site that reaches it: tests/drivers/conftest.py


@pytest.fixture
def site(netmiko_site: SiteDir) -> SiteDir:
    return netmiko_site


def open_driver(site: SiteDir, **options: bool) -> tuple[NetmikoDriver, object]:
    loaded = load_site(site.site)
    driver = NetmikoDriver(loaded.devices["s1"], site.root / "work", ConnectOptions(site.root / "known_hosts", **options))
    return driver, compile_site(loaded).configs["s1"]


def test_apply_verify_reapply_and_rollback_over_ssh(site: SiteDir) -> None:
    driver, config = open_driver(site)
    with driver:
        before = driver.get_running()
        diff = driver.stage(config)
        assert "+vlan 10\n+ name users" in diff and "+ switchport trunk allowed vlan 10,30" in diff
        driver.commit()
        assert driver.sent[:3] == ["vlan 10", " name users", " exit"]  # hier_config's, with section exits
        running = driver.get_running()
        assert "interface GigabitEthernet1/0/11\n switchport access vlan 10\n switchport mode access" in running
        assert driver.stage(config) == ""  # nothing left to do
        driver.rollback(before)
        assert driver.get_running() == before  # byte for byte


def test_a_refused_command_is_a_commit_error_with_the_device_words(site: SiteDir) -> None:
    site.write("site.yaml", SITE + """\
  - name: video
    qos_guarantee: {between: [{vlan: 10}, {vlan: 30}], rate: 10Mbps}
""")
    driver, config = open_driver(site)
    with driver:
        before = driver.get_running()
        driver.stage(config)
        with pytest.raises(CommitError, match="s1: commit failed: .*No such command"):
            driver.commit()
        driver.rollback(before)  # the session is still usable and the device goes back
        assert driver.get_running() == before


def test_unknown_and_changed_host_keys_are_refused(site: SiteDir, switch: FakeSwitch) -> None:
    (site.root / "known_hosts").write_text("")
    driver, _ = open_driver(site)
    with pytest.raises(ConnectError, match=rf"s1: unknown SSH host key for 127.0.0.1:{switch.port} \(ssh-rsa SHA256:"):
        driver.open()
    driver, _ = open_driver(site, accept_new_host_keys=True)
    with driver:
        pass
    assert (site.root / "known_hosts").read_text().split()[:2] == switch.known_hosts_line().split()[:2]
    other = FakeSwitch(site.root / "other")
    try:
        (site.root / "known_hosts").write_text(other.known_hosts_line().replace(str(other.port), str(switch.port)))
        driver, _ = open_driver(site, accept_new_host_keys=True)
        with pytest.raises(ConnectError, match="CHANGED"):
            driver.open()
    finally:
        other.stop()


def test_wrong_password_is_a_clear_error_without_the_password(site: SiteDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S1_PASSWORD", "wr0ngPassw0rd!")
    driver, _ = open_driver(site)
    with pytest.raises(ConnectError) as info:
        driver.open()
    assert "Authentication" in str(info.value) and "wr0ngPassw0rd!" not in str(info.value)


def _s1_plan(site: SiteDir) -> tuple[object, object, object]:
    """The plan of s1 alone against what the switch shows now (r1, the Linux gateway, is left out)."""
    import hashlib

    from engine.plan import Plan, cli_device_plan

    loaded = load_site(site.site)
    compilation = compile_site(loaded)
    driver, config = open_driver(site)
    with driver:
        running = driver.get_running()
    planned = cli_device_plan(compilation.configs["s1"], running)
    plan = Plan(loaded.name, {"s1": planned}, (), running_sha256={"s1": hashlib.sha256(running.encode()).hexdigest()})
    return loaded, compilation, plan


def test_apply_sends_the_plans_commands_not_a_second_computation(site: SiteDir) -> None:
    from dataclasses import replace

    from engine.driver import Connection, DriverRegistry
    from engine.state import StateDir
    from engine.transaction import apply

    loaded, compilation, plan = _s1_plan(site)
    planned = plan.devices["s1"]  # type: ignore[attr-defined]
    assert "vlan 10" in planned.commands and any("switchport access vlan 10" in c for c in planned.commands)
    cut = replace(planned, commands=planned.commands[:3])  # only "vlan 10 / name users / exit"
    driver, _ = open_driver(site)
    with driver:
        before = driver.get_running()
    run = apply(loaded, compilation, replace(plan, devices={"s1": cut}), StateDir(site.root / "state"),  # type: ignore[type-var]
                connection=Connection(str(site.root / "known_hosts"), False, DriverRegistry.installed()))
    result = run.results["s1"]
    # Exactly the three planned lines went out: the port was never configured, so the check after the
    # commit finds the intent not held, and the device is restored.
    assert result.failed and "verification failed" in (result.error or "") and result.rolled_back
    with driver:
        assert driver.get_running() == before


def test_apply_refuses_a_device_that_changed_since_it_was_planned(site: SiteDir) -> None:
    from engine.driver import Connection, DriverRegistry
    from engine.state import StateDir
    from engine.transaction import apply

    loaded, compilation, plan = _s1_plan(site)
    driver, _ = open_driver(site)
    with driver:
        driver._send(("interface GigabitEthernet1/0/12", " description changed behind the plan"), CommitError, "edit")
        changed = driver.get_running()
    try:
        run = apply(loaded, compilation, plan, StateDir(site.root / "state"),  # type: ignore[arg-type]
                    connection=Connection(str(site.root / "known_hosts"), False, DriverRegistry.installed()))
        result = run.results["s1"]
        assert result.failed and result.error == "s1: the device changed since it was planned; plan again"
        with driver:
            assert driver.get_running() == changed  # nothing was sent
    finally:
        with driver:
            driver._send(("interface GigabitEthernet1/0/12", " no description"), CommitError, "edit")
