"""Shared by the Netmiko tests and the driver contract suite: the emulated IOS switch, and a site
whose ``s1`` is that switch (reached over real SSH on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SiteDir
from tests.fakeswitch import ENABLE, PASSWORD, FakeSwitch

NETMIKO_SITE = """\
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
def netmiko_site(tmp_path: Path, switch: FakeSwitch, monkeypatch: pytest.MonkeyPatch) -> SiteDir:
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
    site.write("site.yaml", NETMIKO_SITE)
    site.write("known_hosts", switch.known_hosts_line())
    return site
