"""Platform differences are data: no string in engine/ or intents/ names a platform; each difference
is a field of templates/<platform>/platform.yaml (or, for the lab, of a kind), and changing the field
changes the behaviour."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine import identifiers, inventory, platforms
from engine.errors import IntentError

ROOT = Path(__file__).resolve().parent.parent
# The platforms, as the contract lists them (CONTRACT §2), not as the code under test finds them.
PLATFORM_NAMES = {"linux", "ios", "eos", "junos", "nxos"}
# String literals allowed to name a platform: (file, line) -> why. Keep it empty.
ALLOWED: dict[tuple[str, int], str] = {}


def platform_literals(root: Path, packages: tuple[str, ...] = ("engine", "intents")) -> list[str]:
    """Every string constant (f-string parts included; comments are not in the tree) that is exactly
    a platform's name, as ``file:line: 'name'``."""
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and node.value.lower() in PLATFORM_NAMES:
                    where = (str(path.relative_to(root)), node.lineno)
                    if where not in ALLOWED:
                        found.append(f"{where[0]}:{where[1]}: {node.value!r}")
    return sorted(found)


def test_no_platform_is_named_in_the_engine_or_the_kinds() -> None:
    found = platform_literals(ROOT)
    assert found == [], "platform names in code (make them a platform.yaml field):\n" + "\n".join(found)


def test_the_check_finds_a_platform_branch(tmp_path: Path) -> None:
    (tmp_path / "engine").mkdir()
    (tmp_path / "intents").mkdir()
    (tmp_path / "engine" / "a.py").write_text(
        '# a comment naming "linux" is not code\n'
        'def rule(platform):\n    return 15 if platform == "linux" else 64\n'
        'TABLE = {"nxos": 1}\nNOTE = f"{1} eos"\nTEXT = "ios devices"\n')
    (tmp_path / "intents" / "k.py").write_text('KEY = ("napalm", "JUNOS")\n')
    assert platform_literals(tmp_path) == ["engine/a.py:3: 'linux'", "engine/a.py:4: 'nxos'", "intents/k.py:1: 'JUNOS'"]


def test_the_platforms_are_the_template_directories() -> None:
    assert set(platforms.known_platforms()) == PLATFORM_NAMES
    aliases = platforms.network_os_aliases()
    assert aliases["cisco.ios.ios"] == "ios" and aliases["junipernetworks.junos.junos"] == "junos"
    assert aliases["arista.eos"] == "eos" and aliases["cisco.nxos.nxos"] == "nxos" and aliases["linux"] == "linux"
    with pytest.raises(IntentError, match="no templates for platform 'vyos'"):
        platforms.platform_data("vyos")


Change = Callable[[str, str, object], None]


@pytest.fixture
def change(monkeypatch: pytest.MonkeyPatch) -> Iterator[Change]:
    """``change(platform, field, value)``: as if templates/<platform>/platform.yaml said so (None:
    the field is gone). Every reader asks platform_data, so every cache of what it read is dropped."""
    data = {name: dict(platforms.platform_data(name)) for name in platforms.known_platforms()}
    caches = (identifiers.interface_rule, identifiers.platform_tokens, inventory._connection_rows,
              platforms.network_os_aliases)

    def read(name: str) -> dict[str, object]:
        return data[name]

    for module in (platforms, identifiers, inventory):
        monkeypatch.setattr(module, "platform_data", read)

    def apply(platform: str, field: str, value: object) -> None:
        if value is None:
            data[platform].pop(field, None)
        else:
            data[platform][field] = value
        for cached in caches:
            cached.cache_clear()

    yield apply
    for cached in caches:
        cached.cache_clear()


def test_interface_names_follow_the_platform_yaml(change: Change) -> None:
    too_long = "br-0123456789abc"  # 16 bytes: more than a Linux kernel takes
    assert "longer than 15 characters" in (identifiers.interface_problem("linux", too_long) or "")
    assert "no '/'" in (identifiers.interface_problem("linux", "eth0/1") or "")
    assert identifiers.interface_problem("ios", "GigabitEthernet1/0/1") is None
    change("ios", "identifiers", {"interface": {"what": "IOS port", "max_length": 8}})
    assert identifiers.interface_problem("ios", "GigabitEthernet1/0/1") == \
        "IOS port 'GigabitEthernet1/0/1' is longer than 8 characters"
    change("linux", "identifiers", None)
    # the generic name rule takes '/', then the platform's tokens: (what a line may hold) still refuse it
    assert identifiers.interface_problem("linux", "eth0/1") == \
        "'eth0/1' is not a linux interface (allowed: [A-Za-z0-9_.-]{1,15})"
    change("linux", "tokens", None)
    assert identifiers.interface_problem("linux", "eth0/1") is None


def test_ansible_connection_follows_the_platform_yaml(change: Change) -> None:
    assert inventory.connection_driver("ansible.netcommon.netconf", "junos") == ("napalm", None)
    assert "cannot reach platform ios (it reaches: junos)" in (inventory.connection_driver("netconf", "ios")[1] or "")
    change("ios", "ansible_connection", {"netconf": "netmiko"})
    assert inventory.connection_driver("netconf", "ios") == ("netmiko", None)
    assert "cannot reach platform ios" in (inventory.connection_driver("network_cli", "ios")[1] or "")


def test_network_os_aliases_are_claimed_once(change: Change) -> None:
    change("eos", "network_os", ["cisco.ios.ios"])
    with pytest.raises(IntentError, match="'cisco.ios.ios' is claimed by platforms eos and ios"):
        platforms.network_os_aliases()


def test_remediation_and_commit_confirm_come_from_the_platform_yaml() -> None:
    from engine import remediate
    from engine.plan import _device_plan
    from engine.render import DeviceConfig, platform_spec
    from engine.secrets import SecretMasker

    assert {name: platform_spec(name).raw["remediation"]["hier_config"] for name in ("ios", "eos", "nxos", "junos")} \
        == {"ios": "CISCO_IOS", "eos": "ARISTA_EOS", "nxos": "CISCO_NXOS", "junos": "JUNIPER_JUNOS"}
    assert type(remediate.hier_driver("nxos")).__name__ == "HConfigDriverCiscoNXOS"
    config = DeviceConfig("sw1", "nxos", "vlan 10\n name users\n")
    notes = {driver: _device_plan(config, "", SecretMasker(), "DIR", driver).notes for driver in ("napalm", "netmiko")}
    assert platform_spec("nxos").raw["commit_confirm"]["napalm"] in notes["napalm"]
    assert "commit-confirm is a detached reverter restoring the snapshot (CLI devices have no candidate)" \
        in notes["netmiko"]
    eos = _device_plan(DeviceConfig("sw2", "eos", "vlan 10\n   name users\n"), "", SecretMasker(), "DIR", "napalm")
    assert not any("commit-confirm" in note for note in eos.notes)  # NAPALM's own on EOS: nothing to say


def test_the_lab_hosts_come_from_the_kinds() -> None:
    """engine.labspec names no kind: the vlan kind's lab_hosts puts a host behind each access port, a
    registry without it gives a lab without hosts, and any kind with lab_hosts adds its own."""
    from engine.checks import Host
    from engine.labspec import lab_spec
    from engine.loader import load_site
    from engine.model import Intent
    from intents.registry import BUILTIN, Registry

    site = load_site(ROOT / "examples" / "lab" / "site.yaml")
    assert [(h.netns, h.device_netns, h.address, h.gateway, h.vlan) for h in lab_spec(site).hosts] == [
        ("h-acc1-eth3", "lab-acc1", "10.10.0.2/24", "10.10.0.1", 10),
        ("h-acc2-eth3", "lab-acc2", "10.20.0.2/24", "10.20.0.1", 20),
        ("h-core1-eth3", "lab-core1", "10.30.0.2/24", "10.30.0.1", 30)]
    without_vlan = Registry({key: kind for key, kind in BUILTIN.items() if key != "vlan"}, plugins=False)
    assert lab_spec(site, registry=without_vlan).hosts == ()

    class Sensors:  # a kind of its own that wants one sensor host per lab device
        key, order, schema = "qos_limit", 50, {}

        def lab_hosts(self, intents: list[Intent], lab: dict[str, str]) -> list[Host]:
            return [Host(f"s-{device}", netns, "eth9", "192.0.2.1/32", "192.0.2.1", 0) for device, netns in lab.items()]

    sensors = Registry({"qos_limit": Sensors()}, plugins=False)  # type: ignore[dict-item]
    assert sorted(h.netns for h in lab_spec(site, registry=sensors).hosts) == ["s-acc1", "s-acc2", "s-core1"]


def test_the_graph_knows_segments_not_the_vlan_kind() -> None:
    """A kind of its own whose intents have a segment's shape (engine.build.Segment) is drawn like the
    vlan kind's: its gateway a gateway, its ports' devices access devices."""
    import dataclasses
    import ipaddress

    from engine.build import Segment
    from engine.graph import roles
    from engine.loader import load_site
    from engine.model import Endpoint, Intent

    @dataclasses.dataclass(frozen=True)
    class Subnet(Intent):
        id: int
        vlan_name: str
        subnet: ipaddress.IPv4Network
        gateway: str
        access: tuple[Endpoint, ...]

        @property
        def gateway_address(self) -> ipaddress.IPv4Address:
            return self.subnet.network_address + 1

    site = load_site(ROOT / "examples" / "lab" / "site.yaml")
    assert roles(site) == {"acc1": "access", "acc2": "access", "core1": "gateway"}
    others = tuple(i for i in site.intents if i.kind != "vlan")
    assert set(roles(dataclasses.replace(site, intents=others)).values()) == {"transit"}
    subnet = Subnet("lab-net", "acme_subnet", 40, "lab", ipaddress.IPv4Network("10.40.0.0/24"), "acc2",
                    (Endpoint("acc1", "eth3"),))
    assert isinstance(subnet, Segment)
    assert roles(dataclasses.replace(site, intents=(*others, subnet))) == {
        "acc1": "access", "acc2": "gateway", "core1": "transit"}
