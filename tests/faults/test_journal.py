"""The write-ahead journal without devices: appends, folding, what history shows, the fault seam,
bounded device work, known_hosts under parallel writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from engine import faults, journal
from engine.errors import DriverError, IntentError
from engine.model import Device
from engine.transaction import DeviceTimeout, bounded, pending_confirm


def begin(path: Path, apply_id: str, pid: int, devices: list[str], **extra: object) -> None:
    journal.append(path, {"action": "apply", "id": apply_id, "outcome": journal.IN_PROGRESS, "pid": pid,
                          "host": os.uname().nodename, "devices": devices,
                          "snapshots": {d: {"before": "0" * 64} for d in devices}, **extra})


def step(path: Path, apply_id: str, device: str, what: str) -> None:
    journal.append(path, {"action": "step", "id": apply_id, "device": device, "step": what})


def dead_pid() -> int:
    process = multiprocessing.get_context("fork").Process(target=lambda: None)
    process.start()
    process.join()
    assert process.pid is not None
    return process.pid


def test_steps_fold_into_their_apply_and_the_end_line_sets_the_outcome(tmp_path: Path) -> None:
    log = tmp_path / "applies.jsonl"
    begin(log, "A", os.getpid(), ["r1", "r2"])
    step(log, "A", "r1", "staged")
    step(log, "A", "r1", "committing")
    assert journal.fold(journal.lines(log))[0]["shown_outcome"] == "in progress"
    assert journal.changed_devices(journal.fold(journal.lines(log))[0]) == ["r1"]
    step(log, "A", "r1", "rolled back")
    journal.append(log, {"action": "apply", "id": "A", "outcome": "rolled back"})
    [record] = journal.fold(journal.lines(log))
    assert record["outcome"] == "rolled back" and record["devices"] == ["r1", "r2"]
    assert [s["step"] for s in record["steps"]] == ["staged", "committing", "rolled back"]
    assert journal.changed_devices(record) == []
    assert len(log.read_text().splitlines()) == 5  # append-only: nothing was rewritten


def test_an_apply_whose_process_is_gone_is_interrupted_until_recovered(tmp_path: Path) -> None:
    log = tmp_path / "applies.jsonl"
    begin(log, "A", dead_pid(), ["r1", "r2"])
    step(log, "A", "r2", "committing")
    begin(log, "B", os.getpid(), ["r1"])  # this process is alive: in progress, not interrupted
    [found] = journal.interrupted(journal.fold(journal.lines(log)))
    assert found["id"] == "A" and journal.changed_devices(found) == ["r2"]
    journal.append(log, {"action": "rollback", "id": "R", "recovers": "A", "by": "guard", "outcome": "ok"})
    records = journal.fold(journal.lines(log))
    assert journal.interrupted(records) == []
    assert records[0]["shown_outcome"] == "interrupted, restored by the safety reverter"


def test_a_revert_at_the_deadline_shows_in_history_and_confirm_finds_the_armed_apply(tmp_path: Path) -> None:
    from engine.state import StateDir

    state = StateDir(tmp_path / "site")
    log = state.journal_path
    begin(log, "A", os.getpid(), ["r1", "r2"], confirm_timeout=60)
    journal.append(log, {"action": "apply", "id": "A", "outcome": "ok", "confirm_timeout": 60})
    journal.append(log, {"action": "apply", "id": "B", "outcome": "rolled back", "devices": ["r1"]})
    journal.append(log, {"action": "dry-run", "id": "C", "outcome": "ok", "devices": ["r1"]})
    assert pending_confirm(state)["id"] == "A"  # whatever came after it
    journal.append(log, {"action": "reverted", "device": "r1", "ok": True})
    assert state.records()[0]["shown_outcome"] == "partly reverted (r1)"
    journal.append(log, {"action": "reverted", "device": "r2", "ok": True})
    assert state.records()[0]["shown_outcome"] == "reverted (not confirmed in time)"
    with pytest.raises(IntentError, match="too late: apply A was not confirmed in time"):
        pending_confirm(state)


def test_a_torn_last_line_is_skipped_and_a_corrupt_one_is_an_error(tmp_path: Path) -> None:
    log = tmp_path / "applies.jsonl"
    begin(log, "A", os.getpid(), ["r1"])
    with open(log, "a") as handle:
        handle.write('{"action": "step", "id"')  # a crash mid-write
    assert len(journal.lines(log)) == 1
    log.write_text('{"action": "apply"\n' + log.read_text())
    with pytest.raises(IntentError, match="not an apply record"):
        journal.lines(log)


def test_parallel_appenders_never_interleave(tmp_path: Path) -> None:
    log = tmp_path / "applies.jsonl"

    def writer(number: int) -> None:
        for index in range(50):
            journal.append(log, {"action": "step", "id": "A", "device": f"d{number}", "step": "x" * (index * 40)})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(journal.lines(log)) == 400


def test_an_unwritable_journal_raises_a_journal_error(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(journal.JournalError, match="cannot write the journal"):
        journal.append(tmp_path / "dir", {"action": "x"})  # a directory where the file should be


def test_device_specs_keep_no_secret(tmp_path: Path) -> None:
    device = Device("s1", "ios", "netmiko", host="192.0.2.1", password="hunter2",
                    napalm_args=(("path", "x"),), extra=(("enable_secret_env", "S1_ENABLE"), ("enable_secret", "pw")))
    spec = journal.device_spec(device)
    assert "hunter2" not in json.dumps(spec) and '"pw"' not in json.dumps(spec)
    again = journal.device_from_spec(json.loads(json.dumps(spec)), "hunter2")
    assert again == Device("s1", "ios", "netmiko", host="192.0.2.1", password="hunter2",
                           napalm_args=(("path", "x"),), extra=(("enable_secret_env", "S1_ENABLE"),))


def test_the_fault_seam_fires_once_per_phase_and_device(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(faults, "_fired", set())
    monkeypatch.setenv("INTENT_FAULT", "after-stage:r2:error,before-commit:*:exception")
    faults.fire("after-stage", "r1", tmp_path)  # another device: nothing
    with pytest.raises(DriverError, match="r2: injected fault at after-stage"):
        faults.fire("after-stage", "r2", tmp_path)
    faults.fire("after-stage", "r2", tmp_path)  # once
    with pytest.raises(KeyError):
        faults.fire("before-commit", "r1", tmp_path)
    monkeypatch.setenv("INTENT_FAULT", "sometime:r1:error")
    with pytest.raises(IntentError, match="is not PHASE:DEVICE:KIND"):
        faults.fire("after-stage", "r1", tmp_path)


def test_full_refuses_to_fill_a_large_file_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faults, "FILL_LIMIT", 1024)
    with pytest.raises(IntentError, match="refusing to fill"):
        faults.fill(tmp_path)
    assert not (tmp_path / ".fault-fill").exists() or (tmp_path / ".fault-fill").stat().st_size == 0


def test_a_device_over_its_budget_fails_and_does_not_hold_the_rest() -> None:
    heard: list[str] = []

    def work(name: str) -> None:
        if name == "hangs":
            time.sleep(30)
        if name == "raises":
            raise KeyError("boom")

    start = time.monotonic()
    outcome = bounded(["hangs", "raises", "fine"], work, 3, 0.5, report=lambda name, _: heard.append(name))
    assert time.monotonic() - start < 15  # the 0.5 s budget, not the 30 s hang (half: room for a loaded machine)
    assert isinstance(outcome["hangs"], DeviceTimeout) and "within its budget of 0.5s" in str(outcome["hangs"])
    assert isinstance(outcome["raises"], KeyError) and outcome["fine"] is None
    assert sorted(heard) == ["hangs", "raises"]


def test_known_hosts_written_by_parallel_connects_holds_each_key_once(tmp_path: Path) -> None:
    import paramiko

    from drivers.ssh import record_host_key

    keys = [paramiko.RSAKey.generate(1024) for _ in range(4)]
    known = tmp_path / "known_hosts"

    def connect(number: int) -> None:
        for index, key in enumerate(keys):
            record_host_key(known, f"[127.0.0.1]:{2200 + index}", key)

    threads = [threading.Thread(target=connect, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = known.read_text().splitlines()
    assert len(lines) == 4 and len(set(lines)) == 4
    loaded = paramiko.HostKeys(str(known))
    assert all(loaded.lookup(f"[127.0.0.1]:{2200 + i}") for i in range(4))
