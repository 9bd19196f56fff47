"""Intent kinds: one module each (``intents/<kind>.py`` with its JSON Schema), registered in one
explicit map in ``intents.registry``.

This package face imports nothing when it is imported, so ``import intents.base`` (what a
third-party kind does) never drags the built-in kinds or the engine in behind it. ``Registry`` and
``BUILTIN`` load ``intents.registry`` on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BUILTIN", "Registry"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("intents.registry"), name)
    raise AttributeError(f"module 'intents' has no attribute {name!r}")
