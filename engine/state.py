"""The state directory: snapshots, apply records and per-device driver records, next to the site.

Default ``<site dir>/.intent/<site>/``; ``--state-dir`` or ``INTENT_STATE_DIR`` move it.

    applies.jsonl        the audit log: one JSON record per apply/rollback/confirm (user, time, plan
                         hash, devices, their snapshots before and after, outcome), append-only
    lock                 who is applying right now (one apply per site at a time)
    devices/<device>/    the driver's own records (owned objects, pending commit-confirm)
    ../archive/          every snapshot, content-addressed and deduplicated (engine.archive), shared
                         by the sites of one state directory

Writes are atomic (temporary file, fsync, rename), so a crash never leaves half a snapshot.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.archive import Archive
from engine.errors import IntentError
from engine.identifiers import inside
from engine.model import Site


class StateDir:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_site(cls, site: Site, override: str | os.PathLike[str] | None = None) -> StateDir:
        chosen = override or os.environ.get("INTENT_STATE_DIR")
        if chosen:
            return cls(Path(chosen) / site.name)
        return cls(Path(site.path).resolve().parent / ".intent" / site.name)

    def device_dir(self, device: str) -> Path:
        return inside(self.root / "devices", device)  # never a path outside the state directory

    def new_apply_id(self) -> str:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)

    @property
    def archive(self) -> Archive:
        return Archive(self.root.parent / "archive")

    def save_snapshot(self, text: str) -> str:
        """Store a device's state in the archive; return its snapshot id."""
        return self.archive.put(text)

    def snapshot(self, snapshot_id: str) -> str:
        return self.archive.get(snapshot_id)

    @contextlib.contextmanager
    def lock(self, action: str) -> Iterator[None]:
        """One apply/rollback/confirm per site at a time; a second is refused with who holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "lock"
        holder = {"user": _user(), "pid": os.getpid(), "host": socket.gethostname(), "action": action,
                  "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise IntentError(self.lock_message()) from None
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(holder))
        try:
            yield
        finally:
            path.unlink(missing_ok=True)

    def lock_holder(self) -> dict[str, Any] | None:
        try:
            holder: dict[str, Any] = json.loads((self.root / "lock").read_text())
            return holder
        except FileNotFoundError:
            return None
        except ValueError:
            return {"user": "?", "pid": 0, "host": "?", "action": "?", "since": "?"}

    def lock_alive(self, holder: dict[str, Any]) -> bool:
        if holder.get("host") != socket.gethostname():
            return True  # another machine: we cannot tell, so it counts as alive
        try:
            os.kill(int(holder.get("pid", 0)), 0)
            return True
        except (ProcessLookupError, ValueError):
            return False
        except PermissionError:
            return True

    def lock_message(self) -> str:
        holder = self.lock_holder() or {}
        where = f"pid {holder.get('pid')} on {holder.get('host')}"
        message = f"site is locked by {holder.get('user')} ({holder.get('action')}, {where}) since {holder.get('since')}"
        if not self.lock_alive(holder):
            message += f"; that process is gone: remove the stale lock with `intent unlock` ({self.root / 'lock'})"
        return message

    def unlock(self, force: bool = False) -> dict[str, Any] | None:
        """Remove a stale lock (its process is gone); a live one only with ``force``."""
        holder = self.lock_holder()
        if holder is None:
            return None
        if self.lock_alive(holder) and not force:
            raise IntentError(self.lock_message() + "; it is still running (use --force if you are sure it is not)")
        (self.root / "lock").unlink(missing_ok=True)
        return holder

    def record(self, entry: dict[str, Any]) -> None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "user": _user(), **entry}
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "applies.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(entry, sort_keys=True) + "\n")
            log.flush()
            os.fsync(log.fileno())

    def records(self) -> list[dict[str, Any]]:
        path = self.root / "applies.jsonl"
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                raise IntentError(f"{path}:{number}:1: not an apply record (the audit log is corrupt)")
            records.append(record)
        return records

    def snapshot_devices(self, snapshot_id: str) -> list[str]:
        """Devices whose state this snapshot was, per the audit log."""
        found = set()
        for record in self.records():
            for device, ids in (record.get("snapshots") or {}).items():
                if snapshot_id in ids.values():
                    found.add(device)
        return sorted(found)

    def last_apply(self) -> dict[str, Any]:
        applies = [r for r in self.records() if r.get("action") == "apply" and r.get("devices")]
        if not applies:
            raise IntentError(f"no apply recorded in {self.root}")
        return applies[-1]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
