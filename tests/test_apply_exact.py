"""`intent apply` sends exactly the plan's commands, never a second computation, and plan files hold no secret.

The site: r1 (Junos through the real NAPALM driver), s1 (IOS through the real Netmiko driver) and l1
(Linux). Their vendor libraries are replaced by stand-ins (fakes: no Junos or IOS runs here) that hold
a running config written by hand, record exactly what they are sent, and after a commit show the
configuration written by hand below. The intent takes over r1's port ge-0/0/5, whose VRRP group has
an authentication key: the plan must remove that line, so one command holds a real secret (from the
running config); and the VLAN is named ``community``, a word the masker treats as a secret's keyword,
so three more commands are masked although their value comes from the desired config.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

import engine.remediate
from drivers.napalm import NapalmDriver
from drivers.netmiko import NetmikoDriver
from engine.model import Device
from engine.plan import PLAN_FORMAT, _canonical_parts
from engine.secrets import MASK
from engine.sendable import HiddenLine, hide, restore, sources
from tests.hostile.common import Outcome, run

VRRP_KEY = "$9$kP5z3/CuBEc9Ap0IEyrvM8xN-"  # Junos $9$ form of the VRRP group's authentication key
PASSWORD = "Dev1cePassw0rd"

R1_RUNNING = f"""\
set version 21.4R3.15
set system host-name r1
set interfaces ge-0/0/1 description "to s1"
set interfaces ge-0/0/5 description "old router port"
set interfaces ge-0/0/5 unit 0 family inet address 10.5.0.2/24 vrrp-group 1 virtual-address 10.5.0.1
set interfaces ge-0/0/5 unit 0 family inet address 10.5.0.2/24 vrrp-group 1 authentication-type md5
set interfaces ge-0/0/5 unit 0 family inet address 10.5.0.2/24 vrrp-group 1 authentication-key "{VRRP_KEY}"
"""
# r1 after the change, as `show configuration | display set` prints it: the VRRP group gone, the port
# an access port of VLAN community, the link to s1 a trunk of it (a link between two switches is a
# trunk whatever its VLAN count), the VLAN and its gateway defined.
R1_AFTER = """\
set version 21.4R3.15
set system host-name r1
set interfaces ge-0/0/1 description "to s1"
set interfaces ge-0/0/1 unit 0 family ethernet-switching interface-mode trunk
set interfaces ge-0/0/1 unit 0 family ethernet-switching vlan members community
set interfaces ge-0/0/5 description "old router port"
set interfaces ge-0/0/5 unit 0 family ethernet-switching interface-mode access
set interfaces ge-0/0/5 unit 0 family ethernet-switching vlan members community
set interfaces irb unit 40 description intent:exact:community
set interfaces irb unit 40 family inet address 10.40.0.1/24
set vlans community description intent:exact:community
set vlans community vlan-id 40
set vlans community l3-interface irb.40
"""
# What r1 must be sent, written out here: the planned commands with the real secret lines.
R1_SENT = [
    "delete interfaces ge-0/0/5 unit 0 family inet address 10.5.0.2/24 vrrp-group 1 virtual-address 10.5.0.1",
    "delete interfaces ge-0/0/5 unit 0 family inet address 10.5.0.2/24 vrrp-group 1 authentication-type md5",
    f'delete interfaces ge-0/0/5 unit 0 family inet address 10.5.0.2/24 vrrp-group 1 authentication-key "{VRRP_KEY}"',
    "set interfaces ge-0/0/1 unit 0 family ethernet-switching interface-mode trunk",
    "set interfaces ge-0/0/1 unit 0 family ethernet-switching vlan members community",
    "set interfaces ge-0/0/5 unit 0 family ethernet-switching interface-mode access",
    "set interfaces ge-0/0/5 unit 0 family ethernet-switching vlan members community",
    "set interfaces irb unit 40 description intent:exact:community",
    "set interfaces irb unit 40 family inet address 10.40.0.1/24",
    "set vlans community description intent:exact:community",
    "set vlans community vlan-id 40",
    "set vlans community l3-interface irb.40",
]
S1_RUNNING = """\
Building configuration...

Current configuration : 312 bytes
!
hostname s1
!
interface GigabitEthernet1/0/1
 description to r1
!
interface GigabitEthernet1/0/2
 description to l1
!
interface GigabitEthernet1/0/5
 description desk
!
end
"""
S1_AFTER = """\
Building configuration...

Current configuration : 498 bytes
!
hostname s1
!
vlan 40
 name community
!
interface GigabitEthernet1/0/1
 description to r1
 switchport trunk allowed vlan 40
 switchport mode trunk
!
interface GigabitEthernet1/0/2
 description to l1
 switchport access vlan 40
 switchport mode access
!
interface GigabitEthernet1/0/5
 description desk
 switchport access vlan 40
 switchport mode access
!
end
"""
L1_RUNNING = {"links": [{"name": "eth0", "kind": None, "link": None, "id": None, "master": None, "up": True},
                        {"name": "eth1", "kind": None, "link": None, "id": None, "master": None, "up": True}],
              "addresses": [], "routes": [], "qdiscs": [], "classes": [], "filters": [], "sysctl": {}, "owned": []}


class Devices:
    """Every device's state and what it was sent, shared by the stand-ins of one test."""

    def __init__(self) -> None:
        self.running = {"r1": R1_RUNNING, "s1": S1_RUNNING, "l1": json.dumps(L1_RUNNING, indent=2) + "\n"}
        self.after = {"r1": R1_AFTER, "s1": S1_AFTER}
        self.sent: dict[str, list[Any]] = {"r1": [], "s1": [], "l1": []}
        self.opened: list[str] = []


class FakeNapalmJunos:
    """Stands in for NAPALM's junos driver (a fake): get_config in `display set` form, a merge
    candidate recorded as given, commit shows the hand-written configuration after the change."""

    def __init__(self, devices: Devices) -> None:
        self.devices, self.candidate = devices, ""

    def open(self) -> None: ...

    def close(self) -> None: ...

    def get_config(self, retrieve: str = "all") -> dict[str, str]:
        return {"running": self.devices.running["r1"], "candidate": "", "startup": ""}

    def load_merge_candidate(self, config: str) -> None:
        self.candidate = config
        self.devices.sent["r1"].append(config)

    def compare_config(self) -> str:
        return "[edit interfaces ge-0/0/5 unit 0 family]\n-    inet { ... }\n+    ethernet-switching { ... }\n"

    def commit_config(self, revert_in: int | None = None) -> None:
        self.devices.running["r1"] = self.devices.after["r1"]

    def discard_config(self) -> None:
        self.candidate = ""


class FakeNetmikoIOS:
    """Stands in for a Netmiko IOS session (a fake): `show running-config` as IOS prints it, every
    configuration set recorded as sent, then the hand-written configuration after the change."""

    def __init__(self, devices: Devices) -> None:
        self.devices = devices

    def check_enable_mode(self) -> bool:
        return True

    def send_command(self, command: str) -> str:
        assert command == "show running-config"
        return self.devices.running["s1"]

    def send_config_set(self, commands: list[str], error_pattern: str = "") -> str:
        self.devices.sent["s1"].append(list(commands))
        self.devices.running["s1"] = self.devices.after["s1"]
        return "s1(config)#end\ns1#"

    def exit_config_mode(self) -> None: ...

    def disconnect(self) -> None: ...


class RecordingLinux:
    """Stands in for the Linux driver (a fake): records the desired document it is given to stage."""

    changes = 0

    def __init__(self, devices: Devices) -> None:
        self.device, self.devices, self.staged = "l1", devices, None

    def open(self) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> RecordingLinux:
        return self

    def __exit__(self, *exc: object) -> None: ...

    def get_running(self) -> str:
        return self.devices.running["l1"]

    def stage(self, config: Any, plan: Any = None) -> str:
        self.staged = config.document
        self.devices.sent["l1"].append(config.document)
        return "+link br40\n"

    def discard(self) -> None: ...

    def commit(self, revert_in: int | None = None) -> None:
        self.devices.running["l1"] = json.dumps({**self.staged, "owned": []}, indent=2) + "\n"  # type: ignore[dict-item]
        self.changes = 1

    def confirm(self) -> None: ...

    def rollback(self, snapshot: str) -> None:
        self.devices.running["l1"] = snapshot


@pytest.fixture
def devices(monkeypatch: pytest.MonkeyPatch) -> Devices:
    state = Devices()

    def open_driver(device: Device, site_state: Any, connection: Any = None) -> Any:
        state.opened.append(device.name)
        work = site_state.device_dir(device.name)
        if device.name == "r1":
            return NapalmDriver(device, work, factory=lambda name: lambda *a, **k: FakeNapalmJunos(state))
        if device.name == "s1":
            return NetmikoDriver(device, work, connector=lambda **kwargs: FakeNetmikoIOS(state))
        return RecordingLinux(state)

    monkeypatch.setattr("engine.transaction.open_driver", open_driver)
    monkeypatch.setattr("drivers.netmiko.verify_host_key", lambda *args: None)  # no SSH server: nothing to check
    return state


SITE = """\
site: exact
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: community
    vlan: {id: 40, name: community, subnet: 10.40.0.0/24, gateway: r1, takeover: true,
           access: ["r1:ge-0/0/5", "s1:GigabitEthernet1/0/5", "l1:eth1"]}
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "inventory.yaml").write_text(textwrap.dedent("""\
        all:
          vars: {password_env: EXACT_PASSWORD, username: netops}
          hosts:
            r1: {platform: junos, host: 192.0.2.1}
            s1: {platform: ios, driver: netmiko, host: 192.0.2.2}
            l1: {platform: linux, host: 192.0.2.3}
        """))
    (root / "topology.yaml").write_text(textwrap.dedent("""\
        links:
          - {a: "r1:ge-0/0/1", b: "s1:GigabitEthernet1/0/1", bandwidth: 1Gbps}
          - {a: "s1:GigabitEthernet1/0/2", b: "l1:eth0", bandwidth: 1Gbps}
        """))
    (root / "site.yaml").write_text(SITE)
    return root / "site.yaml"


ENV = {"EXACT_PASSWORD": PASSWORD, "INTENT_PLAN_KEY": ""}


def intent(*args: str, state: Path, env: dict[str, str] | None = None) -> Outcome:
    return run(*args, "--state-dir", str(state), env={**ENV, **(env or {})}) if args[0] == "apply" else \
        run(*args, env={**ENV, **(env or {})})


def _plan(site: Path, tmp_path: Path, env: dict[str, str] | None = None) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / "plan.json"
    result = run("plan", str(site), "--out", str(out), env={**ENV, **(env or {})})
    assert result.code == 0 and not result.crashed, result.text
    return out, json.loads(out.read_text())


def _everything_written(tmp_path: Path, *outcomes: Outcome) -> str:
    """Every file of the test (plan files, site, the state directory's journal, locks and records)
    and what the commands printed. Not the snapshot archive's chunks: they are the devices' own
    configurations, kept (compressed) so that a restore can put them back exactly."""
    files = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and "chunks" not in p.parts]
    assert any(p.name == "applies.jsonl" for p in tmp_path.rglob("*")) or not outcomes
    return "\n".join([*files, *(o.text for o in outcomes)])


def test_a_plan_file_is_sent_as_it_is_even_when_the_engine_would_now_compute_otherwise(
        site: Path, devices: Devices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan, document = _plan(site, tmp_path)
    assert document["format"] == PLAN_FORMAT == "intent-plan/3"
    r1 = document["devices"]["r1"]["commands"]
    assert [line.replace(f'"{VRRP_KEY}"', MASK) for line in R1_SENT][:3] == r1[:3]
    assert r1[9:] == ["set vlans community <masked> intent:exact:community", "set vlans community <masked> 40",
                      "set vlans community <masked> irb.40"]  # over-masked, from the desired config
    assert [h["line"] for h in document["secrets"]["r1"]] == [2, 9, 10, 11] and "s1" not in document["secrets"]
    devices.opened.clear()

    # After the review, the site moves on and the engine would now compute other commands: apply
    # must send the file's own, so any recomputation would show here.
    site.write_text(SITE.replace("name: community", "name: visitors"))
    monkeypatch.setattr(engine.remediate, "remediate", lambda *args, **kwargs: engine.remediate.Remediation(
        ("set system host-name recomputed", "hostname recomputed"), ()))
    result = intent("apply", str(plan), "--yes", state=tmp_path / "state")
    assert result.code == 0 and not result.crashed, result.text

    assert devices.sent["r1"] == ["\n".join(R1_SENT) + "\n"]  # one merge candidate: the plan, secret restored
    s1 = document["devices"]["s1"]["commands"]
    assert devices.sent["s1"] == [s1]  # byte for byte, as the file stores them
    assert s1[:2] == ["vlan 40", " name community"]
    assert devices.sent["l1"] == [document["desired"]["l1"]["document"]]  # Linux: the file's own document
    assert "recomputed" not in _everything_written(tmp_path, result)

    written = _everything_written(tmp_path, result)
    assert VRRP_KEY not in written and PASSWORD not in written  # plan file, output, journal, records
    assert "authentication-key <masked>" in written


def test_apply_site_plans_once_in_memory_and_sends_that_plan(site: Path, devices: Devices, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[str] = []
    original = engine.remediate.remediate

    def counting(platform: str, *args: Any, **kwargs: Any) -> Any:
        computed.append(platform)
        return original(platform, *args, **kwargs)

    monkeypatch.setattr(engine.remediate, "remediate", counting)
    result = intent("apply", str(site), "--yes", state=tmp_path / "state")
    assert result.code == 0 and not result.crashed, result.text
    assert sorted(computed) == ["ios", "junos"]  # one remediation per CLI device: the plan; none at apply
    assert devices.sent["r1"] == ["\n".join(R1_SENT) + "\n"]
    assert devices.sent["s1"][0][:2] == ["vlan 40", " name community"]
    assert VRRP_KEY not in _everything_written(tmp_path, result)


def _resealed(document: dict[str, Any]) -> dict[str, Any]:
    """An edited plan file re-hashed, as someone who edits it and knows the hash function writes it."""
    body = {k: v for k, v in document.items() if k not in ("plan_hash", "signature")}
    return {**body, "plan_hash": hashlib.sha256(b"".join(_canonical_parts(body))).hexdigest()}


def test_a_tampered_restoration_is_refused_before_any_device_changes(site: Path, devices: Devices,
                                                                     tmp_path: Path) -> None:
    plan, document = _plan(site, tmp_path)
    hidden = document["secrets"]["r1"][0]
    # Point the hidden line at another running line and make its masked text fit that line: an
    # attempt to move a secret into a command of one's choosing.
    edits = {
        "source": lambda d: d["secrets"]["r1"][0].update(source=hidden["source"] - 1),
        "shape": lambda d: d["devices"]["r1"]["commands"].__setitem__(
            2, "set interfaces ge-0/0/5 description <masked>"),
        "verifier": lambda d: d["secrets"]["r1"][0].update(verifier="scrypt:" + "0" * 64),
    }
    for name, edit in edits.items():
        edited = json.loads(json.dumps(document))
        edit(edited)
        target = tmp_path / f"{name}.json"
        target.write_text(json.dumps(_resealed(edited)))
        result = intent("apply", str(target), "--yes", state=tmp_path / "state")
        assert result.code == 1 and not result.crashed, (name, result.text)
        assert "r1: command 3" in result.text and "refusing to apply it" in result.text, (name, result.text)
        assert devices.sent == {"r1": [], "s1": [], "l1": []}, name  # no device was sent anything
        assert VRRP_KEY not in result.text

    # Signed with INTENT_PLAN_KEY, the same edit is refused before any device is contacted at all.
    key = {"INTENT_PLAN_KEY": "exact-plan-key-0123456789"}
    plan, document = _plan(site, tmp_path, key)
    assert document["secrets"]["r1"][0]["verifier"].startswith("hmac-sha256:")
    edited = json.loads(json.dumps(document))
    edits["source"](edited)
    target = tmp_path / "signed-edit.json"
    target.write_text(json.dumps({**_resealed(edited), "signature": document["signature"]}))
    devices.opened.clear()
    result = intent("apply", str(target), "--yes", state=tmp_path / "state", env=key)
    assert result.code == 1 and "the signature does not match INTENT_PLAN_KEY" in result.stderr
    assert devices.opened == []


def test_an_older_plan_file_applies_its_commands_but_never_a_masked_line(site: Path, devices: Devices,
                                                                       tmp_path: Path) -> None:
    _, document = _plan(site, tmp_path)
    older = {k: v for k, v in document.items() if k != "secrets"} | {"format": "intent-plan/2"}
    target = tmp_path / "older.json"
    target.write_text(json.dumps(_resealed(older)))
    result = intent("apply", str(target), "--yes", state=tmp_path / "state")
    assert result.code == 1 and "r1: command 3" in result.text and "no verified way to restore" in result.text
    assert devices.sent == {"r1": [], "s1": [], "l1": []}
    del older["devices"]["r1"], older["desired"]["r1"], older["running_sha256"]["r1"]  # no secret: applies
    target.write_text(json.dumps(_resealed(older)))
    result = intent("apply", str(target), "--yes", state=tmp_path / "state")
    assert result.code == 0, result.text
    assert devices.sent["s1"] == [document["devices"]["s1"]["commands"]] and devices.sent["r1"] == []


def test_a_device_changed_since_planning_is_refused_naming_it(site: Path, devices: Devices, tmp_path: Path) -> None:
    plan, _ = _plan(site, tmp_path)
    devices.running["r1"] = R1_RUNNING.replace(VRRP_KEY, "$9$rotatedKeyAfterThePlan")
    result = intent("apply", str(plan), "--yes", state=tmp_path / "state")
    assert result.code == 1 and f"{plan} is stale: r1 changed since it was planned; plan again" in result.stderr
    assert devices.sent == {"r1": [], "s1": [], "l1": []}


IOS_RUNNING = """\
interface Vlan20
 standby 1 authentication md5 key-string 7 0822455D0A16
interface Vlan30
 standby 1 authentication md5 key-string 7 1511021F0725
router bgp 65000
 neighbor 192.0.2.9 password 7 02050D480809
"""


def test_hidden_lines_come_back_from_their_own_source_line_only() -> None:
    """Unit: two lines of the same shape with different secrets; negations; a changed source refused."""
    real = ("interface Vlan30", " no standby 1 authentication md5 key-string 7 1511021F0725", "router bgp 65000",
            " no neighbor 192.0.2.9 password 7 02050D480809")
    masked = ("interface Vlan30", " no standby 1 authentication md5 key-string 7 <masked>", "router bgp 65000",
              " no neighbor 192.0.2.9 password 7 <masked>")
    lines = sources("ios", IOS_RUNNING, "")
    hidden = hide("sw1", "abc", real, masked, lines, None)
    assert [(h.line, lines[h.source].strip()) for h in hidden] == [
        (1, "standby 1 authentication md5 key-string 7 1511021F0725"),
        (3, "neighbor 192.0.2.9 password 7 02050D480809")]
    assert restore("sw1", "abc", masked, hidden, lines, None) == real
    assert all("1511021F0725" not in h.verifier and h.verifier.startswith("scrypt:") for h in hidden)

    swapped = (HiddenLine(1, hidden[0].source - 2, hidden[0].verifier), hidden[1])  # the Vlan20 key instead
    with pytest.raises(Exception, match="does not match the plan's verifier"):
        restore("sw1", "abc", masked, swapped, lines, None)
    with pytest.raises(Exception, match="does not match the plan's verifier"):  # planned against other state
        restore("sw1", "other-running-hash", masked, hidden, lines, None)
    untraceable = hide("sw1", "abc", ("username x secret 0 S3cr3t",), ("username x secret 0 <masked>",), lines, None)
    assert untraceable[0].verifier == ""
    with pytest.raises(Exception, match="no verified way to restore"):
        restore("sw1", "abc", ("username x secret 0 <masked>",), untraceable, lines, None)


def test_the_python_api_applies_the_plan_it_was_given(site: Path, devices: Devices, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import intent_engine

    monkeypatch.setenv("EXACT_PASSWORD", PASSWORD)
    monkeypatch.delenv("INTENT_PLAN_KEY", raising=False)
    connection = intent_engine.Connection(state_dir=tmp_path / "state")
    planned = intent_engine.plan(site, connection=connection)
    monkeypatch.setattr(engine.remediate, "remediate", lambda *args, **kwargs: engine.remediate.Remediation(
        ("set system host-name recomputed",), ()))
    run_result = intent_engine.apply(planned, connection=connection)
    assert not run_result.failed, {name: r.error for name, r in run_result.results.items()}
    assert devices.sent["r1"] == ["\n".join(R1_SENT) + "\n"]
    assert devices.sent["s1"] == [list(planned.result.devices["s1"].commands)]

    devices.running["s1"] = S1_RUNNING.replace("description desk", "description moved")  # changed since planned
    with pytest.raises(Exception, match="the plan is stale: .*s1"):
        intent_engine.apply(planned, connection=connection)
