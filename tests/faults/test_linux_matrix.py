"""The fault matrix on three Linux devices in network namespaces (acc1, acc2, core1): with
--parallel 1 (applied in that order: "before-commit" of acc2 is between acc1's commit and acc2's)
and with --parallel 3 (all three at once, the fault landing wherever the others are), every phase x
every fault kind ends S0 or S1, byte for byte on every device, and history says which."""

from __future__ import annotations

import os

import pytest

from tests.faults.conftest import ORDER, LinuxLab
from tests.faults.matrix import KINDS, PHASES, check, run_case, tmpfs

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and tmpfs mounts")

@pytest.mark.parametrize("parallel", [1, 3])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("phase", "index", "expected"), PHASES)
def test_linux_fault(linux_lab: LinuxLab, phase: str, index: int, expected: str, kind: str, parallel: int) -> None:
    with tmpfs(linux_lab.scratch / f"{phase}-{kind}-{parallel}") as state:
        outcome = run_case(runner=linux_lab.runner, driver="linux", phase=phase, index=index, kind=kind,
                           expected=expected, site=linux_lab.lab.site, site_name="lab", order=ORDER, state=state,
                           dumps=linux_lab.dumps, s0=linux_lab.s0, s1=linux_lab.s1, parallel=parallel)
        check(outcome)
        if outcome.history == "in progress":  # full: nothing more could be written; free it and recover
            (state / "lab" / ".fault-fill").unlink()
            notice = linux_lab.intent(state, "history")
            assert "was interrupted" in notice.stderr and "intent rollback" in notice.stderr, notice
            linux_lab.intent(state, "rollback")
            assert "interrupted, restored by intent rollback" in linux_lab.intent(state, "history").stdout
        if outcome.ended == "S1":  # a full disk that still let the apply end: the fault is over, free it first
            (state / "lab" / ".fault-fill").unlink(missing_ok=True)
            linux_lab.intent(state, "rollback")
        assert linux_lab.dumps(state) == linux_lab.s0
