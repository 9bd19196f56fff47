"""The Netmiko driver over real SSH against an emulated IOS switch (fake-switches: VLANs, ports, SVIs;
it has no QoS, so QoS lines are what a device refusing a command looks like here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.netmiko import NetmikoDriver
from drivers.ssh import ConnectOptions
from engine.compiler import compile_site
from engine.errors import CommitError, ConnectError
from engine.loader import load_site
from tests.conftest import SiteDir
from tests.fakeswitch import ENABLE, PASSWORD, FakeSwitch

SITE = """\
site: nm
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: r1, access: [s1:GigabitEthernet1/0/11]}
  - name: guest
    vlan: {id: 30, subnet: 10.30.0.0/24, gateway: r1, access: [s1:GigabitEthernet1/0/12]}
"""


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSwitch]:
    fake = FakeSwitch(tmp_path_factory.mktemp("fakeswitch"))
    yield fake
    fake.stop()


@pytest.fixture
def site(tmp_path: Path, switch: FakeSwitch, monkeypatch: pytest.MonkeyPatch) -> SiteDir:
    monkeypatch.setenv("S1_PASSWORD", PASSWORD)
    monkeypatch.setenv("S1_ENABLE", ENABLE)
    site = SiteDir(tmp_path)
    site.write("inventory.yaml", f"""\
        all:
          hosts:
            r1: {{platform: linux, netns: nm-r1}}
            s1: {{platform: ios, driver: netmiko, host: 127.0.0.1, port: {switch.port}, username: admin,
                  password_env: S1_PASSWORD, enable_secret_env: S1_ENABLE}}
        """)
    site.write("topology.yaml", "links:\n  - {a: r1:eth1, b: s1:GigabitEthernet1/0/1, bandwidth: 1Gbps}\n")
    site.write("site.yaml", SITE)
    site.write("known_hosts", switch.known_hosts_line())
    return site


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
