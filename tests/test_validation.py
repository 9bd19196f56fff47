"""Every validation error class, with the line and column it points at, all in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ValidationError
from engine.loader import load_site
from tests.conftest import SiteDir, run_intent


def at(path: Path, line: int, token: str) -> str:
    """``FILE:LINE:COL`` of the first ``token`` on 1-based ``line`` of ``path``."""
    text = path.read_text().splitlines()[line - 1]
    assert token in text, f"{token!r} not on line {line}: {text!r}"
    return f"{path}:{line}:{text.index(token) + 1}"


def problems(site: Path, **kwargs: bool) -> list[str]:
    with pytest.raises(ValidationError) as info:
        load_site(site, **kwargs)
    return info.value.lines()


def test_valid_site_loads(site_dir: SiteDir) -> None:
    site = load_site(site_dir.site)
    assert [i.name for i in site.intents] == ["users", "video", "video-10-20"]
    assert sorted(site.devices) == ["acc1", "acc2", "core1"]
    assert site.links[0].bandwidth_bps == 10**9


def test_kept_documents_leave_the_site_as_it_is(site_dir: SiteDir) -> None:
    """``keep`` (the CLI's: it ends without freeing them) takes the three documents read; the site is the same."""
    from engine.yamlsrc import SourceDoc

    kept: list[object] = []
    site = load_site(site_dir.site, keep=kept)
    assert site == load_site(site_dir.site)
    documents = [each for each in kept if isinstance(each, SourceDoc)]
    assert sorted(doc.path.name for doc in documents) == ["inventory.yaml", "site.yaml", "topology.yaml"]
    site_dir.write("topology.yaml", "links: 3\n")
    refused: list[object] = []
    with pytest.raises(ValidationError):
        load_site(site_dir.site, keep=refused)
    assert refused == []  # a site refused keeps nothing


def test_every_semantic_error_in_one_run_with_its_position(site_dir: SiteDir) -> None:
    site_dir.write("site.yaml", """\
        site: lab
        inventory: inventory.yaml
        topology: topology.yaml
        intents:
          - name: users
            vlan: {id: 10, subnet: 10.10.0.5/24, gateway: core9, access: [acc1:eth3, nope:eth1]}
          - name: users
            vlan: {id: 21, subnet: 10.21.0.0/24, gateway: core1}
          - name: video
            vlan: {id: 20, subnet: 10.20.0.0/24, gateway: core1, access: [acc2:eth3]}
          - name: again
            vlan: {id: 20, subnet: 10.20.0.0/25, gateway: core1, access: [core1:eth1]}
          - name: video-10-77
            qos_guarantee:
              between: [{vlan: 10}, {vlan: 77}]
              rate: 100MB/s
          - name: cap
            qos_limit: {vlan: 99, rate: 20Mbps}
        """)
    lines = problems(site_dir.site)
    site = site_dir.site
    expected = [
        f"{at(site, 6, '10.10.0.5/24')}: subnet 10.10.0.5/24 has host bits set; did you mean 10.10.0.0/24?",
        f"{at(site, 6, 'core9')}: gateway 'core9' is not in the inventory",
        f"{at(site, 6, 'nope:eth1')}: access port nope:eth1: device 'nope' is not in the inventory",
        f"{at(site, 7, 'users')}: duplicate intent name 'users' (first at item 1)",
        f"{at(site, 12, '20')}: VLAN 20 is already defined by intent 'video'",
        f"{at(site, 12, '10.20.0.0/25')}: subnet 10.20.0.0/25 overlaps 10.20.0.0/24 of VLAN 20 (video)",
        f"{at(site, 12, 'core1:eth1')}: access port core1:eth1 is a topology link, not a host port",
        f"{at(site, 16, '100MB/s')}: invalid bandwidth '100MB/s': that is bytes per second (capital B); rates are in bits per second: write 800Mbps",
        f"{at(site, 18, '99')}: VLAN 99 is not defined by any vlan intent in this site",
    ]
    assert lines == sorted(expected, key=lambda line: [int(p) if p.isdigit() else 0 for p in line.split(":")[1:3]])


def test_schema_errors_point_at_the_key(site_dir: SiteDir) -> None:
    site_dir.write("site.yaml", """\
        site: Lab_1
        inventory: inventory.yaml
        topology: topology.yaml
        colour: blue
        intents:
          - name: users
            vlan: {id: 5000, subnet: 10.10.0.0/24, gateway: core1}
          - name: two-kinds
            vlan: {id: 11, subnet: 10.11.0.0/24, gateway: core1}
            qos_limit: {vlan: 11, rate: 1Mbps}
          - name: unknown-kind
            firewall: {}
          - name: missing-rate
            qos_guarantee: {between: [{vlan: 10}, {vlan: 11}]}
          - name: typo
            qos_limit: {vlan: 10, rate: 1Mbps, burst: 10}
        """)
    lines = problems(site_dir.site)
    site = site_dir.site
    assert lines == [
        f"{at(site, 1, 'Lab_1')}: site name 'Lab_1': use only lowercase letters, digits and '-', starting with a letter or digit",
        f"{at(site, 4, 'colour')}: unknown key 'colour' (allowed: defaults, intents, inventory, site, topology)",
        f"{at(site, 7, '5000')}: id: 5000 is out of range (maximum 4094)",
        f"{at(site, 8, 'name: two-kinds')}: intent 'two-kinds' has 2 kinds (vlan, qos_limit); write exactly one per intent",
        f"{at(site, 12, 'firewall')}: unknown intent kind 'firewall' (known: isolate, qos_guarantee, qos_limit, qos_share, vlan)",
        f"{at(site, 14, '{between')}: missing required key 'rate'",
        f"{at(site, 16, 'burst')}: unknown key 'burst' (allowed: rate, vlan)",
    ]


def test_topology_errors(site_dir: SiteDir) -> None:
    site_dir.write("topology.yaml", """\
        links:
          - {a: core1:eth1, b: acc1:eth0, bandwidth: 1Gbps}
          - {a: core1:eth1, b: acc2:eth0, bandwidth: 1 gigabit}
          - {a: core1:eth5, b: ghost:eth0, bandwidth: 1Gbps}
          - {a: acc1:eth7, b: acc1:eth8, bandwidth: 1Gbps}
        """)
    lines = problems(site_dir.site)
    topo = site_dir.root / "topology.yaml"
    assert f"{at(topo, 3, 'core1:eth1')}: interface core1:eth1 is already used by link 1" in lines
    assert any(line.startswith(f"{at(topo, 3, '1 gigabit')}: invalid bandwidth '1 gigabit'") for line in lines)
    assert f"{at(topo, 4, 'ghost:eth0')}: link to unknown device 'ghost': it is not in the inventory" in lines
    assert f"{at(topo, 5, '{a:')}: link acc1:eth7 -- acc1:eth8 connects acc1 to itself" in lines
    assert len(lines) == 4


def test_declared_interfaces_catch_unknown_interfaces(site_dir: SiteDir) -> None:
    site_dir.write("inventory.yaml", """\
        all:
          vars: {platform: linux}
          hosts:
            core1: {netns: core1, interfaces: [eth1, eth2]}
            acc1: {netns: acc1, interfaces: [eth0, eth3]}
            acc2: {netns: acc2, interfaces: [eth0]}
        """)
    lines = problems(site_dir.site)
    assert lines == [f"{at(site_dir.site, 8, 'acc2:eth3')}: access port acc2:eth3: acc2 has no interface 'eth3' (known: eth0)"]


def test_plaintext_and_vaulted_secrets_are_refused(site_dir: SiteDir) -> None:
    site_dir.write("inventory.yaml", """\
        all:
          vars: {platform: linux}
          children:
            core:
              vars:
                ansible_password: hunter2
              hosts:
                core1: {netns: core1}
            access:
              hosts:
                acc1:
                  netns: acc1
                  password: !vault |
                    $ANSIBLE_VAULT;1.1;AES256
                    6231
                acc2: {netns: acc2, ansible_password: "{{ lookup('env', 'ACC2_PW') }}"}
        """)
    lines = problems(site_dir.site)
    inv = site_dir.root / "inventory.yaml"
    assert lines == [
        f"{at(inv, 6, 'hunter2')}: host core1: plaintext ansible_password refused; use password_env: VARIABLE "
        "(or --allow-plaintext-secrets)",
        f"{at(inv, 13, '!vault')}: host acc1: password is ansible-vault encrypted, which intent cannot decrypt; "
        "use password_env: VARIABLE instead",
    ]
    assert not any("hunter2" in line for line in lines)
    site_dir.write("inventory.yaml", (site_dir.root / "inventory.yaml").read_text().replace(
        "password: !vault |\n            $ANSIBLE_VAULT;1.1;AES256\n            6231", "password_env: ACC1_PW"))
    site = load_site(site_dir.site, allow_plaintext_secrets=True)
    assert site.devices["core1"].password == "hunter2"
    assert "hunter2" not in repr(site.devices["core1"])
    assert site.devices["acc2"].password_env == "ACC2_PW" and site.devices["acc2"].password is None


def test_yaml_syntax_error_and_duplicate_keys(site_dir: SiteDir) -> None:
    site_dir.write("site.yaml", "site: lab\ninventory: inventory.yaml\n  topology: [\n")
    (line,) = problems(site_dir.site)
    assert line.startswith(f"{site_dir.site}:3:") and "invalid YAML" in line
    site_dir.write("topology.yaml", "links: []\nlinks: []\n")
    site_dir.write("site.yaml", "site: lab\ninventory: inventory.yaml\ntopology: topology.yaml\nintents: []\n")
    assert f"{site_dir.root / 'topology.yaml'}:2:1: duplicate key 'links'" in problems(site_dir.site)


def test_unsafe_yaml_tags_are_refused(site_dir: SiteDir) -> None:
    site_dir.write("site.yaml", "site: !!python/object/apply:os.system ['echo pwned']\n")
    assert problems(site_dir.site) == [
        f"{site_dir.site}:1:7: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system': only plain YAML is read"
    ]
    site_dir.write("site.yaml", "site: !!python/name:os.system\n")
    assert "unsupported YAML tag" in problems(site_dir.site)[0]


def test_missing_files_are_reported_where_they_are_named(site_dir: SiteDir) -> None:
    site_dir.write("site.yaml", "site: lab\ninventory: inv.yaml\ntopology: topo.yaml\nintents: []\n")
    lines = problems(site_dir.site)
    assert f"{site_dir.root / 'inv.yaml'}:1:1: file not found" in lines
    assert f"{site_dir.root / 'topo.yaml'}:1:1: file not found" in lines


def test_cli_validate_reports_all_errors_and_exits_1_without_traceback(site_dir: SiteDir) -> None:
    site_dir.write("topology.yaml", "links:\n  - {a: core1:eth1, b: ghost:eth0, bandwidth: 1Gbps}\n")
    site_dir.write("site.yaml", site_dir.site.read_text().replace("rate: 100Mbps", "rate: lots"))
    result = run_intent("validate", str(site_dir.site))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    err = result.stderr.splitlines()
    assert any(line.startswith(f"{site_dir.root / 'topology.yaml'}:2:") and "ghost" in line for line in err)
    assert any(line.startswith(f"{site_dir.site}:10:62:") and "invalid rate 'lots'" in line for line in err)


def test_cli_validate_ok(site_dir: SiteDir) -> None:
    result = run_intent("validate", str(site_dir.site))
    assert result.returncode == 0, result.stderr
    assert "valid (3 intents, 3 devices, 2 links, 4 reserved interfaces)" in result.stdout


def test_cli_validates_several_sites_and_fails_if_any_fails(site_dir: SiteDir) -> None:
    result = run_intent("validate", str(site_dir.site), "/nonexistent/site.yaml", str(site_dir.site))
    assert result.returncode == 1
    assert result.stdout.count("valid (3 intents") == 2
    assert "/nonexistent/site.yaml:1:1: file not found" in result.stderr


def test_cli_missing_site_file() -> None:
    result = run_intent("validate", "/nonexistent/site.yaml")
    assert result.returncode == 1
    assert result.stderr.strip() == "/nonexistent/site.yaml:1:1: file not found"
