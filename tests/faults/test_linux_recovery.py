"""Recovery on the Linux lab: a journal that cannot be written refuses before any device, SIGTERM
rolls back, an interrupted apply is announced by every command and `intent rollback` restores it,
a device that accepts TCP and never speaks fails within its budget, a corrupt state file of the
second device mid-apply fails it clearly, and `lab down` forgets the state of the devices it removed
(removing any intent of the example sites: test_example_sites.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from engine import faults, journal
from tests.conftest import INTENT
from tests.faults.conftest import SITE, LinuxLab
from tests.faults.matrix import apply_record, tmpfs, wait_for_reverters
from tests.labs import Lab, running_lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and mounts")


def guards_absent(state: Path) -> None:
    wait_for_reverters(state)


def test_a_read_only_journal_refuses_before_any_device(linux_lab: LinuxLab) -> None:
    state = linux_lab.scratch / "ro-journal"
    log = state / "lab" / "applies.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text("")
    subprocess.run(["mount", "--bind", str(log), str(log)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(log), str(log)], check=True)
        result = linux_lab.intent(state, "apply", "--yes", check=1)
        assert "cannot write the journal" in result.stderr and "Read-only file system" in result.stderr
        assert "refusing to apply, nothing was changed" in result.stderr
    finally:
        subprocess.run(["umount", str(log)], check=True)
    assert linux_lab.dumps(state) == linux_lab.s0
    assert not (state / "lab" / "lock").exists()


def test_a_read_only_state_directory_refuses_before_any_device(linux_lab: LinuxLab) -> None:
    state = linux_lab.scratch / "ro-state"
    (state / "lab").mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(state), str(state)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(state), str(state)], check=True)
        result = linux_lab.intent(state, "apply", "--yes", check=1)
        assert "Read-only file system" in result.stderr and "nothing was changed" in result.stderr
    finally:
        subprocess.run(["umount", str(state)], check=True)
    assert linux_lab.dumps(state) == linux_lab.s0


def test_a_full_state_directory_refuses_before_any_device(linux_lab: LinuxLab) -> None:
    with tmpfs(linux_lab.scratch / "full", size="1m") as state:
        faults.fill(state)
        result = linux_lab.intent(state, "apply", "--yes", check=1)
        assert "No space left on device" in result.stderr and "nothing was changed" in result.stderr
        assert linux_lab.dumps(state) == linux_lab.s0


def test_sigterm_mid_apply_rolls_back_before_exiting_1(linux_lab: LinuxLab) -> None:
    with tmpfs(linux_lab.scratch / "sigterm") as state:
        env = {**os.environ, "INTENT_STATE_DIR": str(state), "INTENT_FAULT": "after-commit:acc2:hang"}
        process = subprocess.Popen([str(INTENT), "apply", str(linux_lab.lab.site), "--yes", "--parallel", "1"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = apply_record(state, "lab")
            if record and any(s["device"] == "acc2" and s["step"] == "committed" for s in record["steps"]):
                break
            time.sleep(0.05)
        assert linux_lab.dumps(state) != linux_lab.s0  # acc1 and acc2 are changed now
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 1, out + err
        assert "interrupted: every device that had changed was restored" in err
        assert "acc1: rolled back" in out and "acc2: FAILED" in out and "interrupted" in out
        assert linux_lab.dumps(state) == linux_lab.s0
        record = apply_record(state, "lab")
        assert record is not None and record["outcome"] == "rolled back" and record["interrupted"] is True
        guards_absent(state)


def test_after_a_kill_every_command_says_so_and_rollback_restores_it(linux_lab: LinuxLab) -> None:
    """--safety-timeout 0: no safety reverter; the operator recovers by hand, told how by every command."""
    with tmpfs(linux_lab.scratch / "manual") as state:
        env = {**os.environ, "INTENT_STATE_DIR": str(state), "INTENT_FAULT": "before-commit:core1:kill"}
        killed = subprocess.run([str(INTENT), "apply", str(linux_lab.lab.site), "--yes", "--parallel", "1",
                                 "--safety-timeout", "0"], capture_output=True, text=True, env=env, timeout=60)
        assert killed.returncode == -signal.SIGKILL
        assert linux_lab.dumps(state) != linux_lab.s0  # acc1, acc2 changed; nothing restores them by itself
        record = apply_record(state, "lab")
        assert record is not None and record["outcome"] == "in progress"
        assert journal.changed_devices(record) == ["acc1", "acc2"]
        site = str(linux_lab.lab.site)
        for command in (["plan"], ["history"], ["apply", "--yes"]):
            result = linux_lab.intent(state, *command, check=None)
            first = result.stderr.splitlines()[0]
            assert first.startswith(f"warning: apply {record['id']} was interrupted"), result.stderr
            assert "devices that may have changed: acc1, acc2" in first
            assert f"restore them with: intent rollback {site}" in first
        assert "refusing to apply on top of it" in linux_lab.intent(state, "apply", "--yes", check=1).stderr
        assert (state / "lab" / "lock").exists()  # the dead process's lock
        restored = linux_lab.intent(state, "rollback")
        assert f"before {record['id']}" in restored.stdout
        assert linux_lab.dumps(state) == linux_lab.s0  # bit for bit, every device of the apply
        assert not (state / "lab" / "lock").exists()
        history = linux_lab.intent(state, "history")
        assert history.stderr == ""
        assert re.search(rf"apply +{record['id']} .*interrupted, restored by intent rollback", history.stdout)


def test_the_safety_reverter_restores_an_apply_that_outlives_its_timeout(linux_lab: LinuxLab) -> None:
    with tmpfs(linux_lab.scratch / "outlived") as state:
        # acc2 hangs for its whole budget (10 s), then its restore hangs too: at 11 s the apply is
        # still running, so its safety reverter stops it and restores every device
        env = {**os.environ, "INTENT_STATE_DIR": str(state),
               "INTENT_FAULT": "after-verify:acc2:hang,rollback:acc2:hang"}
        start = time.monotonic()
        result = subprocess.run([str(INTENT), "apply", str(linux_lab.lab.site), "--yes", "--parallel", "1",
                                 "--device-timeout", "10", "--safety-timeout", "11"],
                                capture_output=True, text=True, env=env, timeout=90)
        assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
        assert 11 < time.monotonic() - start < 30
        guards_absent(state)
        assert linux_lab.dumps(state) == linux_lab.s0
        record = apply_record(state, "lab")
        assert record is not None and journal.shown_outcome(record) == "interrupted, restored by the safety reverter"


class Silent:
    """A TCP listener on 127.0.0.1 that accepts connections and never sends a byte."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


def test_a_remote_device_that_never_speaks_fails_within_its_budget(tmp_path: Path) -> None:
    silent = Silent()
    site = """\
site: edge
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, access: [acc1:eth5]}
  - name: far
    vlan: {id: 20, subnet: 10.20.0.0/24, gateway: core1, access: [edge:eth5]}
"""
    lab = Lab(tmp_path)
    lab.write("inventory.yaml", f"""\
        all:
          vars: {{platform: linux}}
          hosts:
            core1: {{netns: {lab.ns('core1')}}}
            acc1: {{netns: {lab.ns('acc1')}}}
            edge: {{host: 127.0.0.1, port: {silent.port}, username: root, ansible_ssh_private_key_file: /dev/null}}
        """)
    lab.write("topology.yaml", """\
        links:
          - {a: core1:eth1, b: acc1:eth0, bandwidth: 100Mbps}
          - {a: core1:eth2, b: edge:eth0, bandwidth: 100Mbps}
        """)
    lab.write("site.yaml", site)
    try:
        lab.intent("lab", "up")
        before = {device: lab.dump(device) for device in ("core1", "acc1")}
        start = time.monotonic()
        # a connection of its own would wait 60 s for the banner: the 3 s budget, not that, ends the device
        result = lab.intent("apply", "--yes", "--device-timeout", "3", "--connect-timeout", "60",
                            "--accept-new-host-keys", check=1)
        elapsed = time.monotonic() - start
        assert elapsed < 30, elapsed  # the budget, starting Python and reading the other two: half the 60 s
        assert "edge" in result.stderr and ("within its budget of 3s" in result.stderr or
                                            "cannot reach 127.0.0.1" in result.stderr), result.stderr
        assert {device: lab.dump(device) for device in before} == before
    finally:
        silent.close()
        lab.intent("lab", "down")


def test_lab_down_forgets_the_state_of_the_devices_it_removed(tmp_path: Path) -> None:
    # its own access ports: host namespaces are named h-<device>-<port>, and the package's lab is up
    site = SITE.replace("eth3", "eth6")
    with running_lab(tmp_path, site, apply=True) as lab:
        devices = lab.root / "state" / "lab" / "devices"
        assert json.loads((devices / "core1" / "owned.json").read_text())
        down = lab.intent("lab", "down")
        assert "cleared the state of acc1, acc2, core1" in down.stdout
        assert not any(devices.iterdir())
        lab.intent("lab", "up")
        plan = lab.intent("plan", "--format", "json")
        assert json.loads(plan.stdout)["changes"] is True  # a rebuilt lab inherits no ownership


def test_an_ssh_command_that_never_ends_fails_at_its_deadline(tmp_path: Path) -> None:
    """A real OpenSSH server (tests/sshlab.py): the command runs, never exits; run() gives up in time."""
    from drivers.ssh import CommandTimeout, ConnectOptions, connect, run
    from engine.model import Device
    from tests.sshlab import RemoteHost

    remote = RemoteHost(tmp_path / "remote")
    try:
        remote.start()
        (tmp_path / "known_hosts").write_text(remote.known_hosts_line())
        device = Device("edge", "linux", "linux", host=remote.address, username="root",
                        key_file=str(remote.client_key))
        client = connect(device, ConnectOptions(tmp_path / "known_hosts", timeout=5, command_timeout=1))
        try:
            assert run(client, "echo hello", timeout=5, device="edge")[1] == b"hello\n"
            start = time.monotonic()
            with pytest.raises(CommandTimeout, match="edge: no answer to a command within 1s"):
                run(client, "sleep 30", timeout=1, device="edge")
            assert time.monotonic() - start < 15  # the 1 s deadline, not the 30 s command (half: room for load)
        finally:
            client.close()
    finally:
        remote.stop()


def test_confirm_confirms_the_armed_apply_whatever_came_after_it(linux_lab: LinuxLab) -> None:
    with tmpfs(linux_lab.scratch / "confirm") as state:
        linux_lab.intent(state, "apply", "--yes", "--confirm-timeout", "60")
        armed = apply_record(state, "lab")
        assert armed is not None and journal.shown_outcome(armed) == "ok, awaiting confirm"
        site = linux_lab.lab.site
        original = site.read_text()
        try:  # a later apply, of another plan, that fails and rolls back
            site.write_text(original.replace("rate: 30Mbps", "rate: 20Mbps"))
            env = {**os.environ, "INTENT_STATE_DIR": str(state), "INTENT_FAULT": "after-commit:core1:error"}
            later = subprocess.run([str(INTENT), "apply", str(site), "--yes"], capture_output=True, text=True,
                                   env=env, timeout=60)
            assert later.returncode == 1 and "core1: FAILED" in later.stdout
        finally:
            site.write_text(original)
        confirmed = linux_lab.intent(state, "confirm")
        assert f"confirm {armed['id']}: ok" in confirmed.stdout
        history = linux_lab.intent(state, "history").stdout
        assert re.search(rf"apply +{armed['id']} .*ok, confirmed", history), history
        assert linux_lab.dumps(state) == linux_lab.s1
        linux_lab.intent(state, "rollback", "--to", armed["id"])
        assert linux_lab.dumps(state) == linux_lab.s0


def test_a_corrupt_state_file_of_the_second_device_mid_apply_fails_it_clearly(linux_lab: LinuxLab) -> None:
    """The issue's case: acc1 is applied, then acc2's ownership record is corrupted before acc2 is
    changed: a clear error naming the file, acc1 rolled back, core1 never started, history says so."""
    with tmpfs(linux_lab.scratch / "corrupt") as state:
        env = {**os.environ, "INTENT_STATE_DIR": str(state), "INTENT_FAULT": "before-stage:acc2:corrupt"}
        result = subprocess.run([str(INTENT), "apply", str(linux_lab.lab.site), "--yes", "--parallel", "1"],
                                capture_output=True, text=True, env=env, timeout=60)
        said = result.stdout + result.stderr
        assert result.returncode == 1, said
        owned = state / "lab" / "devices" / "acc2" / "owned.json"
        assert f"acc2: its ownership record {owned} cannot be read" in said, said
        assert "Traceback" not in said and "internal error" not in said and "unexpected" not in said, said
        assert "acc1: rolled back" in result.stdout, said
        assert re.search(r"core1: skipped\n +not started: another device failed", result.stdout), said
        record = apply_record(state, "lab")
        assert record is not None and record["outcome"] == "rolled back"
        steps = [(s["device"], s["step"]) for s in record["steps"]]
        assert steps[:4] == [("acc1", "staged"), ("acc1", "committing"), ("acc1", "committed"), ("acc1", "verified")]
        assert ("acc2", "failed") in steps and ("acc1", "rolled back") in steps
        assert ("acc2", "committing") not in steps and not any(device == "core1" for device, _ in steps)
        failed = next(s for s in record["steps"] if s["step"] == "failed")
        assert "ownership record" in failed["detail"]
        assert "rolled back" in linux_lab.intent(state, "history").stdout
        owned.unlink()  # the corrupt file is the operator's to repair; the devices themselves are as before
        assert linux_lab.dumps(state) == linux_lab.s0
        guards_absent(state)
