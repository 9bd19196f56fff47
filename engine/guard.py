"""The safety reverter of one apply: ``python -m engine.guard STATE_ROOT APPLY_ID``.

Every apply starts one (``engine.transaction.arm_guard``) in its own session, right after its
journal record is written and before any device is touched, so it outlives a killed ``intent``.
It watches the journal and the applying process, and stands down as soon as the apply's outcome
is written (``ok``: the commit point; ``rolled back``: the apply restored its devices itself). It
takes over when

- the applying process is gone (SIGKILL, OOM, a crash, a power cut of the terminal) before the
  outcome, or after a rollback that failed: at once, polled every 0.2 s;
- the apply still runs at its safety deadline (``--safety-timeout``): the process is killed first,
  so that exactly one of them changes devices.

Taking over is what ``intent rollback SITE`` does after an interrupted apply: the stale lock is
cleared, every device of the apply is restored to its pre-apply snapshot (read back, hash-checked)
and the journal says ``recovered`` by the safety reverter. Device credentials come from the
environment it inherited, never from its command line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from engine import journal
from engine.errors import IntentError
from engine.state import LockBusy, StateDir

POLL = 0.2
RESTORE_FLOOR = 60.0  # seconds each device's restore gets at least: nobody waits on the reverter, and its
                      # first connection also loads the driver's library (seconds on a loaded machine)


def find(state: StateDir, apply_id: str) -> dict[str, Any] | None:
    return next((r for r in state.records() if r.get("action") == "apply" and r.get("id") == apply_id), None)


def watch(state: StateDir, apply_id: str) -> dict[str, Any] | None:
    """Wait until the apply ends (None: stand down) or must be taken over (its record)."""
    while True:
        record = find(state, apply_id)
        if record is None or record.get("outcome") in ("ok", "rolled back", "failed") or record.get("recovered"):
            return None
        pid = int(record.get("pid", 0))
        if not journal.alive(pid, record.get("host")):
            return record
        deadline = record.get("safety_deadline")
        if deadline and time.time() >= float(deadline):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            for _ in range(50):
                if not journal.alive(pid, None):
                    break
                time.sleep(0.1)
            return find(state, apply_id)
        time.sleep(POLL)


def take_over(state: StateDir, record: dict[str, Any]) -> int:
    from engine.driver import Connection, DriverRegistry
    from engine.transaction import recover, site_of

    devices = {name: journal.device_from_spec(spec, os.environ.get(journal.password_variable(name)))
               for name, spec in (record.get("device_specs") or {}).items()}
    site = site_of(devices, str(record.get("site", "")), str(record.get("site_file", "")))
    options = record.get("connection") or {}
    connection = Connection(options.get("known_hosts"), False, DriverRegistry.installed(),
                            float(options.get("connect_timeout") or 15), float(options.get("command_timeout") or 60))
    for _ in range(50):  # a live `intent rollback` may hold the lock: wait for it, then look again
        lock: contextlib.AbstractContextManager[None] = state.lock("safety revert", take_stale=True)
        try:
            lock.__enter__()
        except LockBusy:
            time.sleep(POLL)
            continue
        except IntentError:  # the lock cannot even be written (full, read-only): restore all the same
            lock = contextlib.nullcontext()
        try:
            current = find(state, str(record["id"])) or record
            if current.get("recovered", {}).get("outcome") == "ok" or current.get("outcome") in ("ok", "rolled back"):
                return 0
            budget = max(float(record.get("device_timeout") or 120), RESTORE_FLOOR)
            run = recover(site, state, current, "guard", budget=budget, connection=connection)
            return 1 if run.failed else 0
        except IntentError:
            return 1  # the devices are restored as far as they could be; the journal could not say so
        finally:
            lock.__exit__(None, None, None)
    return 1


def main(root: Path, apply_id: str) -> int:
    state = StateDir(root)
    try:
        record = watch(state, apply_id)
        return 0 if record is None else take_over(state, record)
    except IntentError:
        return 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))
