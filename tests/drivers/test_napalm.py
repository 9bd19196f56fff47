"""The NAPALM driver against NAPALM's own mock driver and recorded responses, every platform.

Responses live in tests/drivers/<platform>/recorded/<scenario>/, written by hand in the forms NAPALM
returns on each platform (tests/drivers/README.md; each file's ``_models`` says what it models), for
the scenario of tests/drivers/<platform>/site/. The mock replays them and counts calls, so these
tests prove which NAPALM methods the driver calls, in what order and with what arguments, that it
loads exactly the plan's commands, reads Junos brace form, and how it treats failures.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from napalm.base.mock import MockDriver

from drivers.cli import planned
from drivers.napalm import NapalmDriver
from engine.compiler import compile_site
from engine.errors import CommitError, ConnectError, DriverError
from engine.loader import load_site
from engine.model import Device
from engine.plan import cli_device_plan
from engine.transaction import DeviceResult  # noqa: F401  (the transaction reports these)

HERE = Path(__file__).parent
PLATFORMS = ["ios", "eos", "junos", "nxos"]


def driver(platform: str, scenario: str, tmp_path: Path, **optional: Any) -> NapalmDriver:
    path = HERE / platform / "recorded" / scenario

    def factory(name: str) -> Any:
        assert name == {"nxos": "nxos_ssh"}.get(platform, platform)  # the NAPALM driver it would load
        return lambda host, user, password, timeout, optional_args: MockDriver(
            host, user, password, timeout, {"path": str(path), **optional})

    device = Device("r1", platform, "napalm", host="192.0.2.1", username="netops",
                    password="S3cr3tPassw0rd")
    return NapalmDriver(device, tmp_path / "work", factory=factory)


def config(platform: str) -> Any:
    return compile_site(load_site(HERE / platform / "site" / "site.yaml")).configs["r1"]


def recorded(platform: str, scenario: str, name: str) -> Any:
    return json.loads((HERE / platform / "recorded" / scenario / name).read_text())


@pytest.mark.parametrize("platform", PLATFORMS)
def test_merge_diff_commit_and_verify(platform: str, tmp_path: Path) -> None:
    with driver(platform, "apply", tmp_path) as napalm:
        diff = napalm.stage(config(platform))
        device_diff = recorded(platform, "apply", "compare_config.1")["diff"]
        assert diff.strip() == device_diff.strip() and diff  # the device's own diff is what stage returns
        running = recorded(platform, "apply", "get_config.1")["running"]
        planned = cli_device_plan(config(platform), running)
        loaded = napalm._napalm.config
        assert loaded == "\n".join(planned.commands) + "\n"  # exactly the plan's commands, not a whole config
        assert napalm._napalm.merge is True  # load_merge_candidate, never replace
        napalm.commit()  # verified against the device's own rendering of the change (get_config.2)
        assert napalm.calls == ["open", "get_config", "load_merge_candidate", "compare_config", "commit_config",
                                "get_config"]
        assert napalm.changes == len(planned.commands)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_stage_sends_the_plan_it_is_given_and_nothing_else(platform: str, tmp_path: Path) -> None:
    running = recorded(platform, "apply", "get_config.1")["running"]
    planned = cli_device_plan(config(platform), running)
    assert any("30" in line for line in planned.commands) and not any(" 99" in c and "no " in c for c in planned.commands)
    given = replace(planned, commands=planned.commands[:3])
    with driver(platform, "apply", tmp_path) as napalm:
        napalm.stage(config(platform), given)
        assert napalm._napalm.config == "\n".join(planned.commands[:3]) + "\n"


def test_junos_brace_form_from_get_config_is_planned_as_set_lines() -> None:
    running = recorded("junos", "apply", "get_config.1")["running"]
    assert running.startswith("## Last changed") and "members [ users mgmt ];" in running
    commands = cli_device_plan(config("junos"), running).commands
    assert "set interfaces ge-0/0/1 unit 0 family ethernet-switching vlan members guest" in commands
    assert not [c for c in commands if c.startswith("delete ")]  # nothing of the trunk or the VLANs goes


@pytest.mark.parametrize("platform", PLATFORMS)
def test_dry_run_always_discards(platform: str, tmp_path: Path) -> None:
    napalm = driver(platform, "apply", tmp_path)
    napalm.open()
    mock = napalm._napalm
    napalm.stage(config(platform))
    napalm.close()  # a dry run: staged, never committed
    assert "discard_config" in napalm.calls and "commit_config" not in napalm.calls
    assert mock.calls.get("discard_config") == 1 and "commit_config" not in mock.calls


@pytest.mark.parametrize("platform", ["ios", "eos", "junos"])
def test_commit_confirm_is_native_where_napalm_has_it(platform: str, tmp_path: Path) -> None:
    with driver(platform, "apply", tmp_path) as napalm:
        napalm.stage(config(platform))
        napalm.commit(revert_in=90)
        assert napalm._napalm.has_pending_commit() is True  # armed on the device itself
        napalm.confirm()
        assert napalm._napalm.has_pending_commit() is False
        assert napalm.calls[-3:] == ["get_config", "has_pending_commit", "confirm_commit"]
        assert not (tmp_path / "work" / "pending.json").exists()  # no reverter of ours needed


def test_nxos_commit_confirm_falls_back_to_a_snapshot_revert(tmp_path: Path) -> None:
    with driver("nxos", "apply", tmp_path) as napalm:
        napalm.stage(config("nxos"))
        napalm.commit(revert_in=600)
        pending = json.loads((tmp_path / "work" / "pending.json").read_text())
        assert pending["snapshot"].startswith("!Running configuration last done at:")
        assert "password" not in pending["device"]  # no secret on disk
        napalm.confirm()  # claims the revert before the reverter does
        assert not (tmp_path / "work" / "pending.json").exists()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_failure_mid_commit_becomes_a_commit_error_naming_the_device(platform: str, tmp_path: Path) -> None:
    with driver(platform, "commit-fails", tmp_path) as napalm:
        napalm.stage(config(platform))
        with pytest.raises(CommitError) as info:
            napalm.commit()
    message = str(info.value)
    first = recorded(platform, "commit-fails", "commit_config.1")["args"][0].split("\n")[0][:40]
    assert message.startswith(f"r1: commit failed: MergeConfigException: {first}")
    assert "S3cr3tPassw0rd" not in message and "<masked>" in message


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rollback_replaces_with_the_snapshot_and_checks_it(platform: str, tmp_path: Path) -> None:
    snapshot = recorded(platform, "rollback", "get_config.1")["running"]
    with driver(platform, "rollback", tmp_path) as napalm:
        napalm.rollback(snapshot)
        assert napalm.calls == ["open", "load_replace_candidate", "commit_config", "get_config"]
        assert napalm._napalm.merge is None  # replace was committed, state cleared


def test_open_failure_is_a_connect_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectError, match="r1: ConnectionException: You told me to do this"):
        driver("ios", "apply", tmp_path, fail_on_open=True).open()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_nothing_to_change_loads_nothing(platform: str, tmp_path: Path) -> None:
    with driver(platform, "noop", tmp_path) as napalm:
        assert napalm.stage(config(platform)) == ""
        napalm.commit()
        assert napalm.calls == ["open", "get_config"] and napalm.changes == 0


def test_a_driver_used_without_a_plan_refuses_what_needs_a_takeover(tmp_path: Path) -> None:
    running = recorded("ios", "apply", "get_config.1")["running"].replace(
        " description guest kiosk\n switchport mode access\n", " description guest kiosk\n no switchport\n"
        " ip address 192.0.2.77 255.255.255.0\n")
    with pytest.raises(DriverError, match="r1: cannot plan against the running config: r1 GigabitEthernet1/0/5 "
                                          "carries configuration the engine does not own: no switchport; ip address"):
        planned(config("ios"), running, None)
