"""statefile: a driver family whose devices are files. A Linux device ``r1`` is the state document
in ``$ACME_STATEFILE_DIR/r1.json`` (absent: a device with nothing on it).

It implements the whole ``engine.driver.Driver`` contract with nothing but file writes, so that
``intent plan`` and ``intent apply`` can be run end to end through a driver the engine has never
heard of. ``platforms`` says which platforms it manages: no platform.yaml names it.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from engine.driver import Connection
from engine.errors import CommitError, ConnectError, RollbackError
from engine.model import Device
from engine.plan import DevicePlan
from engine.render import DeviceConfig

EMPTY = "{}\n"  # the state document of a device nothing was applied to


class StateFileDriver:
    """One device: the file ``<directory>/<device>.json``."""

    def __init__(self, device: Device) -> None:
        self.device = device.name
        self.changes = 0
        self._directory = os.environ.get("ACME_STATEFILE_DIR", "")
        self._candidate: str | None = None

    @property
    def path(self) -> Path:
        return Path(self._directory) / f"{self.device}.json"

    def open(self) -> None:
        if not self._directory or not Path(self._directory).is_dir():
            raise ConnectError(self.device, f"no state directory {self._directory!r} (set ACME_STATEFILE_DIR)")

    def close(self) -> None:
        self._candidate = None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def get_running(self) -> str:
        return self.path.read_text(encoding="utf-8") if self.path.exists() else EMPTY

    def stage(self, config: DeviceConfig, plan: DevicePlan | None = None) -> str:
        if config.document is None:
            raise CommitError(self.device, "statefile keeps state documents only (Linux devices)")
        self._candidate = json.dumps(config.document, indent=2, sort_keys=True) + "\n"
        return "".join(difflib.unified_diff(self.get_running().splitlines(True), self._candidate.splitlines(True),
                                            f"{self.device} (running)", f"{self.device} (intent)"))

    def discard(self) -> None:
        self._candidate = None

    def commit(self, revert_in: int | None = None) -> None:
        if self._candidate is None:
            raise CommitError(self.device, "nothing staged")
        if revert_in is not None:
            raise CommitError(self.device, "statefile has no commit-confirm")
        self._write(self._candidate)
        self._candidate = None

    def confirm(self) -> None:
        raise CommitError(self.device, "no commit is waiting for confirmation")

    def rollback(self, snapshot: str) -> None:
        self._write(snapshot)
        if self.get_running() != snapshot:
            raise RollbackError(self.device, "the state file differs from the snapshot after the restore")

    def _write(self, text: str) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(self.path)
        self.changes = 1


class StateFilePlugin:
    name = "statefile"
    platforms = ("linux",)  # engine.driver.ManagesPlatforms

    def create(self, device: Device, work_dir: Path, connection: Connection) -> StateFileDriver:
        return StateFileDriver(device)

    def __repr__(self) -> str:
        return "acme_statefile.PLUGIN"


PLUGIN: Any = StateFilePlugin()
