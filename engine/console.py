"""Progress per device on the command line (the CLI's side: the engine only calls a hook).

The engine reports ``(device, stage)`` through a ``Progress`` hook (engine.transaction); this turns
those calls into one rich progress bar per device on a terminal, and into plain lines when stderr
is not one (CI logs), so a pipeline still sees what happened to each device, in order. Progress
is written to stderr only, bar or lines: stdout stays what the command prints (JSON stays JSON).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Any

FINAL = ("verified", "done", "read", "failed", "restored")  # a device is finished at any of these


class DeviceProgress:
    """``with DeviceProgress("apply", devices, ("snapshot", "apply", "verified")) as hook: run(progress=hook)``."""

    def __init__(self, action: str, devices: Sequence[str], stages: Sequence[str], stream: IO[str] | None = None,
                 tty: bool | None = None) -> None:
        self.action = action
        self.stages = tuple(stages)
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._lock = threading.Lock()
        self._tasks: dict[str, Any] = {}
        self._devices = list(devices)
        self._bar: Any = None
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            console = Console(file=self.stream, highlight=False, force_terminal=True)
            self._bar = Progress(TextColumn("{task.fields[device]:<12}"), BarColumn(bar_width=24),
                                 TextColumn("{task.description}"), console=console, transient=True,
                                 redirect_stdout=False)  # stdout is what a pipeline reads: never through the bar

    def __enter__(self) -> DeviceProgress:
        if self._bar is not None:
            for device in self._devices:
                self._task(device)
            self._bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _task(self, device: str) -> Any:
        if device not in self._tasks:
            self._tasks[device] = self._bar.add_task(f"{self.action}: waiting", total=len(self.stages), device=device)
        return self._tasks[device]

    def __call__(self, device: str, stage: str) -> None:
        """The hook: ``device`` is now at ``stage``."""
        with self._lock:
            if self._bar is None:
                print(f"{self.action} {device}: {stage}", file=self.stream, flush=True)
                return
            done = len(self.stages) if stage in FINAL else \
                self.stages.index(stage) if stage in self.stages else None
            update: dict[str, Any] = {"description": f"{self.action}: {stage}"}
            if done is not None:
                update["completed"] = done
            self._bar.update(self._task(device), **update)
