"""Detached commit-confirm reverter: ``python -m drivers.linux.revert WORK_DIR TOKEN``.

Started by LinuxDriver.commit(revert_in=...) in a new session, so it outlives the ``intent``
process. At the deadline it claims ``pending.json`` by renaming it (confirm() claims it the same
way, so exactly one of them wins) and restores the snapshot inside it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from drivers.linux.driver import LinuxDriver
from engine.model import Device, DriverName, Platform


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
        claimed.replace(pending)  # a newer commit's record: not ours to revert
        return 0
    device = Device(record["device"], Platform.LINUX, DriverName.LINUX, netns=record["netns"])
    outcome = {"token": token, "reverted_at": time.time(), "ok": True, "error": None}
    try:
        with LinuxDriver(device, work_dir) as driver:
            driver.rollback(json.dumps(record["snapshot"]))
    except Exception as exc:  # noqa: BLE001 - recorded for `intent confirm`/`history` to show
        outcome.update(ok=False, error=str(exc))
    (work_dir / "reverted.json").write_text(json.dumps(outcome))
    claimed.unlink(missing_ok=True)
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))
