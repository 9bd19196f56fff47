"""Detached commit-confirm reverter for any driver: ``python -m drivers.revert WORK_DIR TOKEN``.

A driver that arms a revert writes ``pending.json`` (token, deadline, the device without secrets,
the snapshot) and starts this in a new session, so it outlives the ``intent`` process. At the
deadline it claims the file by renaming it (``confirm()`` claims it the same way, so exactly one
wins) and restores the snapshot through the same driver, then appends what it did to the site's
journal (``{"action": "reverted", "device": ..., "ok": ...}``), so history shows the apply as
reverted. Credentials come from the environment it inherited (``password_env``), never from its
command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from engine import journal
from engine.driver import Connection, DriverRegistry
from engine.errors import CommitError
from engine.model import Device
from engine.state import StateDir


def arm(work_dir: Path, device: Device, snapshot: str, seconds: int, connection: dict[str, Any]) -> str:
    """Write the pending record and start the reverter; return its token."""
    token = uuid.uuid4().hex
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "reverted.json").unlink(missing_ok=True)  # from an earlier commit
    spec = journal.device_spec(device)
    record = {"token": token, "deadline": time.time() + seconds, "device": spec, "snapshot": snapshot,
              "connection": connection}
    tmp = work_dir / ".pending.tmp"
    tmp.write_text(json.dumps(record))
    tmp.replace(work_dir / "pending.json")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    env.pop("INTENT_FAULT", None)
    if device.password is not None:  # a plaintext or prompted password reaches the child only through its env
        env["INTENT_REVERT_PASSWORD"] = device.password
    subprocess.Popen([sys.executable, "-m", "drivers.revert", str(work_dir), token], cwd=root,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, env=env)
    return token


def claim(work_dir: Path, device: str) -> None:
    """confirm(): take the pending record before the reverter does."""
    try:
        (work_dir / "pending.json").replace(work_dir / "confirmed.json")
    except FileNotFoundError:
        if (work_dir / "reverted.json").exists() or (work_dir / "reverting.json").exists():
            raise CommitError(device, "too late: the commit was already reverted at its deadline") from None
        raise CommitError(device, "no commit is waiting for confirmation") from None


def main(work_dir: Path, token: str) -> int:
    pending = work_dir / "pending.json"
    try:
        record = json.loads(pending.read_text())
    except (FileNotFoundError, ValueError):
        return 0
    if record.get("token") != token:
        return 0
    time.sleep(max(0.0, record["deadline"] - time.time()))
    claimed = work_dir / "reverting.json"
    try:
        pending.replace(claimed)
    except FileNotFoundError:
        return 0  # confirmed in time
    if json.loads(claimed.read_text()).get("token") != token:
        claimed.replace(pending)  # a newer commit's record: not ours
        return 0
    device = journal.device_from_spec(record["device"], os.environ.get("INTENT_REVERT_PASSWORD"))
    outcome: dict[str, Any] = {"token": token, "reverted_at": time.time(), "ok": True, "error": None}
    state = StateDir(work_dir.parent.parent)
    try:
        connection = Connection(record["connection"].get("known_hosts"), False, DriverRegistry.installed())
        with connection.drivers.create(device, work_dir, connection) as driver:
            driver.rollback(record["snapshot"])
    except Exception as exc:  # noqa: BLE001 - recorded for `intent confirm` and `history` to show
        outcome.update(ok=False, error=str(exc))
    (work_dir / "reverted.json").write_text(json.dumps(outcome))
    claimed.unlink(missing_ok=True)
    try:
        state.record({"action": "reverted", "device": device.name, "ok": outcome["ok"], "error": outcome["error"],
                      "token": token})
    except Exception:  # noqa: BLE001, S110 - reverted.json above still tells `intent confirm`
        pass
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))
