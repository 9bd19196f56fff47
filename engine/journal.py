"""The write-ahead journal of a site: ``applies.jsonl``, appended and fsynced, folded for reading.

An apply writes its record *before* the first device is touched (outcome ``in progress``: id, plan
hash, devices, each device's pre-apply snapshot id, the pid and host of the applying process), then
one ``step`` line per thing that happens to a device, written before it happens where it changes
the device (``committing`` before the commit is sent), and last the same record again with its
outcome. Reverters append what they did (``reverted``), a recovery appends ``recovered``.

    {"action": "apply", "id": "...", "outcome": "in progress", "devices": [...], "snapshots": {...}, ...}
    {"action": "step", "id": "...", "device": "acc1", "step": "committing"}
    {"action": "apply", "id": "...", "outcome": "ok", ...}
    {"action": "reverted", "device": "acc1", "ok": true, ...}    # a commit-confirm that timed out

``fold()`` turns the lines into one record per apply, rollback and confirm, with the steps of each
device and what came after it (confirmed, reverted, recovered): what ``intent history`` shows.
Every append holds an exclusive ``fcntl`` lock on the file, so the applying process and detached
reverters never interleave lines.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from engine.errors import IntentError
from engine.model import Device

IN_PROGRESS = "in progress"
ENDED = ("ok", "rolled back", "failed", "rollback failed")
# Steps after which a device may differ from its pre-apply snapshot (written before the change is sent).
CHANGING = ("committing", "committed", "verified", "rollback failed")
SECRET_FIELDS = {"password"}


class JournalError(IntentError):
    """The journal cannot be written: the apply refuses (before any device) or stops."""


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def append(path: Path, entry: dict[str, Any]) -> None:
    """Append one line and fsync it, under an exclusive lock. Raises JournalError (full, read-only)."""
    line = json.dumps({"time": now(), "user": user(), **entry}, sort_keys=True) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise JournalError(f"cannot write the journal {path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = line.encode()
        written = os.write(fd, data)
        if written != len(data):  # a short write: the file system is full; take the fragment back
            os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_END) - written)
            raise OSError(28, "No space left on device")
        os.fsync(fd)
    except OSError as exc:
        raise JournalError(f"cannot write the journal {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def lines(path: Path) -> list[dict[str, Any]]:
    """Every line as written; a torn last line (a crash mid-write) is skipped, others must parse."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    found = []
    raw = text.splitlines()
    for number, line in enumerate(raw, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            if number == len(raw) and not text.endswith("\n"):
                continue
            entry = None
        if not isinstance(entry, dict):
            raise IntentError(f"{path}:{number}:1: not an apply record (the audit log is corrupt)")
        found.append(entry)
    return found


def fold(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per apply/rollback/confirm/dry-run, in the order they began, steps folded in."""
    records: list[dict[str, Any]] = []
    applies: dict[str, dict[str, Any]] = {}
    for entry in entries:
        action = entry.get("action")
        if action == "apply" and entry.get("id") in applies:
            record = applies[entry["id"]]
            steps = record.get("steps", [])
            record.update(entry)
            record["steps"] = steps
            continue
        if action == "step":
            target = applies.get(entry.get("id", ""))
            if target is not None:
                target.setdefault("steps", []).append(
                    {k: entry[k] for k in ("time", "device", "step", "detail") if k in entry})
            continue
        if action == "reverted":
            target = _armed_target(records, entry)
            if target is not None:
                target.setdefault("reverted", {})[entry["device"]] = {
                    "ok": entry.get("ok", False), "error": entry.get("error"), "time": entry.get("time")}
            continue
        record = dict(entry)
        records.append(record)
        if action == "apply":
            record.setdefault("steps", [])
            applies[record["id"]] = record
        elif action == "confirm" and record.get("id") in applies and record.get("outcome") == "ok":
            applies[record["id"]]["confirmed"] = True
        elif action == "rollback" and record.get("recovers") in applies:
            applies[record["recovers"]]["recovered"] = {"by": record.get("by", "rollback"),
                                                        "outcome": record.get("outcome"), "id": record.get("id")}
    for record in records:
        if record.get("action") == "apply":
            record["shown_outcome"] = shown_outcome(record)
    return records


def _armed_target(records: list[dict[str, Any]], entry: dict[str, Any]) -> dict[str, Any] | None:
    """The apply a reverter's line belongs to: the one named, else the last armed apply of that device."""
    record: dict[str, Any]
    for record in reversed(records):
        if record.get("action") != "apply":
            continue
        if entry.get("id") and record.get("id") == entry["id"]:
            return record
        if not entry.get("id") and record.get("confirm_timeout") and entry.get("device") in record.get("devices", []):
            return record
    return None


def shown_outcome(record: dict[str, Any]) -> str:
    """What history says about an apply, after everything that happened to it since."""
    outcome = str(record.get("outcome", ""))
    recovered = record.get("recovered")
    if outcome == IN_PROGRESS or outcome == "rollback failed":
        if recovered:
            by = "the safety reverter" if recovered.get("by") == "guard" else "intent rollback"
            return f"interrupted, restored by {by}" if recovered.get("outcome") == "ok" else \
                f"interrupted, restore by {by} FAILED"
        return outcome if outcome == "rollback failed" else IN_PROGRESS
    reverted = record.get("reverted") or {}
    if outcome == "ok" and reverted:
        failed = sorted(d for d, r in reverted.items() if not r.get("ok"))
        if failed:
            return f"revert FAILED on {', '.join(failed)}"
        return "reverted (not confirmed in time)" if set(reverted) >= set(changed_devices(record) or record.get("devices", [])) else \
            f"partly reverted ({', '.join(sorted(reverted))})"
    if outcome == "ok" and record.get("confirm_timeout"):
        return "ok, confirmed" if record.get("confirmed") else "ok, awaiting confirm"
    return outcome


def changed_devices(record: dict[str, Any]) -> list[str]:
    """Devices that may differ from their pre-apply snapshot, per the steps of the record."""
    last: dict[str, str] = {}
    for step in record.get("steps", []):
        last[step["device"]] = step["step"]
        if step["step"] in CHANGING:
            last[step["device"] + "\0changed"] = "yes"
    return sorted(d for d in record.get("devices", []) if d + "\0changed" in last and last.get(d) != "rolled back")


def alive(pid: int, host: str | None) -> bool:
    """Whether the process that wrote a record still runs (on another host we cannot tell: yes)."""
    if host is not None and host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return _not_zombie(int(pid))


def _not_zombie(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields[0] != "Z"


def interrupted(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Applies that began and never ended, whose process is gone, and that no one has restored yet."""
    found = []
    for record in records:
        if record.get("action") != "apply" or record.get("recovered", {}).get("outcome") == "ok":
            continue
        if record.get("outcome") in (IN_PROGRESS, "rollback failed") and not alive(record.get("pid", 0),
                                                                                      record.get("host")):
            found.append(record)
    return found


def device_spec(device: Device) -> dict[str, Any]:
    """A device without its secrets, as JSON (for detached reverters): of the extra variables only
    the names of variables (``*_env``) and ``tls_verify`` are kept."""
    spec = {k: (v.value if hasattr(v, "value") else v) for k, v in device.__dict__.items() if k not in SECRET_FIELDS}
    spec["extra"] = [[k, v] for k, v in device.extra if k.endswith("_env") or k == "tls_verify"]
    return spec


def device_from_spec(spec: dict[str, Any], password: str | None) -> Device:
    fields = dict(spec)
    fields["platform"], fields["driver"] = str(fields["platform"]), str(fields["driver"])
    fields["interfaces"] = tuple(fields["interfaces"]) if fields.get("interfaces") else None
    fields["groups"] = tuple(fields.get("groups") or ())
    fields["napalm_args"] = tuple(tuple(pair) for pair in fields.get("napalm_args") or ())
    fields["extra"] = tuple(tuple(pair) for pair in fields.get("extra") or ())
    return Device(**fields, password=password)


def password_variable(device: str) -> str:
    """The environment variable a detached reverter reads a device's plaintext/prompted password from."""
    return "INTENT_REVERT_PASSWORD_" + device.upper().replace("-", "_")
