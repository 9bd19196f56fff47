"""The NAPALM driver against NAPALM's own mock driver and recorded responses, every platform.

Responses live in tests/drivers/<platform>/recorded/<scenario>/ (written by make_recordings.py).
The mock replays them and counts calls, so these tests prove which NAPALM methods the driver
calls, in what order and with what arguments, and how it treats failures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from napalm.base.mock import MockDriver

from drivers.napalm import NapalmDriver
from engine.compiler import compile_site
from engine.errors import CommitError, ConnectError
from engine.loader import load_site
from engine.model import Device, DriverName, Platform
from engine.transaction import DeviceResult  # noqa: F401  (the transaction reports these)

HERE = Path(__file__).parent
GOLDEN = HERE.parent / "golden"
PLATFORMS = ["ios", "eos", "junos", "nxos"]


def driver(platform: str, scenario: str, tmp_path: Path, **optional: Any) -> NapalmDriver:
    path = HERE / platform / "recorded" / scenario

    def factory(name: str) -> Any:
        assert name == {"nxos": "nxos_ssh"}.get(platform, platform)  # the NAPALM driver it would load
        return lambda host, user, password, timeout, optional_args: MockDriver(
            host, user, password, timeout, {"path": str(path), **optional})

    device = Device("r1", Platform(platform), DriverName.NAPALM, host="192.0.2.1", username="netops",
                    password="S3cr3tPassw0rd")
    return NapalmDriver(device, tmp_path / "work", factory=factory)


def config(platform: str) -> Any:
    return compile_site(load_site(GOLDEN / platform / "brownfield" / "site.yaml")).configs["r1"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_merge_diff_commit_and_verify(platform: str, tmp_path: Path) -> None:
    with driver(platform, "apply", tmp_path) as napalm:
        diff = napalm.stage(config(platform))
        recorded = json.loads((HERE / platform / "recorded" / "apply" / "compare_config.1").read_text())["diff"]
        assert diff.strip() == recorded.strip() and diff  # the device's own diff is what stage returns
        loaded = napalm._napalm.config
        assert "INTENT-" in loaded and loaded.splitlines()[0]  # the engine's commands, not a whole config
        assert napalm._napalm.merge is True  # load_merge_candidate, never replace
        napalm.commit()
        assert napalm.calls == ["open", "get_config", "load_merge_candidate", "compare_config", "commit_config",
                                "get_config"]
        assert napalm.changes > 10


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
        assert pending["snapshot"].startswith("!Command: show running-config")
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
    assert message.startswith("r1: commit failed: MergeConfigException: Configuration failed on line 12")
    assert "S3cr3tPassw0rd" not in message and "<masked>" in message


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rollback_replaces_with_the_snapshot_and_checks_it(platform: str, tmp_path: Path) -> None:
    snapshot = (GOLDEN / platform / "brownfield" / "running" / "r1.cfg").read_text()
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
