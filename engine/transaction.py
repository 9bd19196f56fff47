"""apply, rollback, confirm: one transaction across devices, executed through drivers.

An apply, all or nothing, whatever happens to it:

1. every changed device is opened and its running state stored in the archive (its pre-apply
   snapshot); any failure here fails the apply before a device is touched;
2. the journal record (engine.journal) is written and fsynced as ``in progress``; if it cannot be
   written (read-only or full state directory) the apply refuses: nothing was changed;
3. the safety reverter (engine.guard, a detached process) is armed for the apply's duration: if
   this process dies, or the apply outlives ``--safety-timeout``, it restores every device;
4. each device: stage, commit (``committing`` is journalled before the commit is sent), read
   back and verified by the engine against the plan, each step journalled; every device within
   its budget (``--device-timeout``), a device over it fails and is stopped (``Fenced``: its
   drivers are closed and refuse every call, so its thread cannot send if it wakes up);
5. any failure of any kind on any device (our error, a driver's foreign exception, a timeout, a
   journal that stops being writable, SIGINT/SIGTERM) stops the others and restores every touched
   device to its snapshot, read back and hash-checked;
6. the outcome is journalled: ``ok`` is the commit point (the safety reverter then stands down).

This module imports no driver: they come in ``Connection.drivers`` (found through entry points by
whoever composes the run) and load when a device is opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import faults, journal
from engine.compilation import Compilation
from engine.driver import Connection, Driver, FeatureProbe
from engine.errors import CommitError, DriverError, IntentError, RollbackError
from engine.frozen import frozen
from engine.journal import JournalError
from engine.model import Defaults, Device, Site
from engine.plan import DevicePlan, Plan, _device_plan, make_plan, masker_for, to_send
from engine.render import DeviceConfig
from engine.state import StateDir

Progress = Callable[[str, str], None]  # (device, what happens now)


CONNECTION = Connection()


def open_driver(device: Device, state: StateDir, connection: Connection = CONNECTION) -> Driver:
    """The driver for ``device``, found in ``connection.drivers`` by the inventory's ``driver`` name."""
    return connection.drivers.create(device, state.device_dir(device.name), connection)


@frozen
class Deadlines:
    """``device``: a device's whole budget in one phase (read, change, restore), ``--device-timeout``;
    ``safety``: how long the safety reverter lets an apply run before it restores every device,
    ``--safety-timeout`` (0: no safety reverter)."""

    device: float = 120.0
    safety: int = 300


DEADLINES = Deadlines()


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
    interrupted: bool = False  # SIGINT/SIGTERM stopped it (every touched device was restored)
    journal_error: str | None = None  # the outcome could not be written to the journal

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


READ_PARALLEL = 32  # devices read at once: reads change nothing, so an unreachable fleet fails together


def live_plan(site: Site, compilation: Compilation, state: StateDir, parallel: int = READ_PARALLEL,
              connection: Connection = CONNECTION, progress: Progress = lambda d, s: None,
              budget: float = DEADLINES.device) -> Plan:
    """Plan against the devices, each read within ``budget`` seconds; refuse features their kernels
    lack, naming device and choices. ``progress`` hears ``(device, "reading")`` then ``"read"`` or ``"failed"``."""
    texts = read_running(site, compilation.configs, state, parallel, connection, progress, budget)
    return make_plan(site, compilation, ReadTexts("live devices", texts))


def read_running(site: Site, configs: dict[str, DeviceConfig], state: StateDir, parallel: int = READ_PARALLEL,
                 connection: Connection = CONNECTION, progress: Progress = lambda d, s: None,
                 budget: float = DEADLINES.device, probe: bool = True) -> dict[str, str]:
    """Every device's running state, read ``parallel`` at once; with ``probe``, refuse features the
    devices lack for ``configs``."""
    connection = connection.within(budget)
    connection.drivers.load(site.devices[name] for name in configs)  # imports outside the budgets
    problems: list[str] = []
    texts: dict[str, str] = {}
    lock = threading.Lock()

    def read(name: str) -> None:
        config = configs[name]
        progress(name, "reading")
        try:
            with open_driver(site.devices[name], state, connection) as driver:
                text = driver.get_running()
                missing = driver.probe(config) if probe and isinstance(driver, FeatureProbe) else []
        except BaseException:
            progress(name, "failed")
            raise
        progress(name, "read")
        with lock:
            texts[name] = text
            problems.extend(f"{name}: {sentence}" for sentence in missing)

    masker = masker_for(site)
    try:
        _run_all(sorted(configs), read, parallel, budget)
    except IntentError as exc:
        raise IntentError(masker(str(exc))) from None
    if problems:
        raise IntentError("\n".join(sorted(problems)))
    return texts


def load_plan_file(path: Any, state_dir: Any, connection: Connection, allow_plaintext_secrets: bool,
                   parallel: int, budget: float = DEADLINES.device) -> tuple[Site, Any, Plan, StateDir]:
    """A plan file to apply exactly as it is: its own commands (Linux: its own desired documents), never
    a second computation; refused if any device's state changed since it was planned."""
    from engine.loader import load_site
    from engine.plan import PLAN_KEY_ENV, check_plan_site, plan_from_document, read_plan_file

    # Hash, signature and shape first: nothing is loaded or contacted for a modified file.
    document = read_plan_file(Path(path), os.environ.get(PLAN_KEY_ENV) or None)
    site = load_site(document["site_file"], allow_plaintext_secrets=allow_plaintext_secrets)
    check_plan_site(Path(path), document, site)
    planned = plan_from_document(document, Path(path))
    state = StateDir.for_site(site, state_dir)
    configs = {name: DeviceConfig(name, d["platform"], d["text"], d["document"])
               for name, d in document["desired"].items()}
    texts = read_running(site, configs, state, parallel, connection, budget=budget, probe=False)
    stale = sorted(name for name, digest in document["running_sha256"].items()
                   if hashlib.sha256(texts[name].encode()).hexdigest() != digest)
    if stale:
        raise IntentError(f"{path} is stale: {', '.join(stale)} changed since it was planned; plan again")
    return site, Compilation({}, configs, ()), planned, state


def _run_all(names: list[str], work: Callable[[str], None], parallel: int, budget: float) -> None:
    """Run ``work`` for every name, each within ``budget``; raise one error naming every device that failed."""
    outcome = bounded(names, work, parallel, budget)
    errors = [error for _, error in sorted(outcome.items()) if error is not None]
    if len(errors) == 1 and isinstance(errors[0], IntentError):
        raise errors[0]
    if errors:
        raise IntentError("\n".join(describe(name, error) for name, error in sorted(outcome.items())
                                    if error is not None))


INTERRUPT_GRACE = 5.0  # seconds a device's step under way may take to end after SIGINT/SIGTERM


class DeviceTimeout(DriverError):
    """A device did not finish within its budget (--device-timeout)."""


def describe(device: str, error: BaseException) -> str:
    """A failure as one line for the report: our errors as they are, anything else with its type."""
    if isinstance(error, IntentError):
        return str(error)
    return f"{device}: unexpected {type(error).__name__} from the driver: {error}"


def bounded(names: list[str], work: Callable[[str], None], parallel: int, budget: float,
            interrupt: threading.Event | None = None,
            report: Callable[[str, BaseException], None] | None = None,
            stop: Callable[[str], None] | None = None) -> dict[str, BaseException | None]:
    """Run ``work(name)`` for every name, ``parallel`` at a time, each within ``budget`` seconds.

    Returns name -> the exception it raised (any kind), a DeviceTimeout for one over its budget, or
    None; ``report`` hears of each failure as soon as it is known, before the next device starts.
    A device over its budget is not waited for (its thread is a daemon and cannot hold the process)
    but stopped: ``stop(name)`` runs first (Fences.stop: its drivers are closed and refuse every
    further call), so that if its thread ever wakes up it cannot change the device.
    """
    done: queue.Queue[tuple[str, BaseException | None]] = queue.Queue()
    outcome: dict[str, BaseException | None] = {}
    waiting, running, stopping = list(names), dict[str, float](), False

    def runner(name: str) -> None:
        try:
            work(name)
            done.put((name, None))
        except BaseException as exc:  # noqa: BLE001 - every failure is the device's, reported, never lost
            done.put((name, exc))

    while waiting or running:
        while waiting and len(running) < max(1, parallel):
            name = waiting.pop(0)
            running[name] = time.monotonic() + budget
            threading.Thread(target=runner, args=(name,), daemon=True, name=f"intent-{name}").start()
        wait = max(0.0, min(min(running.values()) - time.monotonic(), 0.2 if interrupt is not None else budget))
        try:
            name, error = done.get(timeout=wait)
            if name in running:
                del running[name]
                outcome[name] = error
                if error is not None and report is not None:
                    report(name, error)
        except queue.Empty:
            pass
        if interrupt is not None and interrupt.is_set() and not stopping:  # a step under way gets a short grace
            stopping, grace = True, time.monotonic() + INTERRUPT_GRACE
            running = {name: min(deadline, grace) for name, deadline in running.items()}
            waiting.clear()
        for name, deadline in list(running.items()):
            if time.monotonic() >= deadline:
                del running[name]
                if stop is not None:
                    stop(name)
                timeout = DeviceTimeout(name, f"interrupted: its step did not end within {INTERRUPT_GRACE:g}s") \
                    if stopping else DeviceTimeout(name, f"no answer within its budget of {budget:g}s (--device-timeout)")
                outcome[name] = timeout
                if report is not None:
                    report(name, timeout)
    return outcome


CLOSE_GRACE = 5.0  # seconds a stopped driver's close() may take before it is left to finish alone


class DeviceStopped(DeviceTimeout):
    """A call on a driver the transaction stopped (its device went over its budget)."""


class Fenced:
    """A driver the transaction can stop: the fence in front of every driver an apply, restore or
    rollback opens. After ``stop()`` (its device went over its budget) every call raises before it
    reaches the driver, and the driver is closed, so that a thread that wakes up in the middle of a
    step finds its transport closed and cannot send: a hung device is stopped, never abandoned with
    the means to change it after the transaction has restored it."""

    def __init__(self, name: str, driver: Driver) -> None:
        self.device = name
        self._driver = driver
        self._stopped = threading.Event()

    @property
    def changes(self) -> int:
        return self._driver.changes

    def _live(self) -> Driver:
        if self._stopped.is_set():
            raise DeviceStopped(self.device, "stopped after its budget: nothing more is sent to it")
        return self._driver

    def stop(self) -> None:
        """Refuse every further call and close the driver (its transport), waiting up to CLOSE_GRACE."""
        self._stopped.set()
        closer = threading.Thread(target=self._shut, daemon=True, name=f"intent-close-{self.device}")
        closer.start()
        closer.join(CLOSE_GRACE)

    def _shut(self) -> None:
        with contextlib.suppress(Exception):
            self._driver.close()

    def open(self) -> None:
        self._live().open()
        if self._stopped.is_set():  # stopped while connecting: the connection it just made goes too
            self._shut()
            self._live()

    def close(self) -> None:
        if not self._stopped.is_set():  # a stopped driver was closed by stop()
            self._driver.close()

    def __enter__(self) -> Fenced:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        self.close()

    def get_running(self) -> str:
        return self._live().get_running()

    def stage(self, config: DeviceConfig, plan: DevicePlan | None = None) -> str:
        return self._live().stage(config, plan)

    def discard(self) -> None:
        self._live().discard()

    def commit(self, revert_in: int | None = None) -> None:
        self._live().commit(revert_in)

    def confirm(self) -> None:
        self._live().confirm()

    def rollback(self, snapshot: str) -> None:
        self._live().rollback(snapshot)


class Fences:
    """The fenced drivers of one phase of a run, by device: ``stop(name)`` (bounded's hook for a
    device over its budget) stops every driver of that device and refuses to open another in the
    phase, so a thread that wakes before it even connected cannot open a fresh one either."""

    def __init__(self, state: StateDir, connection: Connection) -> None:
        self.state, self.connection = state, connection
        self._drivers: dict[str, list[Fenced]] = {}
        self._stopped: set[str] = set()
        self._lock = threading.Lock()

    def open_driver(self, device: Device) -> Fenced:
        """The device's driver behind a fence, not yet open."""
        fenced = Fenced(device.name, open_driver(device, self.state, self.connection))
        with self._lock:
            if device.name in self._stopped:
                raise DeviceStopped(device.name, "stopped after its budget: nothing more is sent to it")
            self._drivers.setdefault(device.name, []).append(fenced)
        return fenced

    def stop(self, name: str) -> None:
        with self._lock:
            self._stopped.add(name)
            drivers = self._drivers.pop(name, [])
        for fenced in drivers:
            fenced.stop()


def apply(site: Site, compilation: Compilation, plan: Plan, state: StateDir, *, parallel: int = 4,
          confirm_timeout: int | None = None, progress: Progress = lambda d, s: None,
          connection: Connection = CONNECTION, dry_run: bool = False, deadlines: Deadlines = DEADLINES) -> RunResult:
    """Snapshot, change and verify every changed device; if any fails, restore all to their snapshots.

    With ``dry_run``, every device loads its change and reports its own diff, then discards it.
    Refused while an earlier apply of the site is interrupted (``intent rollback`` restores it first).
    """
    if not dry_run:
        pending = state.interrupted()
        if pending:
            raise IntentError("\n".join(recovery_notice(pending, site.path) + ["refusing to apply on top of it"]))
    connection.drivers.load(site.devices[name] for name in plan.devices if name in site.devices)
    with state.lock("dry-run" if dry_run else "apply"), _signals() as interrupt:
        return _Apply(site, compilation, plan, state, parallel, confirm_timeout, progress,
                      connection.within(deadlines.device), dry_run, deadlines, interrupt).run()


@contextlib.contextmanager
def _signals() -> Iterator[threading.Event]:
    """SIGINT and SIGTERM during an apply set an event (the apply stops and restores) instead of
    killing it mid-step; the previous handlers come back afterwards. Only in the main thread."""
    interrupt = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupt
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def handler(number: int, frame: Any) -> None:
        interrupt.set()

    for number in previous:
        signal.signal(number, handler)
    try:
        yield interrupt
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


class _Apply:
    """One apply, phase by phase (see the module docstring)."""

    def __init__(self, site: Site, compilation: Compilation, plan: Plan, state: StateDir, parallel: int,
                 confirm_timeout: int | None, progress: Progress, connection: Connection, dry_run: bool,
                 deadlines: Deadlines, interrupt: threading.Event) -> None:
        self.site, self.compilation, self.plan, self.state = site, compilation, plan, state
        self.parallel, self.confirm_timeout, self.progress = parallel, confirm_timeout, progress
        self.connection, self.dry_run, self.deadlines, self.interrupt = connection, dry_run, deadlines, interrupt
        self.apply_id = state.new_apply_id()
        self.masker = masker_for(site)
        self.run_result = RunResult("apply", self.apply_id)
        self.changed = [name for name, device in sorted(plan.devices.items()) if device.changed]
        self.drivers: dict[str, Fenced] = {}
        self.fences = Fences(state, connection)  # the snapshot and change phases' drivers
        self.snapshots: dict[str, str] = {}
        self.sendable: dict[str, DevicePlan] = {}  # the plan's commands, masked secrets restored and verified
        self.archived: dict[str, dict[str, str]] = {}
        self.touched: list[str] = []
        self.lock = threading.Lock()
        self.abort = threading.Event()
        self.journalled = False

    # -- phases ----------------------------------------------------------------------------

    def run(self) -> RunResult:
        for name in self.changed:
            self.run_result.results[name] = DeviceResult(name)
        try:
            self._phase(self._snapshot)
            if self.run_result.failed or self.interrupt.is_set():
                return self._finish_untouched()
            if not self.dry_run:
                self._begin()
            self._phase(self._change)
            if self.run_result.failed or self.interrupt.is_set():
                self._restore_touched()
            return self._end()
        finally:
            self._close()

    def _phase(self, work: Callable[[str], None]) -> None:
        def guarded(name: str) -> None:
            if self.interrupt.is_set():
                self.run_result.results[name].error = "not started: interrupted"
            elif self.abort.is_set():
                self.run_result.results[name].error = "not started: another device failed"
            else:
                work(name)

        todo = [name for name in self.changed if not self.run_result.results[name].failed]
        if self.interrupt.is_set():
            self.abort.set()
        outcome = bounded(todo, guarded, self.parallel, self.deadlines.device, self.interrupt, self._failed,
                          self.fences.stop)
        for name in todo:
            if name not in outcome:
                self.run_result.results[name].error = "not started: interrupted"
        if self.interrupt.is_set():
            self.abort.set()

    def _failed(self, name: str, error: BaseException) -> None:
        result = self.run_result.results[name]
        result.failed, result.error = True, self.masker(describe(name, error))
        self.abort.set()
        self.progress(name, "failed")
        if self.journalled:
            with contextlib.suppress(JournalError):
                self._step(name, "failed", result.error)

    def _snapshot(self, name: str) -> None:
        """Open the device and store its pre-apply snapshot; nothing is changed yet."""
        driver = self.fences.open_driver(self.site.devices[name])
        driver.__enter__()
        with self.lock:
            self.drivers[name] = driver
        self.progress(name, "snapshot")
        text = driver.get_running()
        before = self._store(name, text, "its snapshot (nothing was changed)")
        with self.lock:
            self.snapshots[name] = text
            self.archived[name] = {"before": before}
        planned = self.plan.devices.get(name)
        expected = self.plan.running_sha256.get(name)
        if planned is not None and planned.commands and expected is not None and \
                hashlib.sha256(text.encode()).hexdigest() != expected:
            raise IntentError(f"{name}: the device changed since it was planned; plan again")
        if planned is not None:  # before any device changes: a secret that does not verify refuses the apply
            with self.lock:
                self.sendable[name] = to_send(planned, self.compilation.configs[name], text, expected)

    def _store(self, name: str, text: str, what: str) -> str:
        """A device's state into the archive; a full or read-only archive is a journal failure."""
        try:
            return self.state.save_snapshot(text)
        except OSError as exc:
            raise JournalError(f"{name}: cannot store {what} in {self.state.archive.root}: "
                               f"{exc.strerror or exc}") from None

    def _begin(self) -> None:
        """The write-ahead record: if it cannot be written, refuse before touching any device."""
        deadline = time.time() + self.deadlines.safety if self.deadlines.safety else None
        record = {
            "action": "apply", "id": self.apply_id, "site": self.site.name, "site_file": self.site.path,
            "devices": self.changed, "plan_hash": self.plan.digest(), "snapshots": self.archived,
            "outcome": journal.IN_PROGRESS, "pid": os.getpid(), "host": socket.gethostname(),
            "confirm_timeout": self.confirm_timeout, "confirmed": not self.confirm_timeout,
            "safety_timeout": self.deadlines.safety or None, "safety_deadline": deadline,
            "device_timeout": self.deadlines.device,
            "connection": {"known_hosts": self.connection.known_hosts,
                           "connect_timeout": self.connection.connect_timeout,
                           "command_timeout": self.connection.command_timeout},
            "device_specs": {name: journal.device_spec(self.site.devices[name]) for name in self.changed},
        }
        try:
            self.state.record(record)
        except JournalError as exc:
            raise IntentError(f"{exc}: refusing to apply, nothing was changed") from None
        self.journalled = True
        if self.deadlines.safety:
            guard = arm_guard(self.state, self.apply_id, self.site, self.changed)
            with contextlib.suppress(JournalError):
                self.state.record({"action": "apply", "id": self.apply_id, "guard_pid": guard})

    def _step(self, name: str, step: str, detail: str | None = None) -> None:
        entry: dict[str, Any] = {"action": "step", "id": self.apply_id, "device": name, "step": step}
        if detail:
            entry["detail"] = detail
        self.state.record(entry)

    def _fault(self, phase: str, name: str) -> None:
        faults.fire(phase, name, self.state.root)

    def _change(self, name: str) -> None:
        """Stage, commit, read back and verify one device, journalling each step as it happens."""
        driver, result = self.drivers[name], self.run_result.results[name]
        self._fault("before-stage", name)
        self.progress(name, "apply")
        result.diff = self.masker(driver.stage(self.compilation.configs[name], self.sendable.get(name)))
        if self.dry_run:
            driver.discard()
            self.progress(name, "verified")
            return
        self._step(name, "staged")
        self._fault("after-stage", name)
        self._fault("before-commit", name)
        if self.abort.is_set() or self.interrupt.is_set():
            result.error = "not committed: another device failed" if not self.interrupt.is_set() else \
                "not committed: interrupted"
            driver.discard()
            return
        self._step(name, "committing")  # write-ahead: from here on this device may have changed
        with self.lock:
            self.touched.append(name)
        driver.commit(revert_in=self.confirm_timeout)
        result.changed = True
        result.changes = driver.changes
        self._step(name, "committed")
        self._fault("after-commit", name)
        text = driver.get_running()
        self._verify(name, text)
        after = self._store(name, text, "its state after the change")
        with self.lock:
            self.archived[name]["after"] = after
        self._step(name, "verified", after)
        self._fault("after-verify", name)
        self.progress(name, "verified")

    def _verify(self, name: str, text: str) -> None:
        """The engine's own check, whatever the driver said: the device read back plans no change."""
        device = self.site.devices[name]
        try:
            again = _device_plan(self.compilation.configs[name], text, self.masker, "the device", device.driver)
        except ValueError as exc:
            raise CommitError(name, f"verification failed: the device's state does not parse ({exc})") from None
        if again.changed and (again.commands or self.compilation.configs[name].document is not None):
            raise CommitError(name, "verification failed: read back after the change, the device still differs:\n"
                                    + again.diff)

    def _restore_touched(self) -> None:
        """Every device that may have changed goes back to its snapshot, read back and hash-checked."""
        fences = Fences(self.state, self.connection)  # the restore's own: a stopped device opens again

        def restore(name: str) -> None:
            result = self.run_result.results[name]
            self.progress(name, "rollback")
            with contextlib.suppress(JournalError):
                self._step(name, "rolling back")
            self._fault("rollback", name)
            with fences.open_driver(self.site.devices[name]) as driver:
                driver.rollback(self.snapshots[name])
                now = driver.get_running()
            if hashlib.sha256(now.encode()).hexdigest() != self.archived[name]["before"]:
                raise RollbackError(name, f"restored, but the device does not hash to its snapshot "
                                          f"{self.archived[name]['before'][:12]}")
            result.rolled_back = True
            with contextlib.suppress(JournalError):
                self._step(name, "rolled back")

        self._close()  # the apply's connections; a hung device's were closed when it was stopped
        outcome = bounded(sorted(self.touched), restore, self.parallel, self.deadlines.device, stop=fences.stop)
        for name, error in outcome.items():
            if error is not None:
                result = self.run_result.results[name]
                result.error = f"{result.error or 'changed'}; ROLLBACK FAILED: {self.masker(describe(name, error))}"
                result.failed = True
                with contextlib.suppress(JournalError):
                    self._step(name, "rollback failed", result.error)

    def _outcome(self) -> str:
        if not self.run_result.failed and not self.interrupt.is_set():
            return "ok"
        if any("ROLLBACK FAILED" in (r.error or "") for r in self.run_result.results.values()):
            return "rollback failed"
        return "rolled back"

    def _record(self, outcome: str) -> dict[str, Any]:
        return {"action": "apply", "id": self.apply_id, "site": self.site.name, "devices": self.changed,
                "plan_hash": self.plan.digest(), "snapshots": self.archived, "outcome": outcome,
                "interrupted": self.interrupt.is_set() or None,
                "results": {name: {"failed": r.failed, "error": r.error, "changes": r.changes}
                            for name, r in self.run_result.results.items()}}

    def _end(self) -> RunResult:
        self.run_result.interrupted = self.interrupt.is_set()
        if self.dry_run:
            with contextlib.suppress(JournalError):
                self.state.record({"action": "dry-run", "id": self.apply_id, "site": self.site.name,
                                   "devices": self.changed, "outcome": "failed" if self.run_result.failed else "ok"})
            return self.run_result
        outcome = self._outcome()
        try:
            self.state.record(self._record(outcome))
        except JournalError as exc:
            if outcome != "ok":
                self.run_result.journal_error = str(exc)
                return self.run_result
            # Without its outcome on disk the apply does not stand: restore, as the safety reverter would.
            for name in self.changed:
                result = self.run_result.results[name]
                result.failed, result.error = True, f"the outcome could not be recorded ({exc})"
            self._restore_touched()
            self.run_result.journal_error = str(exc)
            with contextlib.suppress(JournalError):
                self.state.record(self._record(self._outcome()))
            return self.run_result
        for name in self.changed:
            self._fault("committed", name)
        return self.run_result

    def _finish_untouched(self) -> RunResult:
        """A device could not even be read: nothing was changed; say so in the journal if it can."""
        self.run_result.interrupted = self.interrupt.is_set()
        for result in self.run_result.results.values():
            if not result.failed and not result.error:
                result.error = "not started: another device failed" if not self.interrupt.is_set() else \
                    "not started: interrupted"
        if self.dry_run:
            return self.run_result
        with contextlib.suppress(JournalError):
            self.state.record(self._record("failed"))
        return self.run_result

    def _close(self) -> None:
        with self.lock:
            drivers, self.drivers = self.drivers, {}
        for driver in drivers.values():  # a stopped one is closed already and not waited for again
            with contextlib.suppress(Exception):
                driver.__exit__(None, None, None)


def arm_guard(state: StateDir, apply_id: str, site: Site, devices: list[str]) -> int:
    """Start the safety reverter (``python -m engine.guard``) in its own session; return its pid.

    Passwords the environment does not hold (plaintext or prompted) reach it only through its
    environment, never its command line."""
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    env.pop("INTENT_FAULT", None)  # the faults are the applying process's, not its reverter's
    for name in devices:
        password = site.devices[name].password
        if password is not None:
            env[journal.password_variable(name)] = password
    process = subprocess.Popen([sys.executable, "-m", "engine.guard", str(state.root), apply_id],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env=env)
    return process.pid


def recovery_notice(pending: list[dict[str, Any]], site_path: str) -> list[str]:
    """What every command on the site says first after an interrupted apply."""
    lines = []
    for record in pending:
        changed = journal.changed_devices(record)
        who = f"pid {record.get('pid')} on {record.get('host')}"
        guard = record.get("guard_pid")
        if guard and journal.alive(int(guard), record.get("host")):
            action = f"the safety reverter (pid {guard}) is restoring them now; or run: intent rollback {site_path}"
        else:
            action = f"restore them with: intent rollback {site_path}"
        may = ", ".join(changed) if changed else "none yet (" + ", ".join(record.get("devices", [])) + " were planned)"
        what = "ended with a failed rollback" if record.get("outcome") == "rollback failed" else "was interrupted"
        lines.append(f"apply {record.get('id')} {what} ({who} is gone, began {record.get('time')}); "
                     f"devices that may have changed: {may}; {action}")
    return lines


def rollback(site: Site, state: StateDir, target: str | None = None, parallel: int = 4,
             progress: Progress = lambda d, s: None, connection: Connection = CONNECTION,
             budget: float = DEADLINES.device) -> RunResult:
    """Restore devices to a snapshot, checked bit for bit by its hash.

    ``target``: None (an interrupted apply's devices to their state before it, else every device of
    the last apply to its state before it), an apply id (the same, for that apply), or a snapshot id
    from ``intent history`` (that snapshot, on its device). The lock of a dead process is cleared.
    """
    with state.lock("rollback", take_stale=True):
        pending = state.interrupted()
        if target is None and pending:
            return recover(site, state, pending[-1], "rollback", parallel, progress, connection, budget)
        label, wanted = _targets(state, target)
        run, restored = _restore(site, state, wanted, parallel, progress, connection.within(budget), budget)
        run.apply_id = label
        recovers = next((r["id"] for r in pending if f"before {r['id']}" == label), None)
        state.record({"action": "rollback", "id": state.new_apply_id(), "to": label, "site": site.name,
                      "devices": sorted(run.results), "snapshots": restored, "recovers": recovers,
                      "by": "rollback" if recovers else None, "outcome": "failed" if run.failed else "ok"})
        return run


def recover(site: Site, state: StateDir, record: dict[str, Any], by: str, parallel: int = 4,
            progress: Progress = lambda d, s: None, connection: Connection = CONNECTION,
            budget: float = DEADLINES.device) -> RunResult:
    """Restore every device of an interrupted apply to its pre-apply snapshot (the caller holds the lock)."""
    wanted = {d: ids["before"] for d, ids in (record.get("snapshots") or {}).items() if "before" in ids}
    run, restored = _restore(site, state, wanted, parallel, progress, connection.within(budget), budget)
    run.apply_id = f"before {record['id']}"
    state.record({"action": "rollback", "id": state.new_apply_id(), "to": run.apply_id, "site": site.name,
                  "devices": sorted(run.results), "snapshots": restored, "recovers": record["id"], "by": by,
                  "outcome": "failed" if run.failed else "ok"})
    return run


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


def _restore(site: Site, state: StateDir, wanted: dict[str, str], parallel: int, progress: Progress,
             connection: Connection, budget: float) -> tuple[RunResult, dict[str, dict[str, str]]]:
    """Each device to its snapshot: read first (already there: nothing sent), restore, read back, hash-check."""
    run = RunResult("rollback", "")
    masker = masker_for(site)
    lock = threading.Lock()
    restored: dict[str, dict[str, str]] = {}
    names = [d for d in sorted(wanted) if d in site.devices]
    for name in names:
        run.results[name] = DeviceResult(name)
    fences = Fences(state, connection)
    connection.drivers.load(site.devices[name] for name in names)  # imports outside the budgets

    def one(name: str) -> None:
        result = run.results[name]
        snapshot = state.snapshot(wanted[name])
        progress(name, "rollback")
        with fences.open_driver(site.devices[name]) as driver:
            if hashlib.sha256(driver.get_running().encode()).hexdigest() != wanted[name]:
                driver.rollback(snapshot)
                result.changes = driver.changes
                result.changed = driver.changes > 0
                result.rolled_back = True
            now = driver.get_running()
        if hashlib.sha256(now.encode()).hexdigest() != wanted[name]:
            raise RollbackError(name, f"restored, but the device does not hash to snapshot {wanted[name][:12]}")
        with lock:
            restored[name] = {"restored": wanted[name]}
        progress(name, "restored")

    for name, error in bounded(names, one, parallel, budget, stop=fences.stop).items():
        if error is not None:
            run.results[name].failed, run.results[name].error = True, masker(describe(name, error))
            progress(name, "failed")
    return run, restored


def pending_confirm(state: StateDir) -> dict[str, Any]:
    """The armed apply waiting for `intent confirm`: the last one made with --confirm-timeout that
    ended ok and was neither confirmed nor reverted, whatever came after it."""
    record: dict[str, Any]
    for record in reversed(state.records()):
        if record.get("action") != "apply" or not record.get("confirm_timeout"):
            continue
        if record.get("outcome") == "ok" and not record.get("confirmed"):
            if record.get("reverted"):
                raise IntentError(f"too late: apply {record['id']} was not confirmed in time, its commit was "
                                  f"already reverted at its deadline ({journal.shown_outcome(record)})")
            return record
    raise IntentError("no apply is waiting for confirmation (none made with --confirm-timeout is pending)")


def confirm(site: Site, state: StateDir, connection: Connection = CONNECTION) -> RunResult:
    """Confirm the pending armed apply's commit-confirm on every device it changed."""
    with state.lock("confirm"):
        return _confirm(site, state, connection)


def _confirm(site: Site, state: StateDir, connection: Connection) -> RunResult:
    record = pending_confirm(state)
    run = RunResult("confirm", record["id"])
    results = record.get("results") or {}
    for name in record["devices"]:
        if (results.get(name) or {}).get("failed"):
            continue
        result = run.results.setdefault(name, DeviceResult(name))
        try:
            with open_driver(site.devices[name], state, connection) as driver:
                driver.confirm()
        except IntentError as exc:
            result.failed, result.error = True, masker_for(site)(str(exc))
    state.record({"action": "confirm", "id": record["id"], "site": site.name, "devices": record["devices"],
                  "plan_hash": record.get("plan_hash"), "outcome": "failed" if run.failed else "ok"})
    return run


def site_of(devices: dict[str, Device], name: str, path: str) -> Site:
    """The site as a detached process knows it: its devices only."""
    return Site(name, path, devices, (), Defaults(), ())

