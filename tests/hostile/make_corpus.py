"""Writes tests/hostile/corpus/: malformed variants of one small valid site, one directory per case.

Each case breaks one thing on purpose, by editing the text of the valid files (never through the
engine): YAML syntax and encodings, parser bombs, non-string keys, names that try to start a config
line or leave a directory, wrong types and values, bad units, broken references, bad saved running
state. ``case.json`` says which file the error must point into, and for injection cases the payload
that must appear in no output and no file. Run ``python tests/hostile/make_corpus.py`` to rewrite
the corpus; tests/hostile/test_corpus.py checks the committed files are exactly what this writes.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"

SITE = """\
site: hostile
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, name: users, access: [acc1:GigabitEthernet1/0/3]}
  - name: video
    vlan: {id: 20, subnet: 10.20.0.0/24, gateway: core1, access: [acc2:ge-0/0/3]}
  - name: video-10-20
    qos_guarantee: {between: [{vlan: 10}, {vlan: 20}], rate: 100Mbps, ceil: 200Mbps}
  - name: cap
    qos_limit: {vlan: 20, rate: 50Mbps}
"""
INVENTORY = """\
all:
  vars:
    password_env: HOSTILE_PW
  children:
    linux:
      vars: {platform: linux}
      hosts:
        core1: {netns: hostile-core1}
    switches:
      hosts:
        acc1: {platform: ios, host: 192.0.2.21}
        acc2: {platform: junos, host: 192.0.2.22}
"""
TOPOLOGY = """\
links:
  - {a: core1:eth1, b: acc1:GigabitEthernet1/0/1, bandwidth: 1Gbps}
  - {a: core1:eth2, b: acc2:ge-0/0/1, bandwidth: 1Gbps}
"""
FILES = {"site.yaml": SITE, "inventory.yaml": INVENTORY, "topology.yaml": TOPOLOGY}
PAYLOAD = "username evil privilege 15 secret 0 pwned"


@dataclass
class Case:
    name: str
    files: dict[str, bytes]
    expect_file: str  # the file the error must point into
    payload: str | None = None  # injection: must appear in no output and no written file
    env: dict[str, str] = field(default_factory=dict)

    def meta(self) -> bytes:
        return (json.dumps({"expect_file": self.expect_file, "payload": self.payload, "env": self.env},
                           indent=2, sort_keys=True) + "\n").encode()


def variant(name: str, target: str, edit: Callable[[str], str | bytes], payload: str | None = None,
            env: dict[str, str] | None = None) -> Case:
    files = {file: text.encode() for file, text in FILES.items()}
    edited = edit(FILES[target])
    files[target] = edited if isinstance(edited, bytes) else edited.encode()
    return Case(name, files, target, payload, env or {})


def replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return edit


def append(extra: str) -> Callable[[str], str]:
    return lambda text: text + extra


def raw(data: bytes) -> Callable[[str], bytes]:
    return lambda text: data


def billion_laughs() -> str:
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{n}: &lol{n} [" + ", ".join([f"*lol{n - 1}"] * 10) + "]" for n in range(1, 10)]
    return "\n".join(lines) + "\n"


def merge_bomb() -> str:
    lines = ["m0: &m0 {a: 1, b: 2, c: 3}"]
    lines += [f"m{n}: &m{n} {{<<: [{', '.join([f'*m{n - 1}'] * 10)}]}}" for n in range(1, 9)]
    return "\n".join(lines) + "\n"


# -- YAML syntax, encodings and parser limits: the same breakage in each of the three files ---------
YAML_BREAKS: list[tuple[str, Callable[[str], str | bytes], dict[str, str]]] = [
    ("unclosed-flow", append("oops: [1, 2\n"), {}),
    ("unclosed-mapping", append("oops: {a: 1\n"), {}),
    ("unclosed-quote", append('oops: "never closed\n'), {}),
    ("bad-indent", append("oops:\n  a: 1\n b: 2\n"), {}),
    ("tab-indent", append("oops:\n\ta: 1\n"), {}),
    ("duplicate-key", lambda t: t + t.splitlines()[0] + "\n", {}),
    ("undefined-alias", append("oops: *nowhere\n"), {}),
    ("python-tag", append("oops: !!python/object/apply:os.system [echo pwned]\n"), {}),
    ("custom-tag", append("oops: !include /etc/passwd\n"), {}),
    ("binary-tag", append("oops: !!binary aGVsbG8=\n"), {}),
    ("bad-escape", append('oops: "\\q"\n'), {}),
    ("control-char", append("oops: a\x07b\n"), {}),
    ("escape-sequence", append("oops: \x1b[31mred\n"), {}),
    ("two-documents", append("---\nsecond: document\n"), {}),
    ("nul-byte", lambda t: t.encode() + b"oops: \x00\n", {}),
    ("latin1", lambda t: t.encode() + "oops: caf\xe9\n".encode("latin-1"), {}),
    ("invalid-utf8", lambda t: t.encode() + b"oops: \xc3\x28\n", {}),
    ("overlong-utf8", lambda t: t.encode() + b"oops: \xc0\xaf\n", {}),
    ("utf16", lambda t: t.encode("utf-16"), {}),
    ("surrogate-utf8", lambda t: t.encode() + b"oops: \xed\xa0\x80\n", {}),
    ("billion-laughs", append(billion_laughs()), {}),
    ("merge-bomb", append(merge_bomb()), {}),
    ("recursive-alias", append("oops: &loop [1, *loop]\n"), {}),
    ("deep-flow", append("oops: " + "[" * 200 + "]" * 200 + "\n"), {}),
    ("deep-block", append("oops:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(150)) + "  " * 152 + "x\n"), {}),
    ("deep-mixed", append("oops: " + "{a: [" * 60 + "1" + "]}" * 60 + "\n"), {}),
    ("integer-key", append("1234: x\n"), {}),
    ("boolean-key", append("yes: x\n"), {}),
    ("null-key", append("~: x\n"), {}),
    ("float-key", append("1.5: x\n"), {}),
    ("date-key", append("2026-01-01: x\n"), {}),
    ("list-key", append("? [a, b]\n: x\n"), {}),
    ("mapping-key", append("? {a: b}\n: x\n"), {}),
    ("bad-date", append("oops: 2026-13-45\n"), {}),
    ("huge-integer", append("oops: " + "9" * 5000 + "\n"), {}),
    ("too-big", append("padding: '" + "x" * 3000 + "'\n"), {"INTENT_MAX_YAML_BYTES": "2000"}),
    ("too-many-alias-nodes", append("a: &a [1, 2, 3, 4, 5, 6, 7, 8]\nb: [*a, *a, *a, *a, *a, *a]\n"),
     {"INTENT_MAX_YAML_ALIAS_NODES": "20"}),
    ("not-a-mapping", raw(b"- just\n- a list\n"), {}),
    ("scalar-document", raw(b"just a string\n"), {}),
]


def yaml_cases() -> Iterator[Case]:
    for target in FILES:
        stem = target.split(".")[0]
        for name, edit, env in YAML_BREAKS:
            if name == "duplicate-key" and target == "site.yaml":
                edit = append("site: again\n")
            yield variant(f"yaml-{name}-{stem}", target, edit, env=env)


# -- names: injection of a config line, path traversal, characters no platform reads -------------------
def name_cases() -> Iterator[Case]:
    nl = "\\n" + PAYLOAD  # a YAML escape: the loaded value holds a real newline, then the payload
    hosts = {  # inventory host keys (device names)
        "newline": f'"acc1{nl}"', "carriage-return": f'"acc1\\r{PAYLOAD}"', "line-separator": f'"acc1\\u2028{PAYLOAD}"',
        "next-line": f'"acc1\\x85{PAYLOAD}"', "trailing-newline": '"acc9\\n"', "slash": '"../../etc/acc9"',
        "dotdot": '"acc..9"', "dot": '"."', "backslash": '"acc\\\\9"', "space": '"acc 9"', "semicolon": '"acc9;reload"',
        "leading-dash": '"-acc9"', "unicode": '"accé9"', "zero-width": '"acc\\u200b9"', "too-long": '"' + "a" * 70 + '"',
        "empty": '""', "nul-escape": '"acc\\x009"', "tab": '"acc\\t9"',
    }
    for label, key in hosts.items():
        payload = PAYLOAD if PAYLOAD in key else None
        yield variant(f"name-device-{label}", "inventory.yaml",
                      append(f"    extra:\n      hosts:\n        {key}: {{platform: ios, host: 192.0.2.99}}\n"), payload)
    interfaces = {
        "newline": f'"acc1:Gi1{nl}"', "space": '"acc1:Gi 1"', "bang": '"acc1:Gi1!"', "quote": "\"acc1:Gi1'\"",
        "semicolon": '"acc1:Gi1;x"', "brace": '"acc1:Gi1{"', "trailing-newline": '"acc1:Gi1\\n"',
        "leading-slash": '"acc1:/Gi1"', "unicode": '"acc1:Gí1"', "question": '"acc1:Gi1?"', "too-long": '"acc1:G' + "i" * 70 + '"',
    }
    for label, endpoint in interfaces.items():
        payload = PAYLOAD if PAYLOAD in endpoint else None
        yield variant(f"name-interface-{label}", "topology.yaml",
                      replace("b: acc1:GigabitEthernet1/0/1", f"b: {endpoint}"), payload)
        yield variant(f"name-access-{label}", "site.yaml",
                      replace("access: [acc1:GigabitEthernet1/0/3]", f"access: [{endpoint}]"), payload)
    linux = {"slash": "core1:eth1/0", "long": "core1:averyveryverylongname", "colon": '"core1:eth1:0"'}
    for label, endpoint in linux.items():
        yield variant(f"name-linux-interface-{label}", "topology.yaml", replace("a: core1:eth1", f"a: {endpoint}"))
    yield variant("name-junos-interface-uppercase", "topology.yaml", replace("b: acc2:ge-0/0/1", "b: acc2:Ge-0/0/1"))
    texts = {"newline": f'"users{nl}"', "trailing-newline": '"users\\n"', "space": '"us ers"', "quote": '"us\\"ers"',
             "slash": '"us/ers"', "unicode": '"usérs"', "too-long": '"' + "u" * 50 + '"', "bang": '"users!"',
             "control": '"us\\x07ers"', "leading-dash": '"-users"'}
    for label, value in texts.items():
        payload = PAYLOAD if PAYLOAD in value else None
        yield variant(f"name-vlan-{label}", "site.yaml", replace("name: users, access", f"name: {value}, access"),
                      payload)
        yield variant(f"name-intent-{label}", "site.yaml", replace("- name: users\n", f"- name: {value}\n"), payload)
    sites = {"newline": f'"hostile{nl}"', "uppercase": "Hostile", "slash": '"../hostile"', "dot": '"."',
             "space": '"host ile"', "trailing-newline": '"hostile\\n"', "underscore": "host_ile"}
    for label, value in sites.items():
        payload = PAYLOAD if PAYLOAD in value else None
        yield variant(f"name-site-{label}", "site.yaml", replace("site: hostile", f"site: {value}"), payload)
    for label, value in {"dotdot": '".."', "slash": '"a/b"', "newline": '"ns\\nx"'}.items():
        yield variant(f"name-netns-{label}", "inventory.yaml", replace("netns: hostile-core1", f"netns: {value}"))
    yield variant("name-interfaces-list-newline", "inventory.yaml",
                  replace("{platform: ios, host: 192.0.2.21}",
                          f'{{platform: ios, host: 192.0.2.21, interfaces: ["GigabitEthernet1/0/1{nl}"]}}'), PAYLOAD)


# -- types, values, units, references -------------------------------------------------------------------
VALUE_BREAKS = [
    ("site", "site-number", "site: hostile", "site: 123"),
    ("site", "intents-string", "intents:\n  - name: users", "intents: nope\nunused:\n  - name: users"),
    ("site", "intent-not-mapping", "  - name: cap\n    qos_limit: {vlan: 20, rate: 50Mbps}\n", "  - just a string\n"),
    ("site", "vlan-id-string", "id: 10,", "id: ten,"),
    ("site", "vlan-id-zero", "id: 10,", "id: 0,"),
    ("site", "vlan-id-4095", "id: 10,", "id: 4095,"),
    ("site", "vlan-id-float", "id: 10,", "id: 10.5,"),
    ("site", "vlan-id-bool", "id: 10,", "id: true,"),
    ("site", "subnet-garbage", "subnet: 10.10.0.0/24", "subnet: ten-ten"),
    ("site", "subnet-host-bits", "subnet: 10.10.0.0/24", "subnet: 10.10.0.5/24"),
    ("site", "subnet-ipv6", "subnet: 10.10.0.0/24", "subnet: '2001:db8::/64'"),
    ("site", "subnet-number", "subnet: 10.10.0.0/24", "subnet: 42"),
    ("site", "gateway-unknown", "gateway: core1, name", "gateway: core9, name"),
    ("site", "gateway-list", "gateway: core1, name", "gateway: [core1], name"),
    ("site", "access-no-colon", "access: [acc1:GigabitEthernet1/0/3]", "access: [acc1]"),
    ("site", "access-unknown-device", "access: [acc1:GigabitEthernet1/0/3]", "access: [nope:eth1]"),
    ("site", "access-is-a-link", "access: [acc1:GigabitEthernet1/0/3]", "access: [acc1:GigabitEthernet1/0/1]"),
    ("site", "access-string", "access: [acc1:GigabitEthernet1/0/3]", "access: acc1:GigabitEthernet1/0/3"),
    ("site", "rate-words", "rate: 100Mbps", "rate: fast"),
    ("site", "rate-megabytes", "rate: 100Mbps", "rate: 100MBps"),
    ("site", "rate-megabytes-slash", "rate: 100Mbps", "rate: 100MB/s"),
    ("site", "rate-arabic-digits", "rate: 100Mbps", "rate: ١٠٠Mbps"),
    ("site", "rate-fullwidth-digits", "rate: 100Mbps", "rate: １００Mbps"),
    ("site", "rate-exponent", "rate: 100Mbps", "rate: 1e2Mbps"),
    ("site", "rate-negative", "rate: 100Mbps", "rate: -100Mbps"),
    ("site", "rate-zero", "rate: 100Mbps", "rate: 0bps"),
    ("site", "rate-fraction-bits", "rate: 100Mbps", "rate: 0.5bps"),
    ("site", "rate-number", "rate: 100Mbps", "rate: 100"),
    ("site", "rate-percent-over", "rate: 100Mbps", "rate: 120%"),
    ("site", "rate-percent-zero", "rate: 100Mbps", "rate: 0%"),
    ("site", "rate-too-many-digits", "rate: 100Mbps", "rate: " + "1" * 40 + "bps"),
    ("site", "ceil-below-rate", "ceil: 200Mbps", "ceil: 10Mbps"),
    ("site", "ceil-bytes", "ceil: 200Mbps", "ceil: 25MBps"),
    ("site", "limit-rate-bytes", "rate: 50Mbps", "rate: 50MBps"),
    ("site", "limit-unknown-vlan", "vlan: 20, rate: 50Mbps", "vlan: 99, rate: 50Mbps"),
    ("site", "between-unknown-vlan", "between: [{vlan: 10}, {vlan: 20}]", "between: [{vlan: 10}, {vlan: 77}]"),
    ("site", "between-one", "between: [{vlan: 10}, {vlan: 20}]", "between: [{vlan: 10}]"),
    ("site", "duplicate-intent", "  - name: cap\n", "  - name: users\n"),
    ("site", "unknown-kind", "    qos_limit: {vlan: 20, rate: 50Mbps}", "    firewall: {vlan: 20}"),
    ("site", "two-kinds", "    qos_limit: {vlan: 20, rate: 50Mbps}",
     "    qos_limit: {vlan: 20, rate: 50Mbps}\n    vlan: {id: 30, subnet: 10.30.0.0/24, gateway: core1}"),
    ("site", "no-kind", "  - name: cap\n    qos_limit: {vlan: 20, rate: 50Mbps}\n", "  - name: cap\n"),
    ("site", "unknown-key", "rate: 50Mbps}", "rate: 50Mbps, burst: 10}"),
    ("site", "reservable-bad", "intents:\n", "defaults: {reservable: lots}\nintents:\n"),
    ("site", "reservable-over", "intents:\n", "defaults: {reservable: 150%}\nintents:\n"),
    ("site", "transit-pool-bad", "intents:\n", "defaults: {transit_pool: 10.0.0.0/31}\nintents:\n"),
    ("site", "inventory-missing", "inventory: inventory.yaml", "inventory: nowhere.yaml"),
    ("site", "inventory-directory", "inventory: inventory.yaml", "inventory: ."),
    ("site", "inventory-dev-zero", "inventory: inventory.yaml", "inventory: /dev/zero"),
    ("site", "topology-number", "topology: topology.yaml", "topology: 5"),
    ("inventory", "platform-unknown", "{platform: ios, host: 192.0.2.21}", "{platform: ciscoish, host: 192.0.2.21}"),
    ("inventory", "network-os-unknown", "{platform: ios, host: 192.0.2.21}",
     "{ansible_network_os: vendor.os, host: 192.0.2.21}"),
    ("inventory", "driver-mismatch", "{platform: ios, host: 192.0.2.21}", "{platform: ios, driver: linux}"),
    ("inventory", "port-string", "{platform: ios, host: 192.0.2.21}", "{platform: ios, port: ssh}"),
    ("inventory", "port-range", "{platform: ios, host: 192.0.2.21}", "{platform: ios, port: 70000}"),
    ("inventory", "password-plaintext", "{platform: ios, host: 192.0.2.21}",
     "{platform: ios, ansible_password: Sup3rS3cret}"),
    ("inventory", "become-password-plaintext", "{platform: ios, host: 192.0.2.21}",
     "{platform: ios, ansible_become_password: Sup3rS3cret}"),
    ("inventory", "password-vault", "{platform: ios, host: 192.0.2.21}",
     "{platform: ios, ansible_password: !vault '$ANSIBLE_VAULT;1.1;AES256 6162'}"),
    ("inventory", "password-env-bad", "password_env: HOSTILE_PW", "password_env: 'Sup3r S3cret!'"),
    ("inventory", "no-platform", "{platform: ios, host: 192.0.2.21}", "{host: 192.0.2.21}"),
    ("inventory", "group-list", "    switches:\n      hosts:", "    switches: [acc1]\n    unused:\n      hosts:"),
    ("inventory", "hosts-list", "      hosts:\n        acc1", "      hosts: [acc1]\n      unused:\n        acc1"),
    ("inventory", "napalm-args-list", "{platform: ios, host: 192.0.2.21}",
     "{platform: ios, napalm_optional_args: [1, 2]}"),
    ("inventory", "interfaces-not-list", "{platform: ios, host: 192.0.2.21}", "{platform: ios, interfaces: Gi1}"),
    ("inventory", "undeclared-interface", "{platform: ios, host: 192.0.2.21}",
     "{platform: ios, interfaces: [GigabitEthernet1/0/9]}"),
    ("topology", "links-missing", "links:", "connections:"),
    ("topology", "links-string", "links:\n", "links: none\nunused:\n"),
    ("topology", "bandwidth-missing", ", bandwidth: 1Gbps}\n  - {a: core1:eth2", "}\n  - {a: core1:eth2"),
    ("topology", "bandwidth-bytes", "bandwidth: 1Gbps}\n  - {a: core1:eth2", "bandwidth: 1GBps}\n  - {a: core1:eth2"),
    ("topology", "bandwidth-words", "bandwidth: 1Gbps}\n  - {a: core1:eth2", "bandwidth: gigabit}\n  - {a: core1:eth2"),
    ("topology", "bandwidth-number", "bandwidth: 1Gbps}\n  - {a: core1:eth2", "bandwidth: 1000}\n  - {a: core1:eth2"),
    ("topology", "unknown-device", "a: core1:eth1", "a: core7:eth1"),
    ("topology", "self-link", "b: acc1:GigabitEthernet1/0/1", "b: core1:eth7"),
    ("topology", "interface-reused", "a: core1:eth2", "a: core1:eth1"),
    ("topology", "cost-zero", "bandwidth: 1Gbps}\n  - {a: core1:eth2", "bandwidth: 1Gbps, cost: 0}\n  - {a: core1:eth2"),
    ("topology", "subnet-bad", "bandwidth: 1Gbps}\n  - {a: core1:eth2",
     "bandwidth: 1Gbps, subnet: 10.0.0.0/24}\n  - {a: core1:eth2"),
    ("topology", "endpoint-number", "a: core1:eth1", "a: 42"),
]


# A file the site names but that cannot be read: the error is at that file (line 1), not in site.yaml.
POINTS_ELSEWHERE = {"inventory-missing": "nowhere.yaml", "inventory-directory": ".", "inventory-dev-zero": "/dev/zero",
                    "undeclared-interface": "topology.yaml"}  # the link names an interface the host lacks


def value_cases() -> Iterator[Case]:
    for stem, label, old, new in VALUE_BREAKS:
        case = variant(f"value-{stem}-{label}", f"{stem}.yaml", replace(old, new))
        case.expect_file = POINTS_ELSEWHERE.get(label, case.expect_file)
        yield case


def running_cases() -> Iterator[Case]:
    """Saved running state (``--running running/``) that is not text, or not the right JSON."""
    broken = {
        "running-nul": ("running/acc1.cfg", b"hostname acc1\n\x00\n"),
        "running-latin1": ("running/acc1.cfg", "hostname caf\xe9\n".encode("latin-1")),
        "running-linux-not-json": ("running/core1.json", b"hostname core1\n"),
        "running-linux-list": ("running/core1.json", b"[1, 2, 3]\n"),
        "running-linux-invalid-utf8": ("running/core1.json", b'{"links": "\xff"}\n'),
        "running-linux-truncated": ("running/core1.json", b'{"links": [{"ifname": "eth1"'),
        # JSON, but not the shape the Linux driver writes: refused at the object's line, not a KeyError
        "running-linux-filter-no-dev": ("running/core1.json",
                                        b'{"filters": [\n  {"parent": "1:", "protocol": "ip", "pref": 1, "match": []}\n]}\n'),
        "running-linux-match-string": ("running/core1.json", b'{"filters": [{"dev": "eth1", "parent": "1:", "protocol": '
                                                             b'"ip", "pref": 1, "match": "src 10.0.0.0/8"}]}\n'),
        "running-linux-bad-address": ("running/core1.json", b'{"addresses": [{"dev": "eth1", "address": "10.1.2/99"}]}\n'),
        # A port entered twice with two access VLANs: which one the switch runs cannot be told
        "running-repeat-conflict": ("running/acc1.cfg", b"hostname acc1\n!\ninterface GigabitEthernet1/0/3\n"
                                                        b" switchport access vlan 10\n!\ninterface GigabitEthernet1/0/3\n"
                                                        b" switchport access vlan 20\n!\nend\n"),
    }
    for name, (path, data) in broken.items():
        files = {file: text.encode() for file, text in FILES.items()}
        files[path] = data
        yield Case(name, files, path)


def cases() -> list[Case]:
    found = [*yaml_cases(), *name_cases(), *value_cases(), *running_cases()]
    names = [case.name for case in found]
    assert len(names) == len(set(names)), "case names must be unique"
    return found


def corpus_files() -> dict[str, bytes]:
    """Every file of the corpus, by path relative to corpus/."""
    files: dict[str, bytes] = {}
    for case in cases():
        for path, data in case.files.items():
            files[f"{case.name}/{path}"] = data
        files[f"{case.name}/case.json"] = case.meta()
    return files


def main() -> None:
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    for path, data in corpus_files().items():
        target = CORPUS / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    print(f"wrote {len(cases())} cases to {CORPUS}", file=sys.stderr)


if __name__ == "__main__":
    main()
