"""The entry points of the installed distributions, read once while what is installed stays the same.

``importlib.metadata.entry_points`` reads the ``entry_points.txt`` of every distribution on
``sys.path`` each time it is asked (about 90 in the project's virtualenv, 5 ms), and one ``intent plan``
asks four times: intent kinds for loading, compiling and planning, drivers for the inventory. The
answer is kept for as long as ``sys.path`` and the modification time of each of its directories are
what they were (installing or removing a distribution adds or removes a directory in one of them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib import metadata

# (sys.path with each directory's mtime, the select() of all the entry points read then)
_read: tuple[tuple[tuple[str, int | None], ...], Callable[..., metadata.EntryPoints]] | None = None


def entry_points(group: str) -> metadata.EntryPoints:
    """``importlib.metadata.entry_points(group=group)``, from one reading of every distribution."""
    global _read
    installed = tuple((entry, _mtime(entry)) for entry in sys.path)
    if _read is None or _read[0] != installed:
        _read = (installed, metadata.entry_points().select)  # all groups (3.11: SelectableGroups)
    return _read[1](group=group)


def _mtime(entry: str) -> int | None:
    try:
        return os.stat(entry or ".").st_mtime_ns
    except (OSError, ValueError):  # not there (a zip that is not), or not a path at all
        return None
