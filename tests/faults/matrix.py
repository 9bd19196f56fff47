"""The fault matrix: each fault kind at each phase of a multi-device apply, run through the real
``intent`` command (a process of its own, forked from tests/faults/forkserver.py so that it starts
with everything imported) with the product's fault seam (``INTENT_FAULT``, engine.faults), then checked:
every device must end byte-identical to its pre-apply dump (S0), or to the fully applied dump (S1)
when the fault comes after the apply's outcome ``ok`` was written, and the journal must say what
happened. Each case gets its own state directory on a fresh tiny tmpfs (4 MiB), so ``full`` fills
a real file system for real.

Outcomes are kept for the table printed at the end of the run (``table``; tests/faults/conftest.py
prints it and writes it to ``$INTENT_FAULT_TABLE``), and appended as JSON lines to
``$INTENT_FAULT_REPORT`` when it is set.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import journal
from tests.faults.forkserver import ForkServer

KINDS = ["error", "exception", "hang", "kill", "full"]
# (phase, which device the fault hits: index into the apply's device order), expected end state
PHASES = [
    ("before-stage", 1, "S0"), ("after-stage", 1, "S0"), ("before-commit", 1, "S0"), ("after-commit", 1, "S0"),
    ("after-verify", -1, "S0"), ("rollback", 0, "S0"), ("committed", 0, "S1"),
]
DEVICE_TIMEOUT = 4
SETTLE = 40.0  # seconds a case may take to settle (the safety reverter included)


def fault_spec(phase: str, index: int, kind: str, order: list[str]) -> str:
    if phase == "rollback":  # a first fault causes the rollback; the second hits it
        return f"after-commit:{order[-1]}:error,rollback:{order[index]}:{kind}"
    return f"{phase}:{order[index]}:{kind}"


@contextmanager
def tmpfs(directory: Path, size: str = "4m") -> Iterator[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)], check=True)
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


@dataclass
class Outcome:
    driver: str
    phase: str
    kind: str
    expected: str
    ended: str  # S0, S1 or "neither"
    returncode: int | None
    history: str
    recover_seconds: float | None  # kill cases: from the death of intent to every device back
    stdout: str
    parallel: int = 1
    seconds: float = 0.0  # the whole case: apply, recovery, dumps
    passed: bool | None = None  # every check held (end state, exit status, history); set by check()

    @property
    def column(self) -> str:
        return self.driver if self.parallel == 1 else f"{self.driver} --parallel {self.parallel}"

    def cell(self) -> str:
        """``S0``, ``S1``, with the time to recover of a kill: ``S0 (1.12 s)``; a miss says what it ended as."""
        text = self.ended if self.ended == self.expected or self.phase == "after-verify" and self.ended == "S1" \
            else f"**{self.ended}** (expected {self.expected})"
        if self.passed is False and text == self.ended:
            text += f" **but history says {self.history!r}, exit {self.returncode}**"
        return f"{text} ({self.recover_seconds:.2f} s)" if self.recover_seconds is not None else text

    def report(self) -> None:
        OUTCOMES.append(self)
        for path in filter(None, [SHARED[0] if SHARED else None, os.environ.get("INTENT_FAULT_REPORT")]):
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({k: v for k, v in self.__dict__.items() if k != "stdout"}) + "\n")


OUTCOMES: list[Outcome] = []  # every case of this session, for the table (tests/faults/conftest.py prints it)
SHARED: list[str] = []  # under pytest-xdist: the file every worker appends its outcomes to, for the controller


def load_outcomes(path: Path) -> list[Outcome]:
    """The outcomes the workers wrote (``report``), as Outcome objects for ``table``."""
    if not path.exists():
        return []
    return [Outcome(**{**json.loads(line), "stdout": ""}) for line in path.read_text().splitlines() if line.strip()]


def table(outcomes: list[Outcome]) -> str:
    """The matrix as markdown: phase x fault kind -> each driver's end state, kill cases with their
    time to recover (from the death of ``intent`` to the journal saying every device is back)."""
    columns = sorted({o.column for o in outcomes}, key=lambda c: (COLUMN_ORDER.index(c.split()[0])
                                                                  if c.split()[0] in COLUMN_ORDER else 9, c))
    cells = {(o.phase, o.kind, o.column): o.cell() for o in outcomes}
    lines = ["| phase | fault | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for phase, _, _ in PHASES:
        for kind in KINDS:
            if any((phase, kind, c) in cells for c in columns):
                lines.append(f"| {phase} | {kind} | " + " | ".join(cells.get((phase, kind, c), "-") for c in columns)
                             + " |")
    good = sum(1 for o in outcomes if o.ended == o.expected or o.phase == "after-verify" and o.ended == "S1")
    kills = sorted(o.recover_seconds for o in outcomes if o.recover_seconds is not None)
    lines.append("")
    lines.append(f"{len(outcomes)} cases, {good} ended S0 or S1 as expected ({100 * good // max(1, len(outcomes))}%), "
                 f"{sum(1 for o in outcomes if o.passed)} passed every check (history and exit status too)"
                 + (f"; kill recovery {kills[0]:.2f}-{kills[-1]:.2f} s" if kills else "")
                 + f"; {sum(o.seconds for o in outcomes):.0f} s of cases in all")
    return "\n".join(lines) + "\n"


COLUMN_ORDER = ["linux", "netmiko", "napalm"]


def apply_record(state: Path, site: str) -> dict[str, Any] | None:
    records = journal.fold(journal.lines(state / site / "applies.jsonl"))
    applies = [r for r in records if r.get("action") == "apply"]
    return applies[-1] if applies else None


def settled(record: dict[str, Any] | None) -> bool:
    """The apply has ended, or its recovery has: nothing is still going to change the devices."""
    if record is None:
        return True
    if record.get("recovered"):
        return True
    return record.get("outcome") in ("ok", "rolled back", "failed")


def reverters(state: Path) -> list[int]:
    """Safety reverters (engine.guard) still running for this state directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"engine.guard" in command and str(state).encode() in b" ".join(command):
                found.append(int(entry.name))
    return found


def wait_for_reverters(state: Path) -> None:
    deadline = time.monotonic() + SETTLE
    while reverters(state) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not reverters(state), "a safety reverter is still running"


def run_case(*, runner: ForkServer, driver: str, phase: str, index: int, kind: str, expected: str, site: Path,
             site_name: str, order: list[str], state: Path, dumps: Callable[[Path], dict[str, str]],
             s0: dict[str, str], s1: dict[str, str], extra_env: dict[str, str] | None = None,
             parallel: int = 1) -> Outcome:
    """One apply with one fault, in its own state directory; wait until it (or its recovery) settles."""
    spec = fault_spec(phase, index, kind, order)
    env = {**os.environ, **(extra_env or {}), "INTENT_STATE_DIR": str(state), "INTENT_FAULT": spec}
    command = ["apply", str(site), "--yes", "--parallel", str(parallel), "--device-timeout", str(DEVICE_TIMEOUT),
               "--safety-timeout", "60"]
    process = runner.popen(command, env, merge_stderr=True)
    start = time.monotonic()
    died: float | None = None
    while True:
        code = process.poll()
        if code is not None:
            died = time.monotonic()
            break
        if kind == "hang" and phase == "committed" and (apply_record(state, site_name) or {}).get("outcome") == "ok":
            process.send_signal(signal.SIGKILL)  # hung after its outcome was written: the operator kills it
            process.wait()
            died = time.monotonic()
            break
        if time.monotonic() - start > SETTLE + 30:
            process.kill()
            raise AssertionError(f"{driver} {spec}: intent did not end")
        time.sleep(0.05)
    stdout = process.output()[0]
    recovered_at = None
    while time.monotonic() - died < SETTLE:  # the journal says when the devices are back (hash-checked)
        if settled(apply_record(state, site_name)) or kind == "full":
            recovered_at = time.monotonic()
            break
        time.sleep(0.05)
    wait_for_reverters(state)
    final = dumps(state)
    ended = "S0" if final == s0 else "S1" if final == s1 else "neither"
    record = apply_record(state, site_name)
    history = journal.shown_outcome(record) if record else "(no record)"
    recover = round(recovered_at - died, 2) if recovered_at is not None and kind == "kill" and expected == "S0" else None
    return Outcome(driver, phase, kind, expected, ended, process.returncode, history, recover, stdout, parallel,
                   round(time.monotonic() - start, 2))


def check(outcome: Outcome) -> None:
    """What every case must show, whatever the driver; the outcome goes into the table either way."""
    try:
        _check(outcome)
    except AssertionError:
        outcome.passed = False
        raise
    else:
        outcome.passed = True
    finally:
        outcome.report()


def _check(outcome: Outcome) -> None:
    where = f"{outcome.driver} {outcome.phase} x {outcome.kind} (history: {outcome.history}):\n{outcome.stdout}"
    if outcome.phase == "after-verify" and outcome.kind == "full" and outcome.ended == "S1":
        # every device was verified; the file system was full, but its last page still had room for the
        # outcome line: the apply stands, and the journal says so (a full tmpfs keeps slack in its pages)
        assert outcome.history == "ok" and outcome.returncode == 0, where
        return
    assert outcome.ended == outcome.expected, f"ended {outcome.ended}, expected {outcome.expected}; {where}"
    if outcome.expected == "S1":
        assert outcome.history == "ok", where
        return
    if outcome.kind == "kill":
        assert outcome.returncode == -signal.SIGKILL, where
        assert outcome.history == "interrupted, restored by the safety reverter", where
    elif outcome.kind == "full":
        # the journal itself could not be completed: it must not claim success, and says it never ended
        assert outcome.returncode == 1, where
        assert outcome.history in ("in progress", "rolled back", "interrupted, restored by the safety reverter"), where
    else:
        assert outcome.returncode == 1, where
        if outcome.phase == "rollback":
            assert outcome.history == "interrupted, restored by the safety reverter", where
            assert "ROLLBACK FAILED" in outcome.stdout, where
        else:
            assert outcome.history == "rolled back", where
    if outcome.kind == "exception" and outcome.phase != "rollback":
        assert "unexpected KeyError from the driver" in outcome.stdout, where
    if outcome.kind == "hang" and outcome.phase != "rollback":
        assert f"no answer within its budget of {DEVICE_TIMEOUT}s" in outcome.stdout, where
