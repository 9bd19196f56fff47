"""What the hostile-input tests share: a small mixed-vendor site, the CLI run in-process, and a hook in
place of every driver that records whether a device would have been contacted."""

from __future__ import annotations

import textwrap
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from engine import cli
from engine.errors import ConnectError
from tests.hostile.make_corpus import INVENTORY, SITE, TOPOLOGY  # the valid site the corpus breaks

RUNNING_ACC1 = """\
hostname acc1
!
interface GigabitEthernet1/0/1
 description uplink
!
end
"""


def write_site(root: Path, site: str = SITE, inventory: str = INVENTORY, topology: str = TOPOLOGY) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "inventory.yaml").write_text(textwrap.dedent(inventory))
    (root / "topology.yaml").write_text(textwrap.dedent(topology))
    (root / "site.yaml").write_text(textwrap.dedent(site))
    (root / "running").mkdir(exist_ok=True)
    (root / "running" / "acc1.cfg").write_text(RUNNING_ACC1)
    return root / "site.yaml"


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    crashed: str = ""  # a traceback, if an exception escaped the CLI

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Devices:
    """Stands in for every driver: records each device the engine tried to open, then refuses."""

    opened: list[str] = field(default_factory=list)

    def __call__(self, device: Any, state: Any, connection: Any = None) -> Any:
        self.opened.append(device.name)
        raise ConnectError(device.name, "test hook: a device would have been contacted here")


def run(*args: str, env: dict[str, str] | None = None) -> Outcome:
    """The ``intent`` CLI in this process (fast enough for thousands of inputs), as a user runs it."""
    runner = CliRunner()
    result = runner.invoke(cli.main, list(args), env=env, catch_exceptions=True)
    crashed = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crashed = "".join(traceback.format_exception(result.exception))
    return Outcome(result.exit_code, result.stdout, result.stderr, crashed)
