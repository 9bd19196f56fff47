"""What the fault tests share: one three-device Linux lab for the whole package (built once), one
fork server that runs every ``intent`` command of the package (tests/faults/forkserver.py), and the
matrix table printed at the end of the run (and written to ``$INTENT_FAULT_TABLE`` when it is set)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.faults.forkserver import ForkServer
from tests.faults.matrix import OUTCOMES, SHARED, load_outcomes, table, tmpfs
from tests.labs import Lab, running_lab

PLUGINS = Path(__file__).with_name("napalm_plugins")  # the file-backed NAPALM driver (custom_napalm.filemock)

SITE = """\
site: lab
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, access: [acc1:eth3]}
  - name: video
    vlan: {id: 20, subnet: 10.20.0.0/24, gateway: core1, access: [acc2:eth3]}
  - name: video-10-20
    qos_guarantee: {between: [{vlan: 10}, {vlan: 20}], rate: 30Mbps, queue: pfifo}
"""
ORDER = ["acc1", "acc2", "core1"]


class LinuxLab:
    def __init__(self, lab: Lab, scratch: Path, runner: ForkServer) -> None:
        self.lab, self.scratch, self.runner = lab, scratch, runner
        self.s0 = self.dumps(scratch / "empty")
        with tmpfs(scratch / "s1") as state:
            self.intent(state, "apply", "--yes")
            self.s1 = self.dumps(state)
            self.intent(state, "rollback")
        assert self.dumps(scratch / "empty") == self.s0 and self.s1 != self.s0

    def dumps(self, state: Path) -> dict[str, str]:
        from drivers.linux import LinuxDriver
        from engine.loader import load_site
        from engine.state import StateDir

        site = load_site(self.lab.site)
        directory = StateDir(state / "lab")
        texts = {}
        for name in ORDER:
            with LinuxDriver(site.devices[name], directory.device_dir(name)) as driver:
                texts[name] = driver.get_running()
        return texts

    def intent(self, state: Path, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "INTENT_FAULT"}
        result = self.runner.run([*args, str(self.lab.site)], {**env, "INTENT_STATE_DIR": str(state)})
        if check is not None:
            assert result.returncode == check, result.stdout + result.stderr
        return result


def plugin_path() -> str:
    return os.pathsep.join(filter(None, [str(PLUGINS), str(ROOT), os.environ.get("PYTHONPATH")]))


@pytest.fixture(scope="package")
def intent_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    """The package's ``intent``: forks of one process that imported it (and the NAPALM fake) once."""
    server = ForkServer(tmp_path_factory.mktemp("intent-runs"), {**os.environ, "PYTHONPATH": plugin_path()})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def linux_lab(tmp_path_factory: pytest.TempPathFactory, intent_runner: ForkServer) -> Iterator[LinuxLab]:
    root = tmp_path_factory.mktemp("linux-faults")
    with running_lab(root, SITE) as lab:
        yield LinuxLab(lab, root / "cases", intent_runner)


def _shared_outcomes(config: pytest.Config) -> Path:
    """Where xdist workers put their outcomes: the controller's base temporary directory (theirs is in it)."""
    base: Path = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    return (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "fault-outcomes.jsonl"


@pytest.fixture(scope="session", autouse=True)
def shared_outcomes(request: pytest.FixtureRequest) -> None:
    """Under pytest-xdist, this worker appends its outcomes where the controller's summary reads them."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        SHARED[:] = [str(_shared_outcomes(request.config))]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault matrix of this run (phase x fault x driver -> end state, kill recovery times); under
    pytest-xdist (make test runs -n 2) the workers' outcomes, read from the file they appended to."""
    outcomes = OUTCOMES or load_outcomes(_shared_outcomes(terminalreporter.config))
    if not outcomes:
        return
    text = table(outcomes)
    terminalreporter.section("fault matrix")
    terminalreporter.write(text)
    path = os.environ.get("INTENT_FAULT_TABLE")
    if path:
        Path(path).write_text(text)


