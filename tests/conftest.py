"""Shared fixtures: sites written to temporary directories, and the CLI run as users run it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INTENT = Path(sys.executable).with_name("intent")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden expected files")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


INVENTORY = """\
all:
  vars:
    password_env: LAB_PASSWORD
  children:
    linux:
      vars: {platform: linux}
      hosts:
        core1: {netns: core1}
        acc1: {netns: acc1}
        acc2: {netns: acc2}
"""

TOPOLOGY = """\
links:
  - {a: core1:eth1, b: acc1:eth0, bandwidth: 1Gbps}
  - {a: core1:eth2, b: acc2:eth0, bandwidth: 1Gbps}
"""

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
    qos_guarantee:
      between: [{vlan: 10}, {vlan: 20}]
      rate: 100Mbps
"""


class SiteDir:
    """A site on disk. ``write`` replaces one file; texts are dedented."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    @property
    def site(self) -> Path:
        return self.root / "site.yaml"


@pytest.fixture
def site_dir(tmp_path: Path) -> SiteDir:
    """A small valid all-Linux site: core1 routes VLAN 10 (acc1) and 20 (acc2), 100Mbps between them."""
    site = SiteDir(tmp_path)
    site.write("inventory.yaml", INVENTORY)
    site.write("topology.yaml", TOPOLOGY)
    site.write("site.yaml", SITE)
    return site


def run_intent(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``intent`` console script, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(INTENT), *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


def fake_distribution(root: Path, name: str, **files: str) -> Path:
    """The metadata an installed distribution leaves, and nothing else: ``root/<name>-1.0.dist-info/``
    with METADATA and ``files`` (``entry_points.txt``, ``top_level.txt``). Put ``root`` on sys.path and
    importlib.metadata finds it like any installed distribution."""
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    for filename, text in files.items():
        (info / filename.replace("_txt", ".txt")).write_text(text)
    return info
