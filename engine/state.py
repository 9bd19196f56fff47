"""The state directory: snapshots, apply records and per-device driver records, next to the site.

Default ``<site dir>/.intent/<site>/``; ``--state-dir`` or ``INTENT_STATE_DIR`` move it.

    applies.jsonl                      one JSON record per apply/rollback/confirm, appended
    snapshots/<apply-id>/<device>.json running state of each device before that apply
    devices/<device>/                  the driver's own records (owned objects, pending confirm)

Writes are atomic (temporary file, fsync, rename), so a crash never leaves half a snapshot.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from engine.errors import IntentError
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
        return self.root / "devices" / device

    def new_apply_id(self) -> str:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)

    def save_snapshot(self, apply_id: str, device: str, text: str) -> Path:
        return write_atomic(self.root / "snapshots" / apply_id / f"{device}.json", text)

    def snapshot(self, apply_id: str, device: str) -> str:
        path = self.root / "snapshots" / apply_id / f"{device}.json"
        try:
            return path.read_text()
        except FileNotFoundError:
            raise IntentError(f"no snapshot of {device} for apply {apply_id} in {self.root}") from None

    def record(self, entry: dict[str, Any]) -> None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "user": _user(), **entry}
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "applies.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(entry, sort_keys=True) + "\n")
            log.flush()
            os.fsync(log.fileno())

    def records(self) -> list[dict[str, Any]]:
        try:
            lines = (self.root / "applies.jsonl").read_text().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def last_apply(self) -> dict[str, Any]:
        applies = [r for r in self.records() if r.get("action") == "apply" and r.get("devices")]
        if not applies:
            raise IntentError(f"no apply recorded in {self.root}")
        return applies[-1]


def write_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    return path


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
