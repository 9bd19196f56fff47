"""An existing Ansible YAML inventory loads as it is."""

from engine.loader import load_site
from tests.conftest import SiteDir


def test_groups_inherited_vars_and_ansible_aliases(site_dir: SiteDir) -> None:
    site_dir.write("inventory.yaml", """\
        all:
          vars:
            ansible_user: admin            # inherited by everyone
            password_env: NET_PW
            site_contact: noc@example.net  # unknown vars are kept, not refused
          children:
            linux:
              vars: {platform: linux}
              hosts:
                core1: {netns: core1}
                acc1: {netns: acc1}
                acc2: {netns: acc2, ansible_user: root}     # host var beats group var
            network:
              vars: {ansible_port: 2222}
              children:
                cisco:
                  vars: {ansible_network_os: cisco.ios.ios}
                  hosts:
                    sw1: {ansible_host: 192.0.2.21}
                    sw9:                                    # no address: the name is the address
                arista:
                  vars: {ansible_network_os: arista.eos.eos, ansible_port: 22}  # deeper group wins
                  hosts:
                    sw2: {ansible_host: 192.0.2.22, driver: netmiko}
                juniper:
                  vars: {ansible_network_os: junipernetworks.junos.junos}
                  hosts:
                    mx1: {host: 192.0.2.31}
                nexus:
                  vars: {ansible_network_os: nxos}
                  hosts:
                    nx1:
        """)
    devices = load_site(site_dir.site).devices
    assert devices["acc1"].username == "admin" and devices["acc2"].username == "root"
    assert devices["core1"].platform == "linux" and devices["core1"].driver == "linux"
    assert devices["core1"].netns == "core1" and devices["core1"].host is None
    sw1 = devices["sw1"]
    assert (sw1.platform, sw1.driver, sw1.host, sw1.port) == ("ios", "napalm", "192.0.2.21", 2222)
    assert devices["sw9"].host == "sw9"
    sw2 = devices["sw2"]
    assert (sw2.platform, sw2.driver, sw2.port) == ("eos", "netmiko", 22)
    assert devices["mx1"].platform == "junos" and devices["mx1"].host == "192.0.2.31"
    assert devices["nx1"].platform == "nxos"
    assert set(devices["sw1"].groups) == {"cisco", "network"}
    assert ("site_contact", "noc@example.net") in devices["sw1"].extra
    assert all(d.password_env == "NET_PW" for d in devices.values())


def test_inventory_errors(site_dir: SiteDir) -> None:
    import pytest

    from engine.errors import ValidationError

    site_dir.write("inventory.yaml", """\
        all:
          hosts:
            core1: {netns: core1}
            acc1: {platform: linux, driver: napalm}
            acc2: {ansible_network_os: vyos.vyos.vyos}
            sw1: {platform: ios, driver: linux}
            sw2: {platform: cumulus}
            sw3: {platform: ios, driver: acme_ssh}
            sw4: {platform: "IOS!", driver: "net miko"}
        """)
    with pytest.raises(ValidationError) as info:
        load_site(site_dir.site)
    text = "\n".join(info.value.lines())
    assert "host core1: no platform; set platform (eos, ios, junos, linux, nxos) or ansible_network_os" in text
    assert "host acc1: driver napalm cannot manage platform linux" in text
    assert "host acc2: unsupported ansible_network_os 'vyos.vyos.vyos'" in text
    assert "host sw1: driver linux cannot manage platform ios" in text
    inventory = site_dir.root / "inventory.yaml"
    lines = inventory.read_text().splitlines()
    # platforms are the directories of templates/, drivers the names of the DriverRegistry
    assert (f"{inventory}:7:{lines[6].index('cumulus') + 1}: host sw2: platform 'cumulus' is not one of "
            "eos, ios, junos, linux, nxos (the directories of templates/)") in text
    assert (f"{inventory}:8:{lines[7].index('acme_ssh') + 1}: host sw3: driver 'acme_ssh' is not installed "
            "(installed drivers: linux, napalm, netmiko; a driver is registered in the intent_engine.drivers "
            "entry-point group of its distribution)") in text
    # a value not of the form of a name is the schema's to report, once
    assert f"{inventory}:9:{lines[8].index('IOS!')}: all.hosts.sw4.platform: 'IOS!' does not match" in text
    assert "all.hosts.sw4.driver: 'net miko' does not match" in text
    assert "host sw4" not in text
    assert "not in the inventory" not in text  # hosts with errors of their own cause no cascade
