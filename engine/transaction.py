"""apply, rollback, confirm: one transaction across devices, executed through drivers.

This module imports no driver: they come in ``Connection.drivers`` (found through entry points by
whoever composes the run) and load when a device is opened.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from engine.compilation import Compilation
from engine.driver import Connection, Driver, Probe
from engine.errors import IntentError
from engine.model import Device, Site
from engine.plan import Plan, make_plan, masker_for
from engine.render import DeviceConfig
from engine.state import StateDir

Progress = Callable[[str, str], None]  # (device, what happens now)


CONNECTION = Connection()


def open_driver(device: Device, state: StateDir, connection: Connection = CONNECTION) -> Driver:
    """The driver for ``device``, found in ``connection.drivers`` by the inventory's ``driver`` name."""
    return connection.drivers.create(device, state.device_dir(device.name), connection)


@dataclass
class DeviceResult:
    """What happened on one device (nornir's Result): never an exception escaping the run."""

    device: str
    changed: bool = False
    diff: str = ""
    failed: bool = False
    error: str | None = None
    rolled_back: bool = False
    changes: int = 0


@dataclass
class RunResult:
    action: str
    apply_id: str
    results: dict[str, DeviceResult] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.results.values())


@dataclass
class ReadTexts:
    """Running state already read from the devices."""

    directory: str
    texts: dict[str, str]

    def read(self, device: str, platform: str) -> str | None:
        return self.texts.get(device)


def live_plan(site: Site, compilation: Compilation, state: StateDir, parallel: int = 8,
              connection: Connection = CONNECTION, progress: Progress = lambda d, s: None) -> Plan:
    """Plan against the devices; refuse features their kernels lack, naming device and choices.
    ``progress`` hears ``(device, "reading")`` then ``"read"`` or ``"failed"``."""
    problems: list[str] = []
    texts: dict[str, str] = {}
    lock = threading.Lock()

    def read(name: str) -> None:
        config = compilation.configs[name]
        progress(name, "reading")
        try:
            with open_driver(site.devices[name], state, connection) as driver:
                text = driver.get_running()
                missing = driver.probe(config) if isinstance(driver, Probe) else []
        except BaseException:
            progress(name, "failed")
            raise
        progress(name, "read")
        with lock:
            texts[name] = text
            problems.extend(f"{name}: {sentence}" for sentence in missing)

    masker = masker_for(site)
    try:
        _run_all(sorted(compilation.configs), read, parallel)
    except IntentError as exc:
        raise IntentError(masker(str(exc))) from None
    if problems:
        raise IntentError("\n".join(sorted(problems)))

    return make_plan(site, compilation, ReadTexts("live devices", texts))


def load_plan_file(path: Any, state_dir: Any, connection: Connection, allow_plaintext_secrets: bool,
                   parallel: int) -> tuple[Site, Any, Plan, StateDir]:
    """A plan file to apply exactly: refused if any device's state changed since it was planned."""
    import os
    from pathlib import Path

    from engine.compilation import Compilation
    from engine.loader import load_site
    from engine.plan import PLAN_KEY_ENV, check_plan_site, read_plan_file

    # Hash, signature and shape first: nothing is loaded or contacted for a modified file.
    document = read_plan_file(Path(path), os.environ.get(PLAN_KEY_ENV) or None)
    site = load_site(document["site_file"], allow_plaintext_secrets=allow_plaintext_secrets)
    check_plan_site(Path(path), document, site)
    state = StateDir.for_site(site, state_dir)
    configs = {name: DeviceConfig(name, d["platform"], d["text"], d["document"])
               for name, d in document["desired"].items()}
    compilation = Compilation({}, configs, ())
    live = live_plan(site, compilation, state, parallel, connection)
    stale = sorted(name for name, digest in document["running_sha256"].items()
                   if live.running_sha256.get(name) != digest)
    if stale:
        raise IntentError(f"{path} is stale: {', '.join(stale)} changed since it was planned; plan again")
    planned = Plan(document["site"], live.devices, live.reservations, live.intents, source=f"plan file {path}",
                   running_sha256=live.running_sha256, plan_hash=document["plan_hash"])
    return site, compilation, planned, state


def _run_all(names: list[str], work: Callable[[str], None], parallel: int) -> None:
    """Run ``work`` for every name; raise one error naming every device that failed."""
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = [pool.submit(work, name) for name in names]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if len(errors) == 1 and isinstance(errors[0], IntentError):
        raise errors[0]
    if errors:
        raise IntentError("\n".join(str(error) for error in errors))


def apply(site: Site, compilation: Compilation, plan: Plan, state: StateDir, *, parallel: int = 4,
          confirm_timeout: int | None = None, progress: Progress = lambda d, s: None,
          connection: Connection = CONNECTION, dry_run: bool = False) -> RunResult:
    """Snapshot, change and verify every changed device; if any fails, restore all to their snapshots.

    With ``dry_run``, every device loads its change and reports its own diff, then discards it.
    """
    with state.lock("dry-run" if dry_run else "apply"):
        return _apply(site, compilation, plan, state, parallel, confirm_timeout, progress, connection, dry_run)


def _apply(site: Site, compilation: Compilation, plan: Plan, state: StateDir, parallel: int,
           confirm_timeout: int | None, progress: Progress, connection: Connection, dry_run: bool) -> RunResult:
    apply_id = state.new_apply_id()
    masker = masker_for(site)
    run = RunResult("apply", apply_id)
    changed = [name for name, device in sorted(plan.devices.items()) if device.changed]
    snapshots: dict[str, str] = {}
    archived: dict[str, dict[str, str]] = {}
    touched: list[str] = []
    lock = threading.Lock()
    abort = threading.Event()

    def one(name: str) -> None:
        result = DeviceResult(name)
        with lock:
            run.results[name] = result
        if abort.is_set():
            result.error = "not started: another device failed"
            return
        try:
            with open_driver(site.devices[name], state, connection) as driver:
                progress(name, "snapshot")
                snapshot = driver.get_running()
                before = state.save_snapshot(snapshot)
                with lock:
                    snapshots[name] = snapshot
                    archived[name] = {"before": before}
                planned = plan.devices.get(name)
                expected = plan.running_sha256.get(name)
                if planned is not None and planned.commands and expected is not None and \
                        hashlib.sha256(snapshot.encode()).hexdigest() != expected:
                    raise IntentError(f"{name}: the device changed since it was planned; plan again")
                progress(name, "apply")
                result.diff = masker(driver.stage(compilation.configs[name], planned))
                if dry_run:
                    driver.discard()
                    progress(name, "verified")
                    return
                with lock:
                    touched.append(name)
                driver.commit(revert_in=confirm_timeout)
                result.changed = True
                result.changes = driver.changes
                after = state.save_snapshot(driver.get_running())
                with lock:
                    archived[name]["after"] = after
                progress(name, "verified")
        except IntentError as exc:
            result.failed, result.error = True, masker(str(exc))
            abort.set()
            progress(name, "failed")

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        list(pool.map(one, changed))
    if run.failed:
        for name in touched:
            progress(name, "rollback")
            try:
                with open_driver(site.devices[name], state, connection) as driver:
                    driver.rollback(snapshots[name])
                run.results[name].rolled_back = True
            except IntentError as exc:
                run.results[name].error = f"{run.results[name].error or 'changed'}; ROLLBACK FAILED: {masker(str(exc))}"
                run.results[name].failed = True
    if dry_run:
        state.record({"action": "dry-run", "id": apply_id, "site": site.name, "devices": changed,
                      "outcome": "failed" if run.failed else "ok"})
        return run
    state.record({
        "action": "apply", "id": apply_id, "site": site.name, "devices": changed, "plan_hash": plan.digest(),
        "snapshots": archived, "outcome": "rolled back" if run.failed else "ok",
        "confirm_timeout": confirm_timeout, "confirmed": not confirm_timeout,
        "results": {name: {"failed": r.failed, "error": r.error, "changes": r.changes} for name, r in run.results.items()},
    })
    return run


def rollback(site: Site, state: StateDir, target: str | None = None, parallel: int = 4,
             progress: Progress = lambda d, s: None, connection: Connection = CONNECTION) -> RunResult:
    """Restore devices to a snapshot, checked bit for bit by its hash.

    ``target``: None (every device of the last apply, to its state before it), an apply id (the same,
    for that apply), or a snapshot id from ``intent history`` (that snapshot, on its device).
    """
    with state.lock("rollback"):
        return _rollback(site, state, target, parallel, progress, connection)


def _targets(state: StateDir, target: str | None) -> tuple[str, dict[str, str]]:
    """(what the rollback goes back to, device -> snapshot id)."""
    applies = [r for r in state.records() if r.get("action") == "apply"]
    record: dict[str, Any] | None = state.last_apply() if target is None else next(
        (r for r in applies if r.get("id") == target), None)
    if record is not None:
        snapshots = record.get("snapshots") or {}
        return f"before {record['id']}", {d: ids["before"] for d, ids in snapshots.items() if "before" in ids}
    snapshot = state.archive.resolve(target or "")
    devices = state.snapshot_devices(snapshot)
    if not devices:
        raise IntentError(f"snapshot {snapshot[:12]} is in the archive but no apply of this site recorded it")
    return f"snapshot {snapshot[:12]}", {device: snapshot for device in devices}


def _rollback(site: Site, state: StateDir, target: str | None, parallel: int, progress: Progress,
              connection: Connection) -> RunResult:
    label, wanted = _targets(state, target)
    run = RunResult("rollback", label)
    masker = masker_for(site)
    lock = threading.Lock()
    restored: dict[str, dict[str, str]] = {}

    def one(name: str) -> None:
        result = DeviceResult(name)
        with lock:
            run.results[name] = result
        try:
            snapshot = state.snapshot(wanted[name])
            progress(name, "rollback")
            with open_driver(site.devices[name], state, connection) as driver:
                driver.rollback(snapshot)
                result.changes = driver.changes
                result.changed = driver.changes > 0
                result.rolled_back = True
                now = driver.get_running()
            if hashlib.sha256(now.encode()).hexdigest() != wanted[name]:
                raise IntentError(f"{name}: restored, but the device does not hash to snapshot {wanted[name][:12]}")
            with lock:
                restored[name] = {"restored": wanted[name]}
            progress(name, "restored")
        except IntentError as exc:
            result.failed, result.error = True, masker(str(exc))
            progress(name, "failed")

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        list(pool.map(one, [d for d in sorted(wanted) if d in site.devices]))
    state.record({"action": "rollback", "id": state.new_apply_id(), "to": label, "site": site.name,
                  "devices": sorted(run.results), "snapshots": restored, "outcome": "failed" if run.failed else "ok"})
    return run


def confirm(site: Site, state: StateDir, connection: Connection = CONNECTION) -> RunResult:
    """Confirm the last apply's commit-confirm on every device."""
    with state.lock("confirm"):
        return _confirm(site, state, connection)


def _confirm(site: Site, state: StateDir, connection: Connection) -> RunResult:
    record = state.last_apply()
    run = RunResult("confirm", record["id"])
    if not record.get("confirm_timeout"):
        raise IntentError(f"the last apply ({record['id']}) was not made with --confirm-timeout: nothing to confirm")
    for name in record["devices"]:
        result = run.results.setdefault(name, DeviceResult(name))
        try:
            with open_driver(site.devices[name], state, connection) as driver:
                driver.confirm()
        except IntentError as exc:
            result.failed, result.error = True, masker_for(site)(str(exc))
    state.record({"action": "confirm", "id": record["id"], "site": site.name, "devices": record["devices"],
                  "plan_hash": record.get("plan_hash"), "outcome": "failed" if run.failed else "ok"})
    return run
