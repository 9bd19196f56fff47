"""The intent engine: load -> validate -> compile -> plan. Pure until apply.

``import engine`` never imports napalm, netmiko or pyroute2; drivers live in ``drivers/``.
"""

from engine.compiler import Compilation, compile, compile_site
from engine.errors import (
    AdmissionError,
    CommitError,
    ConnectError,
    DriverError,
    IntentError,
    RenderError,
    RollbackError,
    TopologyError,
    ValidationError,
)
from engine.loader import load_site
from engine.render import DeviceConfig

__version__ = "0.1.0"

__all__ = [
    "AdmissionError", "CommitError", "Compilation", "ConnectError", "DeviceConfig", "DriverError", "IntentError",
    "RenderError", "RollbackError", "TopologyError", "ValidationError", "compile", "compile_site", "load_site",
]
