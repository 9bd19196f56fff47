"""Real inventory shapes load as Ansible loads them; the oracle is `ansible-inventory --list` itself.

tests/inventories/ holds five inventories written in the shapes of real projects (see each
README.md): Arista AVD's single-dc-l3ls example, an INI campus inventory with vaulted variables,
a multi-site YAML inventory with host_vars directories and priorities, an INI branch inventory
(hosts before any section, host:port, step ranges) and a YAML data-centre one (host:port, merge
keys, !unsafe, nested group_vars directories). For every host, the
variables intent computes (before resolving references, as ansible-inventory prints them) must
equal what ansible-inventory prints. ansible-core is a dev dependency, run as a program.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine import inventory
from engine.errors import ConnectError, ValidationError
from engine.loader import load_inventory
from engine.yamlsrc import Unsafe, Vaulted

HERE = Path(__file__).parent / "inventories"
INVENTORIES = [HERE / "avd-l3ls" / "inventory.yml", HERE / "campus-ini" / "hosts", HERE / "multisite" / "inventory.yaml",
               HERE / "branch-ini" / "hosts.ini", HERE / "dc-yaml" / "inventory.yml"]
ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"


def ansible_hostvars(path: Path, tmp_path: Path) -> dict[str, dict[str, Any]]:
    assert ANSIBLE_INVENTORY.exists(), "ansible-core is in the dev extras: make install"
    env = {**os.environ, "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"), "HOME": str(tmp_path),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    result = subprocess.run([str(ANSIBLE_INVENTORY), "-i", str(path), "--list"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    hostvars: dict[str, dict[str, Any]] = json.loads(result.stdout)["_meta"]["hostvars"]
    return hostvars


def jsonable(value: Any) -> Any:
    if isinstance(value, Vaulted):
        return {"__ansible_vault": str(value)}
    if isinstance(value, Unsafe):
        return {"__ansible_unsafe": str(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def our_hostvars(path: Path) -> dict[str, dict[str, Any]]:
    problems: list[Any] = []
    _, hosts = inventory.collect(inventory.read(path), problems)
    assert not problems
    return {name: {key: jsonable(value) for key, (_, value) in host.merged.items()} for name, host in hosts.items()}


@pytest.mark.parametrize("path", INVENTORIES, ids=[p.parent.name for p in INVENTORIES])
def test_host_variables_are_what_ansible_inventory_says(path: Path, tmp_path: Path) -> None:
    theirs = ansible_hostvars(path, tmp_path)
    ours = our_hostvars(path)
    assert sorted(ours) == sorted(theirs)
    for host in theirs:
        assert ours[host] == theirs[host], host
    assert len(theirs) >= 6


def test_avd_example_shape_loads_every_switch_from_group_vars_directories() -> None:
    path = INVENTORIES[0]
    with pytest.raises(ValidationError) as info:
        load_inventory(path)
    message = str(info.value)
    assert "group_vars/FABRIC/connection.yml:7:" in message and "plaintext ansible_password refused" in message
    assert "no platform" not in message  # ansible_network_os comes from group_vars/FABRIC/
    devices = load_inventory(path, allow_plaintext_secrets=True)
    assert len(devices) == 8 and {d.platform for d in devices.values()} == {"eos"}
    leaf = devices["lab-leaf1a"]
    assert (leaf.host, leaf.username, leaf.driver, leaf.become) == ("192.0.2.101", "automation", "napalm", True)
    assert ("tls_verify", False) in leaf.extra  # ansible_httpapi_validate_certs: false
    assert set(leaf.groups) >= {"FABRIC", "DC1", "DC1_L3_LEAVES", "NETWORK_SERVICES", "CONNECTED_ENDPOINTS"}
    # group_vars/DC1/ is a directory, so Ansible (and intent) never read group_vars/DC1.yml beside it
    assert "dc_name" not in dict(leaf.extra)


def test_ini_inventory_with_a_vaulted_password_reference(tmp_path: Path) -> None:
    path = INVENTORIES[1]
    with pytest.raises(ValidationError) as info:
        load_inventory(path)
    message = str(info.value)
    assert "group_vars/network/vault.yml:3:" in message  # where the secret is, through the reference
    assert "ansible-vault encrypted, which intent cannot decrypt" in message and "plaintext" not in message
    copy = tmp_path / "campus"
    shutil.copytree(path.parent, copy)
    hosts = copy / "hosts"
    hosts.write_text(hosts.read_text().replace('ansible_password="{{ vault_net_password }}"', "password_env=CAMPUS_PW"))
    devices = load_inventory(hosts)
    assert sorted(devices) == ["bldg1-acc01", "bldg1-acc02", "bldg1-acc03", "bldg1-dist", "bldg2-acc01",
                               "bldg3-ex01", "dc-n9k01"]
    assert devices["bldg1-acc02"].platform == "ios" and devices["bldg1-acc02"].host == "bldg1-acc02"
    assert (devices["bldg1-dist"].host, devices["bldg1-dist"].port) == ("198.51.100.11", 2222)  # host_vars win
    assert (devices["bldg3-ex01"].platform, devices["bldg3-ex01"].port) == ("junos", 830)
    assert devices["dc-n9k01"].platform == "nxos" and devices["dc-n9k01"].become is True
    assert all(d.password_env == "CAMPUS_PW" and d.password is None for d in devices.values())
    assert dict(devices["bldg1-dist"].extra)["snmp_location"] == "Campus, building 1"  # resolved from host_vars


def test_an_undefined_password_reference_is_asked_for_at_connect_time(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = load_inventory(INVENTORIES[2])
    assert sorted(devices) == ["acc-a1", "acc-a2", "acc-a3", "core-a1", "core-a2", "core-f1"]
    assert devices["acc-a2"].host == "acc-a2.oob.example.net"  # {{ inventory_hostname }}.{{ mgmt_domain }}
    assert devices["core-a1"].host == "203.0.113.1" and devices["core-a1"].platform == "junos"
    assert devices["acc-a3"].platform == "ios"
    assert dict(devices["core-f1"].extra)["role"] == "core"  # ansible_group_priority beats the name order
    assert all(d.password is None and d.password_env == "vault_password" for d in devices.values())
    from drivers.ssh import password_for

    monkeypatch.delenv("vault_password", raising=False)
    with pytest.raises(ConnectError, match="no password: set the environment variable vault_password"):
        password_for(devices["core-a1"])  # no prompt (a pipeline): an error naming the variable
    asked: list[str] = []
    assert password_for(devices["core-a1"], lambda label: asked.append(label) or "typed") == "typed"
    assert asked == ["password for svc-netauto@core-a1 ($vault_password): "]


def test_host_ranges_and_ini_values() -> None:
    assert inventory.expand("leaf[01:03]") == ["leaf01", "leaf02", "leaf03"]
    assert inventory.expand("sw[a:c]-[1:2]") == ["swa-1", "swa-2", "swb-1", "swb-2", "swc-1", "swc-2"]
    assert inventory.ini_value("22") == 22 and inventory.ini_value("FALSE") == "FALSE"
    assert inventory.ini_value('"{{ x }}"') == "{{ x }}" and inventory.ini_value("10.0.0.1") == "10.0.0.1"


def test_ansible_connection_of_the_real_inventories_picks_their_drivers(tmp_path: Path) -> None:
    copy = tmp_path / "campus"
    shutil.copytree(INVENTORIES[1].parent, copy)
    hosts = copy / "hosts"
    hosts.write_text(hosts.read_text().replace('ansible_password="{{ vault_net_password }}"', "password_env=CAMPUS_PW"))
    devices = load_inventory(hosts)
    # [network:vars] says network_cli (the CLI over SSH); [junos:vars] overrides it with netconf.
    assert {name: d.driver for name, d in devices.items() if name != "bldg3-ex01"} == dict.fromkeys(
        ["bldg1-acc01", "bldg1-acc02", "bldg1-acc03", "bldg1-dist", "bldg2-acc01", "dc-n9k01"], "netmiko")
    assert devices["bldg3-ex01"].driver == "napalm"


@pytest.mark.parametrize(("connection", "network_os", "driver"), [
    ("ansible.netcommon.network_cli", "cisco.ios.ios", "netmiko"),
    ("network_cli", "arista.eos.eos", "netmiko"),
    ("network_cli", "junipernetworks.junos.junos", "netmiko"),
    ("ansible.netcommon.network_cli", "cisco.nxos.nxos", "netmiko"),
    ("ansible.netcommon.netconf", "junipernetworks.junos.junos", "napalm"),
    ("netconf", "junos", "napalm"),
    ("ansible.netcommon.httpapi", "arista.eos.eos", "napalm"),
    ("httpapi", "nxos", "napalm"),
    ("napalm", "ios", "napalm"),
    ("local", "eos", "napalm"),            # a module that connects by itself: the platform's default
    ("ssh", "ios", "netmiko"),
    ("ansible.builtin.paramiko_ssh", "eos", "netmiko"),
    ("ssh", "linux", "linux"),
    ("ansible.builtin.local", "linux", "linux"),
])
def test_ansible_connection_and_network_os_choose_driver_and_platform(connection: str, network_os: str,
                                                                      driver: str, tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(f"all:\n  hosts:\n    sw1:\n      ansible_host: 192.0.2.1\n      ansible_connection: {connection}\n"
                    f"      ansible_network_os: {network_os}\n      password_env: PW\n")
    device = load_inventory(path)["sw1"]
    assert device.driver == driver
    assert device.platform == network_os.rsplit(".", 1)[-1]


def test_an_explicit_driver_wins_over_ansible_connection(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text("all:\n  vars: {ansible_connection: ansible.netcommon.network_cli, password_env: PW}\n  hosts:\n"
                    "    sw1: {ansible_network_os: cisco.ios.ios, driver: napalm}\n"
                    "    ex1: {ansible_network_os: junos, ansible_connection: netconf, driver: netmiko}\n"
                    "    ex2: {ansible_network_os: junos, ansible_connection: httpapi, driver: napalm}\n")
    devices = load_inventory(path)
    assert (devices["sw1"].driver, devices["ex1"].driver, devices["ex2"].driver) == (
        "napalm", "netmiko", "napalm")


def test_a_connection_that_cannot_reach_the_platform_names_host_variable_and_file(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "switches.yml").write_text("---\n# reached over NETCONF\nansible_connection: "
                                                           "ansible.netcommon.netconf\n")
    path = tmp_path / "inventory.yml"
    path.write_text("all:\n  vars: {password_env: PW}\n  children:\n    switches:\n      hosts:\n"
                    "        sw1: {ansible_network_os: cisco.ios.ios}\n        ex1: {ansible_network_os: junos}\n"
                    "    servers:\n      hosts:\n        srv1: {platform: linux, ansible_connection: network_cli}\n"
                    "        srv2: {platform: linux, ansible_connection: community.docker.docker}\n")
    with pytest.raises(ValidationError) as info:
        load_inventory(path)
    message = str(info.value)
    assert "group_vars/switches.yml:3:" in message
    assert ("host sw1: ansible_connection 'ansible.netcommon.netconf' cannot reach platform ios (it reaches: junos)"
            in message)
    assert "host ex1" not in message  # NETCONF is how NAPALM reaches Junos
    assert "inventory.yml:10:" in message and "host srv1: ansible_connection 'network_cli' cannot reach platform linux" \
        in message
    assert "host srv2: unsupported ansible_connection 'community.docker.docker'" in message
    assert "Traceback" not in message


def test_hosts_before_any_section_ports_in_names_and_unsafe_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the branch and data-centre inventories hold beyond the others, as intent reads it: an INI
    file whose first line is a host, ``host:port`` in INI and YAML, ``!unsafe`` never a reference."""
    assert inventory.host_port("br1-core:2201") == ("br1-core", 2201)
    assert inventory.host_port("sw[01:03]") == ("sw[01:03]", None) and inventory.host_port("2001:db8::1") == (
        "2001:db8::1", None)
    assert inventory.host_port("[2001:db8::1]:22") == ("2001:db8::1", 22)
    assert inventory.is_ini("oob-console.example.net\n[br1]\n") and not inventory.is_ini("all:\n  hosts: {}\n")
    with pytest.raises(ValidationError) as info:
        load_inventory(INVENTORIES[3])
    message = str(info.value)
    assert "group_vars/all/10-vault.yml:2:22: host br2-core: vault_enable_secret is ansible-vault encrypted" in message
    assert "hosts.ini:3:1: host oob-console.example.net: no platform" in message
    monkeypatch.setenv("FABRIC_PW", "x")
    devices = load_inventory(INVENTORIES[4])
    assert (devices["dc1-spine2"].host, devices["dc1-spine2"].port) == ("192.0.2.12", 2443)
    assert (devices["dc2-border"].platform, devices["dc2-border"].driver, devices["dc2-border"].port) == (
        "junos", "napalm", 830)
    assert dict(devices["dc2-border"].extra)["note"] == "{{ not a template }}"
    assert devices["dc2-leaf1"].host == "dc2-leaf1.oob.dc.example.net"
    assert {d.platform for d in devices.values()} == {"eos", "nxos", "junos"}
