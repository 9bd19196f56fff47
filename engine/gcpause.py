"""Python's cyclic garbage collector paused while a stage builds large acyclic data.

Loading, compiling and planning a 10,000-device site allocate millions of objects that all stay
alive; each full collection walks every one of them again, which made those stages grow faster than
the site. Paused, they grow with it. The engine's data has no reference cycles to collect, and the
collector is back on (as it was) when the stage returns or raises.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
_lock = threading.Lock()
_depth = 0
_was_enabled = False


def paused(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` with the cyclic collector off (nested and concurrent uses restore it once, at the end)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        global _depth, _was_enabled
        with _lock:
            if _depth == 0:
                _was_enabled = gc.isenabled()
                gc.disable()
            _depth += 1
        try:
            return func(*args, **kwargs)
        finally:
            with _lock:
                _depth -= 1
                if _depth == 0 and _was_enabled:
                    gc.enable()

    return wrapper
