"""Fault injection: the transaction's test seam, driven by ``INTENT_FAULT`` (unset in production).

    INTENT_FAULT="PHASE:DEVICE:KIND[,PHASE:DEVICE:KIND...]"

PHASE is where in one device's part of an apply the fault fires:

    before-stage    after the apply's journal record is written, before the device's change is loaded
    after-stage     the change is loaded (nothing active yet)
    before-commit   just before the commit is sent: with --parallel 1, between device k and k+1's commit
    after-commit    the commit went through, before the engine reads the device back to verify it
    after-verify    the device is verified
    rollback        while this device is being restored (a first fault must have caused a rollback)
    committed       after the apply's outcome "ok" is written (the commit point): devices stay applied

DEVICE is a device name or ``*``. KIND is what happens: ``error`` (a DriverError, our own error),
``exception`` (a KeyError, as a buggy driver raises), ``hang`` (the device never answers again),
``kill`` (SIGKILL of the intent process), ``full`` (the state directory's file system is filled up
to the last byte, for real; refused on a file system over 64 MiB, so only a test's tmpfs can be
filled), ``corrupt`` (every file of the device's own state directory, ``devices/DEVICE/``, is
overwritten with bytes that are no JSON; an empty directory gets a corrupt ``owned.json``). Each
fault fires once per process.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from engine.errors import DriverError, IntentError

PHASES = ("before-stage", "after-stage", "before-commit", "after-commit", "after-verify", "rollback", "committed")
KINDS = ("error", "exception", "hang", "kill", "full", "corrupt")
FILL_LIMIT = 64 * 1024 * 1024

_fired: set[str] = set()
_lock = threading.Lock()


def wanted() -> list[tuple[str, str, str]]:
    spec = os.environ.get("INTENT_FAULT", "").strip()
    faults = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        parts = item.split(":")
        if len(parts) != 3 or parts[0] not in PHASES or parts[2] not in KINDS:
            raise IntentError(f"INTENT_FAULT: {item!r} is not PHASE:DEVICE:KIND (phases {', '.join(PHASES)}; "
                              f"kinds {', '.join(KINDS)})")
        faults.append((parts[0], parts[1], parts[2]))
    return faults


def fire(phase: str, device: str, state_root: Path) -> None:
    """Inject the fault INTENT_FAULT names for this phase and device, once."""
    if "INTENT_FAULT" not in os.environ:
        return
    for wanted_phase, wanted_device, kind in wanted():
        key = f"{wanted_phase}:{wanted_device}:{kind}"
        if wanted_phase != phase or wanted_device not in ("*", device):
            continue
        with _lock:
            if key in _fired:
                continue
            _fired.add(key)
        _inject(kind, device, phase, state_root)


def _inject(kind: str, device: str, phase: str, state_root: Path) -> None:
    if kind == "error":
        raise DriverError(device, f"injected fault at {phase}")
    if kind == "exception":
        raise KeyError(f"injected foreign exception at {phase}")
    if kind == "hang":
        time.sleep(3600)
    elif kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)
    elif kind == "full":
        fill(state_root)
    elif kind == "corrupt":
        corrupt(state_root / "devices" / device)


def corrupt(directory: Path) -> None:
    """Overwrite every file in ``directory`` (a device's state) with bytes that are no JSON."""
    directory.mkdir(parents=True, exist_ok=True)
    files = [path for path in directory.iterdir() if path.is_file()] or [directory / "owned.json"]
    for path in files:
        path.write_bytes(b'["vlan:10", \x00\xff truncated')


def fill(directory: Path) -> None:
    """Fill the file system holding ``directory`` to the last byte (small file systems only)."""
    directory.mkdir(parents=True, exist_ok=True)
    stats = os.statvfs(directory)
    if stats.f_blocks * stats.f_frsize > FILL_LIMIT:
        raise IntentError(f"INTENT_FAULT full: refusing to fill {directory}, its file system is over 64 MiB")
    block = b"\0" * 65536
    with open(directory / ".fault-fill", "ab", buffering=0) as handle:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    handle.write(block[:size])
            except OSError:
                continue
        os.fsync(handle.fileno())
