"""The intent engine: load -> validate -> compile -> plan. Pure until apply.

This package face imports nothing when it is imported: the names below load their module on
first use (PEP 562), so ``import engine.model`` from a kind, a driver or a plugin never pulls the
compiler, the loader or the kinds in behind it. ``import engine`` never imports napalm, netmiko
or pyroute2; drivers live in ``drivers/`` and are found through entry points.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_WHERE = {
    "Compilation": "engine.compilation",
    "compile": "engine.compiler",
    "compile_site": "engine.compiler",
    "load_site": "engine.loader",
    "DeviceConfig": "engine.render",
    **{name: "engine.errors" for name in (
        "AdmissionError", "CommitError", "ConnectError", "DriverError", "IntentError", "RenderError",
        "RollbackError", "TopologyError", "ValidationError",
    )},
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
