"""Removing any intent of the example sites applies cleanly: from the whole site applied, the site
without that intent (and the intents about its VLAN, which go with it) applies, verifies, and then
plans no change; the whole site is applied again before the next one. One test per site,
parametrised over its intents; every ``intent`` command through the package's fork server.

- examples/lab: as it is, on its three namespaces (access ports renamed, since host namespaces are
  named h-<device>-<port> and the package's own lab is up).
- examples/campus and examples/kernel cannot be applied here: every path from the campus's Linux
  core to its switches is an 802.1Q trunk (core1-dist1 carries VLANs 10, 20 and 30), and the kernel
  example is built on a trunk and fq_codel; this host kernel has neither (the full-kernel tier, qemu,
  has both; it is not run here). Their removals are validated and planned instead: the campus
  against its recorded running configs (examples/campus/running/), the kernel example against
  fresh devices. The campus's vendor devices would need more than this machine has too: the
  emulated IOS switch has no QoS, and no NX-OS or Junos can run here. tests/test_removals.py takes
  every site of examples/ (and the golden sites) through the whole cycle as the engine predicts
  the devices: whole, without each intent, whole again, each re-planned to no change.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.faults.forkserver import ForkServer
from tests.labs import Lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces")

EXAMPLES = ROOT / "examples"


def intents_of(site_text: str) -> list[str]:
    return re.findall(r"^  - name: (\S+)", site_text, re.MULTILINE)


def without(site_text: str, names: set[str]) -> str:
    """The site file with these intents (and their comment lines) removed."""
    kept, skipping = [], False
    for line in site_text.splitlines(keepends=True):
        match = re.match(r"^  - name: (\S+)", line)
        if match:
            skipping = match.group(1) in names
        elif line.startswith("  # "):
            skipping = False
        if not skipping:
            kept.append(line)
    return "".join(kept)


def replaced(text: str, *pairs: tuple[str, str]) -> str:
    """``text`` with each replacement made, each required to match (a changed example fails here)."""
    for old, new in pairs:
        assert old in text, f"the example no longer has {old!r}"
        text = text.replace(old, new)
    return text


@dataclass
class Applied:
    """A site applied whole, and how to run ``intent`` on it."""

    lab: Lab
    full: str
    runner: ForkServer
    env: dict[str, str]
    depends: dict[str, set[str]]  # an intent about a VLAN goes with the VLAN

    def intent(self, *args: str, check: int | None = 0) -> tuple[int, str]:
        result = self.runner.run([*args, str(self.lab.site)], {**os.environ, **self.env,
                                                               "INTENT_STATE_DIR": str(self.lab.root / "state")})
        if check is not None:
            assert result.returncode == check, f"intent {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result.returncode, result.stdout + result.stderr

    def remove(self, name: str) -> None:
        """Apply the site without ``name``, check it plans no change, then apply the whole site again."""
        assert name in intents_of(self.full)
        self.lab.write("site.yaml", without(self.full, {name} | self.depends.get(name, set())))
        try:
            code, said = self.intent("apply", "--yes", check=None)
            assert code == 0, f"removing {name}:\n{said}"
            code, said = self.intent("plan", "--detailed-exitcode", check=None)
            assert code == 0, f"after removing {name}, a plan still changes:\n{said}"
        finally:
            self.lab.write("site.yaml", self.full)
        self.intent("apply", "--yes")


LAB_INTENTS = intents_of((EXAMPLES / "lab" / "site.yaml").read_text())
CAMPUS_INTENTS = intents_of((EXAMPLES / "campus" / "site.yaml").read_text())
KERNEL_INTENTS = intents_of((EXAMPLES / "kernel" / "site.yaml").read_text())


@pytest.fixture(scope="module")
def example_lab(tmp_path_factory: pytest.TempPathFactory, intent_runner: ForkServer) -> Iterator[Applied]:
    lab = Lab(tmp_path_factory.mktemp("example-lab"))
    lab.write("topology.yaml", (EXAMPLES / "lab" / "topology.yaml").read_text())
    inventory = (EXAMPLES / "lab" / "inventory.yaml").read_text()
    lab.write("inventory.yaml", re.sub(r"netns: lab-(\w+)", lambda m: f"netns: {lab.ns(m.group(1))}", inventory))
    full = replaced((EXAMPLES / "lab" / "site.yaml").read_text(), (":eth3]", ":eth7]"))
    lab.write("site.yaml", full)
    applied = Applied(lab, full, intent_runner, {},
                      {"guest": {"cap-guest"}, "users": {"video-10-20"}, "video": {"video-10-20"}})
    try:
        applied.intent("lab", "up")
        applied.intent("apply", "--yes")
        yield applied
    finally:
        lab.write("site.yaml", full)
        applied.intent("lab", "down", check=None)


@pytest.mark.parametrize("name", LAB_INTENTS)
def test_removing_an_intent_of_the_example_lab_applies_cleanly(example_lab: Applied, name: str) -> None:
    example_lab.remove(name)


@pytest.mark.parametrize("name", CAMPUS_INTENTS)
def test_removing_an_intent_of_the_example_campus_validates_and_plans(tmp_path: Path, intent_runner: ForkServer,
                                                                     name: str) -> None:
    """Not applied: every path from its Linux core to its switches is an 802.1Q trunk (core1-dist1
    carries VLANs 10, 20 and 30), which this kernel lacks. Planned against the example's recorded
    running configs (examples/campus/running/; devices without one planned fresh)."""
    full = replaced((EXAMPLES / "campus" / "site.yaml").read_text(),
                    ("inventory: ../../inventories/campus.yaml", f"inventory: {ROOT / 'inventories' / 'campus.yaml'}"),
                    ("topology: topology.yaml", f"topology: {EXAMPLES / 'campus' / 'topology.yaml'}"))
    depends = {"users": {"video-10-20", "voice-to-servers"}, "video": {"video-10-20"}, "guest": {"cap-guest"},
               "servers": {"voice-to-servers"}}
    planned_without(tmp_path, intent_runner, full, {name} | depends.get(name, set()), EXAMPLES / "campus" / "running",
                    {"CAMPUS_PASSWORD": "not-read-offline"})


def planned_without(tmp_path: Path, runner: ForkServer, full: str, names: set[str], running: Path,
                    env: dict[str, str]) -> None:
    """The site without ``names`` validates, and plans against ``running`` with no error."""
    site = tmp_path / "site.yaml"
    site.write_text(without(full, names))
    assert not names & set(intents_of(site.read_text()))
    environment = {**os.environ, **env, "INTENT_STATE_DIR": str(tmp_path / "state")}
    validated = runner.run(["validate", str(site)], environment)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    planned = runner.run(["plan", str(site), "--running", str(running), "--format", "json"], environment)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert json.loads(planned.stdout)["errors"] == []


@pytest.mark.parametrize("name", KERNEL_INTENTS)
def test_removing_an_intent_of_the_kernel_example_validates_and_plans(tmp_path: Path, intent_runner: ForkServer,
                                                                     name: str) -> None:
    """Not applied: it needs an 802.1Q trunk and fq_codel, which only the full-kernel tier (qemu) has.
    Planned against fresh devices (an empty ``--running`` directory)."""
    full = replaced((EXAMPLES / "kernel" / "site.yaml").read_text(),
                    ("inventory: inventory.yaml", f"inventory: {EXAMPLES / 'kernel' / 'inventory.yaml'}"),
                    ("topology: topology.yaml", f"topology: {EXAMPLES / 'kernel' / 'topology.yaml'}"))
    (tmp_path / "fresh").mkdir()
    depends = {"users": {"video-10-20"}, "video": {"video-10-20"}, "guest": {"cap-guest"}}
    planned_without(tmp_path, intent_runner, full, {name} | depends.get(name, set()), tmp_path / "fresh", {})
