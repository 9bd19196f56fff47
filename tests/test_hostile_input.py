"""Hostile input, class by class: YAML parser limits (with both PyYAML loaders), names that would
inject configuration lines or escape a directory, the renderer's per-platform token check, units."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.device import DeviceModel, Port, PortMode, Vlan
from engine.errors import IntentError, RenderError, ValidationError
from engine.identifiers import inside
from engine.loader import load_site
from engine.plan import RunningState
from engine.render import render
from engine.state import StateDir
from engine.units import format_bps, parse_bandwidth, parse_rate
from engine.yamlsrc import C_LOADER, PY_LOADER, Limits, load_text, load_yaml
from tests.conftest import SiteDir, run_intent

LOADERS = [pytest.param(PY_LOADER, id="python")] + (
    [pytest.param(C_LOADER, id="libyaml")] if C_LOADER is not None else [])


def billion_laughs(levels: int = 9) -> str:
    text = 'lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, levels + 1):
        text += f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * 10) + "]\n"
    return text


def refused(text: str, loader: type, limits: Limits | None = None) -> str:
    with pytest.raises(ValidationError) as info:
        load_text(text, "in.yaml", limits=limits, loader_class=loader)
    (line,) = info.value.lines()
    return line


@pytest.mark.parametrize("loader", LOADERS)
def test_a_billion_laughs_is_refused_in_milliseconds(loader: type) -> None:
    text = billion_laughs()  # 10**10 strings once expanded
    # the CPU time of this thread, not the wall clock: on a loaded machine the scheduler can hold a few
    # milliseconds of work for longer than that, which says nothing about the loader (3-5 ms here)
    started = time.thread_time()
    line = refused(text, loader)
    elapsed = time.thread_time() - started
    assert line.startswith("in.yaml:4:") and "aliases expand to more than 100000 nodes" in line
    assert elapsed < 0.05, f"took {elapsed * 1000:.1f} ms of CPU"


@pytest.mark.parametrize("loader", LOADERS)
def test_merge_key_bombs_and_recursive_aliases_are_refused(loader: type) -> None:
    merges = "m0: &m0 {a: 1, b: 2}\n" + "".join(
        f"m{n}: &m{n} {{<<: [{', '.join([f'*m{n - 1}'] * 10)}]}}\n" for n in range(1, 9))
    assert "aliases expand to more than" in refused(merges, loader)
    assert refused("a: &a [1, *a]\n", loader) == "in.yaml:1:4: recursive alias: this node contains itself"
    assert "recursive alias" in refused("a: &a {b: *a}\n", loader)
    # a few aliases are fine, and the limit can be raised
    load_text("base: &b {x: 1}\nuse: *b\nmore: {<<: *b, y: 2}\n", "in.yaml", loader_class=loader)
    assert "more than 100000 nodes" in refused(billion_laughs(5), loader)
    load_text(billion_laughs(5), "in.yaml", limits=Limits(max_alias_nodes=2_000_000), loader_class=loader)


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "".join(" " * i + "a:\n" for i in range(400)) + " " * 400 + "b",
                                  "a: " + "{b: " * 150 + "1" + "}" * 150])
def test_deep_nesting_is_refused_with_a_location(loader: type, text: str) -> None:
    line = refused(text, loader)
    assert "nested more than 100 levels deep (raise the limit with --max-yaml-depth or INTENT_MAX_YAML_DEPTH)" in line
    assert line.startswith("in.yaml:") and line.split(":")[1] != "" and int(line.split(":")[1]) >= 1


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("text", ["[" * 1_000_000, "{a: " * 250_000, "- " * 500_000 + "x"])
def test_a_megabyte_of_nesting_is_refused_at_once(loader: type, text: str) -> None:
    started = time.process_time()  # the Python scanner's cost grows with the depth it has opened: capped early
    assert "nested more than 100 levels deep" in refused(text, loader)
    assert time.process_time() - started < 0.5  # CPU seconds: a loaded machine must not fail it


@pytest.mark.parametrize("loader", LOADERS)
def test_depth_through_aliases_counts_and_limits_can_be_raised(loader: type) -> None:
    deep = "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 50 + "*a" + "]" * 50 + "\n"
    assert "nested more than 100 levels" in refused(deep, loader)
    nested = "a: " + "[" * 120 + "]" * 120 + "\n"
    assert "nested more than 100" in refused(nested, loader)
    load_text(nested, "in.yaml", limits=Limits(max_depth=130), loader_class=loader)


@pytest.mark.parametrize("loader", LOADERS)
def test_mapping_keys_must_be_strings(loader: type) -> None:
    assert refused("1234: x\n", loader) == ('in.yaml:1:1: mapping key 1234 is a number, not a string: '
                                            'quote it ("1234": ...) if a name is meant')
    assert "mapping key on is a boolean" in refused("all:\n  on: 1\n", loader)
    assert refused("~: 1\n", loader).startswith("in.yaml:1:1: mapping key ~ is null")
    assert refused("? [a, b]\n: 1\n", loader) == "in.yaml:1:3: mapping key is a list, not a string"
    assert refused("2026-01-01: x\n", loader).startswith("in.yaml:1:1: mapping key 2026-01-01 is a date")
    assert load_text('"1234": x\n', "in.yaml", loader_class=loader).data == {"1234": "x"}


@pytest.mark.parametrize("loader", LOADERS)
def test_bad_scalars_are_located_not_crashes(loader: type) -> None:
    assert refused("a:\n  b: 2026-13-45\n", loader) == "in.yaml:2:6: invalid date: month must be in 1..12"
    assert refused("a: " + "9" * 5000 + "\n", loader) == "in.yaml:1:4: invalid integer: too many digits"
    assert refused("a: !!python/object:os.system x\n", loader).startswith("in.yaml:1:4: unsupported YAML tag")
    assert refused("a: b\x07c\n", loader).startswith("in.yaml:1:5: invalid YAML: character U+0007 is not allowed")


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize(("value", "kind"), [
    ("!!int _", "integer"), ("!!int +", "integer"), ("!!int ''", "integer"), ("!!float _", "number"),
    ('!!float ""', "number"), ('!!bool ""', "boolean"), ('!!timestamp ""', "date"), ("!!timestamp x", "date"),
])
def test_an_explicit_tag_on_text_not_of_its_form_is_located(loader: type, value: str, kind: str) -> None:
    # PyYAML's constructors index and match such text unchecked (IndexError, KeyError, AttributeError)
    assert refused(f"a:\n  b: {value}\n", loader) == f"in.yaml:2:6: invalid {kind}: its text is not one"


_TAGS = st.sampled_from(["!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!str", "!!seq", "!!map", ""])


@settings(max_examples=400, deadline=None)
@given(tag=_TAGS, text=st.text(max_size=12), loader=st.sampled_from([PY_LOADER, C_LOADER] if C_LOADER else [PY_LOADER]))
def test_any_scalar_under_any_plain_tag_is_data_or_a_located_refusal(tag: str, text: str, loader: type) -> None:
    for scalar in (json.dumps(text), text):  # double-quoted (JSON escapes are YAML's), and plain
        try:
            load_text(f"a: {tag} {scalar}\n", "in.yaml", loader_class=loader)
        except ValidationError as exc:
            assert all(line.startswith("in.yaml:") for line in exc.lines())


def test_file_size_nul_bytes_and_encoding_are_checked_first(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_bytes(b"site: lab\nintents:\n  - name: caf\xe9\n")
    with pytest.raises(ValidationError) as info:
        load_yaml(path)
    assert info.value.lines() == [f"{path}:3:14: not UTF-8: byte 0xe9 cannot start or continue a UTF-8 character "
                                  "(save the file as UTF-8)"]
    path.write_bytes(b"site: lab\ninventory: inv\x00.yaml\n")
    with pytest.raises(ValidationError) as info:
        load_yaml(path)
    assert info.value.lines() == [f"{path}:2:15: NUL byte in the file: not a text file"]
    path.write_text("a: " + "x" * 2000 + "\n")
    with pytest.raises(ValidationError) as info:
        load_yaml(path, limits=Limits(max_bytes=1000))
    assert info.value.lines() == [f"{path}:1:1: file is 2004 bytes, over the limit of 1000 (raise it with "
                                  "--max-yaml-bytes or INTENT_MAX_YAML_BYTES)"]
    assert load_yaml(path, limits=Limits(max_bytes=3000)).data == {"a": "x" * 2000}
    with pytest.raises(ValidationError, match="not a regular file"):
        load_yaml(tmp_path)
    path.write_bytes("\ufeffa: 1\n".encode())  # a BOM is fine
    assert load_yaml(path).data == {"a": 1}


def test_limits_come_from_the_environment_and_the_command_line(site_dir: SiteDir) -> None:
    assert Limits.from_env({"INTENT_MAX_YAML_DEPTH": "7"}) == Limits(max_depth=7)
    with pytest.raises(IntentError, match="INTENT_MAX_YAML_BYTES='1e6': must be a whole number"):
        Limits.from_env({"INTENT_MAX_YAML_BYTES": "1e6"})
    site = str(site_dir.site)
    assert run_intent("validate", site).returncode == 0
    lowered = run_intent("--max-yaml-depth", "2", "validate", site)
    assert lowered.returncode == 1 and "nested more than 2 levels deep" in lowered.stderr
    by_env = run_intent("validate", site, env={"INTENT_MAX_YAML_BYTES": "100"})
    assert by_env.returncode == 1 and "over the limit of 100 (raise it with --max-yaml-bytes" in by_env.stderr
    raised = run_intent("--max-yaml-bytes", "100000", "validate", site, env={"INTENT_MAX_YAML_BYTES": "100"})
    assert raised.returncode == 0, raised.stderr


# -- names ----------------------------------------------------------------------------------------

def test_an_inventory_host_cannot_write_a_config_line(tmp_path: Path) -> None:
    site = SiteDir(tmp_path)
    site.write("inventory.yaml", """\
        all:
          hosts:
            core1: {platform: linux, netns: core1}
            "sw1\\nusername evil privilege 15 secret 0 owned": {platform: ios}
            "../../../etc/hostile": {platform: ios}
        """)
    site.write("topology.yaml", 'links:\n  - {a: core1:eth1, b: "sw1\\nusername evil:Gi1", bandwidth: 1Gbps}\n')
    site.write("site.yaml", """\
        site: lab
        inventory: inventory.yaml
        topology: topology.yaml
        intents:
          - name: "users\\n"
            vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, name: "users\\nvlan 99"}
        """)
    (tmp_path / "running").mkdir()
    result = run_intent("plan", str(site.site), "--running", str(tmp_path / "running"), "--out", str(tmp_path / "p.json"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    inventory, topology, site_file = (str(tmp_path / name) for name in ("inventory.yaml", "topology.yaml", "site.yaml"))
    assert f"{inventory}:4:5: device name 'sw1\\nusername evil privilege 15 secret 0 <masked> contains a line " \
        "break" in lines  # errors are masked too
    assert f"{inventory}:5:5: device name '../../../etc/hostile' contains a path separator" in lines
    assert f"{topology}:2:24: device name 'sw1\\nusername evil' contains a line break" in lines
    assert f"{site_file}:5:11: intent name 'users\\n' contains a line break" in lines  # the schema's `$` lets it pass
    assert f"{site_file}:6:64: 'users\\nvlan 99' contains a line break" in lines
    assert len(lines) == 5
    assert not (tmp_path / "p.json").exists() and "username evil" not in result.stdout


@pytest.mark.parametrize(("host", "message"), [
    ("a/b", "contains a path separator"), ("..", "contains '..'"), ("sw..1", "contains '..'"),
    ("-sw1", "use only letters, digits, '_', '.' and '-', starting with a letter or digit"),
    ("sw 1", "contains a space"), ("sw1\u2028x", "contains a line break"), ("x" * 64, "is longer than 63"),
    ("sw\u200b1", "contains the control character U+200B"), ("sw1;reload", "use only letters"),
])
def test_device_names_follow_one_pattern(site_dir: SiteDir, host: str, message: str) -> None:
    site_dir.write("inventory.yaml", (site_dir.root / "inventory.yaml").read_text() + f"        {json.dumps(host)}: {{netns: x1}}\n")
    with pytest.raises(ValidationError) as info:
        load_site(site_dir.site)
    assert any(message in line and ":11:9:" in line for line in info.value.lines()), info.value.lines()


@pytest.mark.parametrize(("topology", "message"), [
    ("core1:eth1/0", "Linux interface name 'eth1/0': use only letters, digits, '_', '.' and '-' (no '/')"),
    ("core1:averyveryverylongname", "Linux interface name 'averyveryverylongname' is longer than 15 characters"),
    ("core1:eth1;x", "Linux interface name 'eth1;x': use only"),
])
def test_interface_names_are_checked_for_their_platform(site_dir: SiteDir, topology: str, message: str) -> None:
    site_dir.write("topology.yaml", (site_dir.root / "topology.yaml").read_text().replace("core1:eth1", topology))
    with pytest.raises(ValidationError) as info:
        load_site(site_dir.site)
    assert any(message in line for line in info.value.lines()), info.value.lines()


def test_junos_interfaces_are_lowercase_and_ios_ones_may_have_slashes(tmp_path: Path) -> None:
    site = SiteDir(tmp_path)
    site.write("inventory.yaml", "all:\n  hosts:\n    r1: {platform: junos}\n    s1: {platform: ios}\n")
    site.write("topology.yaml", "links:\n  - {a: r1:Ge-0/0/1, b: s1:GigabitEthernet1/0/1, bandwidth: 1Gbps}\n")
    site.write("site.yaml", "site: lab\ninventory: inventory.yaml\ntopology: topology.yaml\nintents: []\n")
    with pytest.raises(ValidationError) as info:
        load_site(site.site)
    assert info.value.lines() == [f"{tmp_path / 'topology.yaml'}:2:9: 'Ge-0/0/1' is not a junos interface "
                                  "(allowed: [a-z][a-z0-9/.:-]{0,63})"]


def test_device_files_never_leave_their_directory(tmp_path: Path) -> None:
    running = tmp_path / "running"
    running.mkdir()
    (tmp_path / "secret.cfg").write_text("enable secret 0 hunter2\n")
    (running / "sw1.cfg").symlink_to(tmp_path / "secret.cfg")
    with pytest.raises(IntentError, match="leads outside"):
        RunningState(running).read("sw1", "ios")
    with pytest.raises(IntentError, match="is not a file name inside"):
        RunningState(running).read("../secret", "ios")
    with pytest.raises(IntentError, match="is not a file name inside"):
        StateDir(tmp_path / "state").device_dir("../../x")
    assert inside(running, "sw2.cfg") == running / "sw2.cfg"
    (running / "sw3.cfg").write_bytes(b"hostname sw3\n\xff\n")
    with pytest.raises(ValidationError, match=r"sw3.cfg:2:1: not UTF-8"):
        RunningState(running).read("sw3", "ios")
    (running / "sw4.cfg").symlink_to(tmp_path / "nowhere.cfg")  # dangling, outside: listed, so resolved and refused
    state = RunningState(running)  # lists the directory once, at its first read
    assert state.read("sw9", "ios") is None
    with pytest.raises(IntentError, match="leads outside"):
        state.read("sw4", "ios")
    with pytest.raises(IntentError, match="is not a file name inside"):
        state.read("../secret", "ios")


# -- the renderer's token check ---------------------------------------------------------------------

@pytest.mark.parametrize("platform", ["ios", "eos", "nxos", "junos", "linux"])
def test_no_value_reaches_a_template_unless_the_platform_reads_it_as_one_token(platform: str) -> None:
    good = DeviceModel("sw1", platform, "lab", vlans=(Vlan(10, "users", "10.10.0.0/24", "users"),))
    render(good)
    for model in (DeviceModel("sw1\nusername x", platform, "lab"), DeviceModel("sw1", platform, "lab x"),
                  DeviceModel("sw1", platform, "lab", vlans=(Vlan(10, "users\n!", "10.10.0.0/24", "users"),)),
                  DeviceModel("sw1", platform, "lab", vlans=(Vlan(10, "u" * 33, "10.10.0.0/24", "users"),)),
                  DeviceModel("sw1", platform, "lab", ports=(Port("eth1 x", PortMode.ACCESS, (10,)),))):
        with pytest.raises(RenderError, match="refusing to render it"):
            render(model)


def test_the_token_check_names_the_field_and_the_rule() -> None:
    with pytest.raises(RenderError) as info:
        render(DeviceModel("r1", "junos", "lab", ports=(Port("Ge-0/0/1", PortMode.ACCESS, (10,)),)))
    assert str(info.value) == ("'r1': ports[0].name: 'Ge-0/0/1' is not a junos interface "
                               "(allowed: [a-z][a-z0-9/.:-]{0,63}); refusing to render it")


# -- units ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "bps"), [
    ("1.001Mbps", 1_001_000), ("0.000001Tbps", 1_000_000), ("2.5Kbps", 2500), ("1.1Gbps", 1_100_000_000),
    ("100MBPS", 100_000_000),  # case-insensitive bits, as the contract says
])
def test_decimals_are_exact(text: str, bps: int) -> None:
    assert parse_bandwidth(text) == bps
    assert parse_bandwidth(format_bps(bps)) == bps


@pytest.mark.parametrize(("text", "hint"), [
    ("100MBps", "write 800Mbps"), ("100MB/s", "write 800Mbps"), ("1GBps", "write 8Gbps"),
    ("12.5KBps", "write 100Kbps"), ("3Bps", "write 24bps"),
])
def test_bytes_per_second_are_refused_with_the_rate_in_bits(text: str, hint: str) -> None:
    with pytest.raises(ValueError, match="that is bytes per second") as info:
        parse_rate(text)
    assert str(info.value).endswith(hint)


@pytest.mark.parametrize("text", ["١٠٠Mbps", "１００Mbps", "1e3Mbps", "1_000Mbps", "0x10Mbps", "1.0000001Mbps",
                                  "9" * 31 + "bps", "1.5%%", "nan%", "inf bps"])
def test_only_plain_ascii_numbers_are_rates(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


def test_percentages_are_exact() -> None:
    assert parse_rate("33.3%").on(10**9) == 333_000_000
    assert parse_rate("0.1%").on(3 * 10**9) == 3_000_000
    assert str(parse_rate("12.50%")) == "12.5%"


def test_a_ceil_above_the_link_is_capped_with_a_note(site_dir: SiteDir) -> None:
    site_dir.write("site.yaml", (site_dir.root / "site.yaml").read_text().replace(
        "rate: 100Mbps", "rate: 100Mbps, ceil: 5Gbps"))
    (site_dir.root / "running").mkdir()
    result = run_intent("plan", str(site_dir.site), "--running", str(site_dir.root / "running"), "--format", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert "video-10-20: ceil 5Gbps is above the 1Gbps of core1:eth1: capped at the link bandwidth there" in \
        plan["devices"]["core1"]["notes"]
    assert "ceil 5Gbps" not in plan["devices"]["core1"]["config"] and "5000000000" not in plan["devices"]["core1"]["config"]


def test_yaml_module_is_not_asked_for_python_objects() -> None:
    assert issubclass(PY_LOADER, yaml.SafeLoader)  # (its tag resolution memoised by engine.yamlsrc._ResolvedOnce)
    assert not issubclass(PY_LOADER, (yaml.FullLoader, yaml.UnsafeLoader, yaml.Loader))
    assert [base for base in PY_LOADER.__mro__ if base.__module__.startswith("yaml")][0] is yaml.SafeLoader
    if C_LOADER is not None:
        assert issubclass(C_LOADER, yaml.CSafeLoader)
    assert os.environ.get("INTENT_MAX_YAML_DEPTH") is None  # the defaults are what these tests assume


def test_a_corrupt_state_directory_is_refused_not_a_crash(site_dir: SiteDir, tmp_path: Path) -> None:
    from engine.archive import Archive

    state = tmp_path / "state"
    archive = Archive(state / "archive")
    snapshot = archive.put("hostname sw1\n")
    manifest = state / "archive" / "snapshots" / snapshot[:2] / snapshot
    manifest.write_text(json.dumps({"size": 13, "chunks": ["../../../../etc/passwd"]}))
    shown = run_intent("show", snapshot[:12], "--state-dir", str(state))
    assert shown.returncode == 1 and "its manifest is corrupt" in shown.stderr and "Traceback" not in shown.stderr
    manifest.write_text("[not json")
    assert "its manifest is corrupt" in run_intent("show", snapshot[:12], "--state-dir", str(state)).stderr
    log = state / "lab" / "applies.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text('{"action": "apply", "id": "x"}\n{"action": \n')
    history = run_intent("history", str(site_dir.site), "--state-dir", str(state))
    assert history.returncode == 1 and f"{log}:2:1: not an apply record (the audit log is corrupt)" in history.stderr


def test_type_errors_never_echo_a_value_that_could_be_a_secret(site_dir: SiteDir) -> None:
    inventory = site_dir.root / "inventory.yaml"
    inventory.write_text(inventory.read_text().replace("password_env: LAB_PASSWORD", "password_env: 'Hunter2 pw!'"))
    result = run_intent("validate", str(site_dir.site))
    assert result.returncode == 1 and "Hunter2" not in result.stdout + result.stderr
    assert (f"{inventory}:3:19: all.vars.password_env: invalid value (not shown: it may be a secret): expected the "
            "form ^[A-Za-z_][A-Za-z0-9_]*$") in result.stderr


def test_a_state_directory_the_machine_refuses_is_an_error_not_an_internal_one(site_dir: SiteDir) -> None:
    result = run_intent("history", str(site_dir.site), "--state-dir", "/dev/null")
    assert result.returncode == 1 and "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert "error: /dev/null/lab/applies.jsonl: Not a directory" in result.stderr


def test_sentences_read_units_as_the_site_file_does() -> None:
    refused_bytes = run_intent("parse", "guarantee 100MBps between vlan 10 and vlan 20")
    assert refused_bytes.returncode == 1 and "that is bytes per second (capital B)" in refused_bytes.stderr
    assert "write 800Mbps" in refused_bytes.stderr
    exact = run_intent("parse", "guarantee 1.001Mbps between vlan 10 and vlan 20", "--format", "json")
    assert exact.returncode == 0 and json.loads(exact.stdout)["qos_guarantee"]["rate"] == "1.001Mbps"
