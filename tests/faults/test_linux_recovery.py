"""Recovery on the Linux lab: a journal that cannot be written refuses before any device, SIGTERM
rolls back, an interrupted apply is announced by every command and `intent rollback` restores it,
a device that accepts TCP and never speaks fails within its budget, removing any intent of
examples/lab applies cleanly, and `lab down` forgets the state of the devices it removed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine import faults, journal
from tests.conftest import INTENT
from tests.faults.conftest import LinuxLab
from tests.faults.matrix import apply_record, tmpfs, wait_for_reverters

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
