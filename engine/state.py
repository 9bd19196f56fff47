"""The state directory: snapshots, apply records and per-device driver records, next to the site.

Default ``<site dir>/.intent/<site>/``; ``--state-dir`` or ``INTENT_STATE_DIR`` move it.

    applies.jsonl        the audit log and write-ahead journal (engine.journal): an apply's record is
                         written before any device is touched, its steps as they happen, its outcome
                         last; rollbacks, confirms and reverters append theirs. Append-only, fsynced
    lock                 who is applying right now (one apply per site at a time)
    devices/<device>/    the driver's own records (owned objects, pending commit-confirm)
    ../archive/          every snapshot, content-addressed and deduplicated (engine.archive), shared
                         by the sites of one state directory

Writes are atomic (temporary file, fsync, rename), so a crash never leaves half a snapshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine import journal
from engine.archive import Archive
from engine.errors import IntentError
from engine.identifiers import inside
from engine.model import Site


class LockBusy(IntentError):
    """Another live process holds the site's lock."""


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
    def lock(self, action: str, take_stale: bool = False) -> Iterator[None]:
        """One apply/rollback/confirm per site at a time; a second is refused with who holds it.

        ``take_stale``: a lock whose process is gone is removed first (rollback and the safety
        reverter recover after a dead process)."""
        path = self.root / "lock"
        holder = {"user": _user(), "pid": os.getpid(), "host": socket.gethostname(), "action": action,
                  "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if take_stale:
                stale = self.lock_holder()
                if stale is not None and not self.lock_alive(stale):
                    path.unlink(missing_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise LockBusy(self.lock_message()) from None
        except OSError as exc:
            raise IntentError(f"cannot lock the site in {self.root}: {exc.strerror or exc}; nothing was changed") \
                from None
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(holder))
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise IntentError(f"cannot lock the site in {self.root}: {exc.strerror or exc}; nothing was changed") \
                from None
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
        return journal.alive(int(holder.get("pid", 0) or 0), holder.get("host"))

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

    @property
    def journal_path(self) -> Path:
        return self.root / "applies.jsonl"

    def record(self, entry: dict[str, Any]) -> None:
        """Append one journal line, fsynced (raises journal.JournalError when it cannot)."""
        journal.append(self.journal_path, entry)

    def records(self) -> list[dict[str, Any]]:
        """One record per apply, rollback and confirm, with everything that happened to it since."""
        return journal.fold(journal.lines(self.journal_path))

    def interrupted(self) -> list[dict[str, Any]]:
        """Applies that never ended and whose process is gone: their devices may be half changed."""
        return journal.interrupted(self.records())

    def snapshot_devices(self, snapshot_id: str) -> list[str]:
        """Devices whose state this snapshot was, per the audit log."""
        found = set()
        for record in self.records():
            for device, ids in (record.get("snapshots") or {}).items():
                if snapshot_id in ids.values():
                    found.add(device)
        return sorted(found)

    def last_apply(self) -> dict[str, Any]:
        applies = [r for r in self.records() if r.get("action") == "apply" and r.get("devices")
                   and r.get("outcome") != journal.IN_PROGRESS]
        if not applies:
            raise IntentError(f"no apply recorded in {self.root}")
        return applies[-1]

    def forget_devices(self, devices: list[str]) -> list[str]:
        """Remove the driver records (ownership, pending commit-confirm) of devices that are gone."""
        import shutil

        removed = []
        for device in devices:
            if self.device_dir(device).is_dir():
                shutil.rmtree(self.device_dir(device))
                removed.append(device)
        return removed


def _user() -> str:
    return journal.user()
