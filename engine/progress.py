"""The hooks through which the engine reports progress; it never prints (the CLI renders them).

``Progress(device, stage)`` is called as each device moves on ("reading", "read", "failed").
``Phases(action, devices, stages)`` opens one phase of a longer run (``intent verify`` reads every
device, then counters, ...) and gives its ``Progress``: the CLI passes its per-device progress bars
(``engine.console.DeviceProgress``), a library caller nothing (``quiet``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

Progress = Callable[[str, str], None]
Phases = Callable[[str, Sequence[str], Sequence[str]], contextlib.AbstractContextManager[Progress]]


def quiet(action: str, devices: Sequence[str], stages: Sequence[str]) -> contextlib.AbstractContextManager[Progress]:
    """A phase nobody watches."""
    return contextlib.nullcontext(lambda device, stage: None)
