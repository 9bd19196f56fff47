"""A hung driver is stopped, not abandoned: a device whose driver sleeps past its budget in the
middle of a step and then tries to send changes nothing, after the transaction has failed it and
restored the others. The real Linux driver on the package's three namespaces, through the engine's
API in this process (a CLI process exits before such a thread would wake; a long-lived caller of
``intent_engine.apply`` keeps it alive), with the sleep put where a slow device puts it: in the
driver's transport, at its first request that changes something, or while it connects."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from drivers.linux import LinuxDriver
from engine import faults
from engine.compiler import compile_site
from engine.driver import Connection, DriverRegistry
from engine.loader import load_site
from engine.model import Device
from engine.state import StateDir
from engine.transaction import Deadlines, apply, live_plan
from tests.faults.conftest import LinuxLab
from tests.faults.matrix import apply_record

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces")

BUDGET = 1.5
SLEEP = BUDGET + 5  # past the budget, and past the restore of the others (this machine is shared)


class Sleeper:
    """Where the slow device sleeps (once, in its ``nth`` driver), and what happened after it woke."""

    def __init__(self, device: str, where: str, nth: int) -> None:
        self.device, self.where, self.nth = device, where, nth  # where: "send" or "connect"
        self.created = 0
        self.woke = threading.Event()
        self.after: list[str] = []  # what the woken thread did or met, in order
        self.thread: threading.Thread | None = None  # the one that slept

    def sleep(self) -> None:
        self.thread = threading.current_thread()
        time.sleep(SLEEP)
        self.woke.set()

    def finished(self, seconds: float = 30) -> bool:
        """Whether the thread that slept has woken and ended (all it would ever do is done), waiting up
        to ``seconds``; a fixed pause instead is not enough for it on a loaded machine."""
        if not self.woke.wait(SLEEP + seconds) or self.thread is None:
            return False
        self.thread.join(seconds)
        return not self.thread.is_alive()

    def note(self, event: str) -> None:
        if self.woke.is_set():
            self.after.append(event)


class SlowTransport:
    """The driver's own transport; its first request that changes something sleeps, then goes on."""

    def __init__(self, inner: Any, sleeper: Sleeper) -> None:
        self.inner, self.sleeper, self.slept = inner, sleeper, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _send(self, what: str, call: Any, arguments: Any) -> None:
        if not arguments:  # an empty batch sends nothing
            call(arguments)
            return
        if not self.slept:
            self.slept = True
            self.sleeper.sleep()
        try:
            call(arguments)
        except Exception as exc:
            self.sleeper.note(f"refused {what}: {type(exc).__name__}")
            raise
        self.sleeper.note(f"sent {what}")

    def tc(self, requests: list[Any]) -> None:
        self._send("tc", self.inner.tc, requests)

    def ip(self, ops: list[Any]) -> None:
        self._send("ip", self.inner.ip, ops)


class SlowLinuxDriver(LinuxDriver):
    def __init__(self, device: Device, work_dir: Path, sleeper: Sleeper | None) -> None:
        super().__init__(device, work_dir)
        self.sleeper = sleeper

    def open(self) -> None:
        if self.sleeper is not None and self.sleeper.where == "connect":
            self.sleeper.sleep()
        super().open()
        if self.sleeper is not None:
            self.sleeper.note("connected")
            if self.sleeper.where == "send":
                self._transport = SlowTransport(self._transport, self.sleeper)

    def close(self) -> None:
        if self.sleeper is not None:
            self.sleeper.note("closed")
        super().close()

    def rollback(self, snapshot: str) -> None:
        if self.sleeper is not None:
            self.sleeper.note("rollback")
        super().rollback(snapshot)


class SlowLinux:
    """The Linux driver family, with one slow driver: the sleeper's device, its nth one opened."""

    name = "linux"

    def __init__(self, sleeper: Sleeper) -> None:
        self.sleeper = sleeper

    def create(self, device: Device, work_dir: Path, connection: Connection) -> SlowLinuxDriver:
        slow = None
        if device.name == self.sleeper.device:
            self.sleeper.created += 1
            slow = self.sleeper if self.sleeper.created == self.sleeper.nth else None
        return SlowLinuxDriver(device, work_dir, slow)


def run_apply(lab: LinuxLab, state_root: Path, sleeper: Sleeper, fault: str | None = None) -> Any:
    """Plan with the installed drivers, apply with the slow one (--parallel 1, no safety reverter)."""
    site = load_site(lab.lab.site)
    compilation = compile_site(site)
    state = StateDir.for_site(site, state_root)
    plan = live_plan(site, compilation, state, connection=Connection(drivers=DriverRegistry.installed()))
    previous = os.environ.pop("INTENT_FAULT", None)
    faults._fired.clear()  # a fault fires once per process: this one is new in each test
    if fault:
        os.environ["INTENT_FAULT"] = fault
    try:
        return apply(site, compilation, plan, state, parallel=1, deadlines=Deadlines(device=BUDGET, safety=0),
                     connection=Connection(drivers=DriverRegistry([SlowLinux(sleeper)])))
    finally:
        os.environ.pop("INTENT_FAULT", None)
        if previous is not None:
            os.environ["INTENT_FAULT"] = previous


def test_a_driver_that_wakes_up_mid_commit_after_the_rollback_sends_nothing(linux_lab: LinuxLab) -> None:
    """acc2's commit sleeps at its first request, past its budget: acc2 fails, acc1 is restored,
    core1 never starts; then acc2's thread wakes and sends its change, on a closed transport."""
    sleeper = Sleeper("acc2", "send", nth=1)  # the apply's own driver of acc2
    state = linux_lab.scratch / "hung-commit"
    run = run_apply(linux_lab, state, sleeper)
    assert not sleeper.woke.is_set(), "the apply waited for the hung device"
    assert run.failed
    assert f"no answer within its budget of {BUDGET:g}s" in (run.results["acc2"].error or "")
    assert run.results["acc1"].rolled_back and run.results["core1"].error == "not started: another device failed"
    assert sleeper.finished(), "the hung thread never woke and ended"  # whatever it did after its first request
    assert sleeper.after and all(event.startswith("refused") for event in sleeper.after), sleeper.after
    assert linux_lab.dumps(state) == linux_lab.s0
    record = apply_record(state, "lab")
    assert record is not None and record["outcome"] == "rolled back"
    steps = [(s["device"], s["step"]) for s in record["steps"]]
    assert ("acc1", "rolled back") in steps and ("acc2", "failed") in steps
    assert not any(device == "core1" for device, _ in steps)


def test_a_restore_that_wakes_up_after_its_budget_sends_nothing(linux_lab: LinuxLab) -> None:
    """core1 fails after its commit; acc1's restore sleeps while it connects, past its budget, and
    is reported failed. When its thread wakes, the connection it made is closed at once and its
    rollback is never sent: ``intent rollback`` (or the safety reverter) is the one restorer."""
    sleeper = Sleeper("acc1", "connect", nth=2)  # the restore's driver of acc1 (the first is the apply's)
    state = linux_lab.scratch / "hung-restore"
    run = run_apply(linux_lab, state, sleeper, fault="after-commit:core1:error")
    assert not sleeper.woke.is_set(), "the apply waited for the hung restore"
    assert run.failed and "ROLLBACK FAILED" in (run.results["acc1"].error or ""), run.results["acc1"]
    assert f"no answer within its budget of {BUDGET:g}s" in (run.results["acc1"].error or "")
    assert run.results["acc2"].rolled_back and run.results["core1"].rolled_back
    assert sleeper.finished(), "the hung restore never woke and ended"
    assert sleeper.after == ["connected", "closed"], sleeper.after
    record = apply_record(state, "lab")
    assert record is not None and record["outcome"] == "rollback failed"
    dumps = linux_lab.dumps(state)
    assert dumps["acc1"] == linux_lab.s1["acc1"]  # still changed, as the record says
    assert {d: t for d, t in dumps.items() if d != "acc1"} == {d: t for d, t in linux_lab.s0.items() if d != "acc1"}
    linux_lab.intent(state, "rollback")
    assert linux_lab.dumps(state) == linux_lab.s0
