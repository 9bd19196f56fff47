"""What the fault tests share: one three-device Linux lab for the whole package (built once)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import INTENT
from tests.faults.matrix import tmpfs
from tests.labs import Lab, running_lab

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
    def __init__(self, lab: Lab, scratch: Path) -> None:
        self.lab, self.scratch = lab, scratch
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
        result = subprocess.run([str(INTENT), *args, str(self.lab.site)], capture_output=True, text=True,
                                env={**env, "INTENT_STATE_DIR": str(state)}, timeout=120)
        if check is not None:
            assert result.returncode == check, result.stdout + result.stderr
        return result


@pytest.fixture(scope="package")
def linux_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinuxLab]:
    root = tmp_path_factory.mktemp("linux-faults")
    with running_lab(root, SITE) as lab:
        yield LinuxLab(lab, root / "cases")


