"""A synthetic NAPALM driver for tests (a fake, named as such): an EOS-like device whose running
config is a file, so that its state survives across driver instances and processes (NAPALM's own
MockDriver replays recorded answers per instance and call count, and keeps no state: see
tests/faults/test_vendor_matrix.py). Found by ``napalm.get_network_driver("filemock")``
through NAPALM's site-local ``custom_napalm`` package when this folder is on PYTHONPATH.

    optional_args: {path: FILE}   the running config (read and written whole)

A merge candidate becomes what hier_config predicts the config is after those commands
(``HConfig.future``); a replace candidate becomes the running config byte for byte.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from napalm.base.base import NetworkDriver


class FileMockDriver(NetworkDriver):  # type: ignore[misc]
    platform = "eos"

    def __init__(self, hostname: str, username: str, password: str, timeout: int = 60,
                 optional_args: dict[str, Any] | None = None) -> None:
        self.hostname = hostname
        self.path = Path((optional_args or {})["path"])
        self.candidate: tuple[str, str] | None = None  # ("merge" | "replace", text)
        self.opened = False

    def open(self) -> None:
        if not self.path.exists():
            raise ConnectionError(f"{self.hostname}: no such device")
        self.opened = True

    def close(self) -> None:
        self.opened = False

    def get_config(self, retrieve: str = "all", full: bool = False, sanitized: bool = False,
                   format: str = "text") -> dict[str, str]:
        return {"running": self.path.read_text(), "startup": "", "candidate": ""}

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self.candidate = ("merge", config or "")

    def load_replace_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self.candidate = ("replace", config or "")

    def _result(self) -> str:
        running = self.path.read_text()
        if self.candidate is None:
            return running
        how, text = self.candidate
        if how == "replace":
            return text
        from hier_config import Platform, get_hconfig

        future = get_hconfig(Platform.ARISTA_EOS, running).future(get_hconfig(Platform.ARISTA_EOS, text))
        return "\n".join(future.lines()) + "\n"

    def compare_config(self) -> str:
        running = self.path.read_text()
        return "".join(difflib.unified_diff(running.splitlines(True), self._result().splitlines(True)))

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        text = self._result()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(self.path)
        self.candidate = None

    def discard_config(self) -> None:
        self.candidate = None

    def has_pending_commit(self) -> bool:
        return False
