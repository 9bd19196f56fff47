"""The driver contract and what every driver shares. Modelled on napalm's config lifecycle.

``Driver`` is the one Protocol every driver implements (its methods carry the full contract, with
example values); ``FeatureProbe``, ``Neighbours`` and ``ClassStats`` are the optional abilities, checked
with ``isinstance``. They are written in ``engine/driver.py``, beside the engine that calls them,
so the engine never imports ``drivers/``; this module hands the same objects on to driver authors.

A driver family is a ``DriverPlugin`` (``name`` and ``create(device, work_dir, connection)``)
registered in the ``intent_engine.drivers`` entry-point group of its distribution's pyproject::

    [project.entry-points."intent_engine.drivers"]
    linux = "drivers.linux:PLUGIN"

``drivers/<name>/`` is the only place a vendor library (napalm, netmiko, pyroute2) is imported, and
each driver maps the vendor's exceptions once, in ``vendor_errors``: ``raise CommitError(...) from exc``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Self

from engine.driver import ClassStats, Connection, Driver, DriverPlugin, DriverRegistry, FeatureProbe, Neighbours
from engine.errors import DriverError

__all__ = ["ClassStats", "Connection", "Driver", "DriverPlugin", "DriverRegistry", "Lifecycle", "Neighbours",
           "FeatureProbe", "vendor_errors"]


class Lifecycle:
    """``with driver:`` opens and always closes; the shared half of every driver."""

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


@contextlib.contextmanager
def vendor_errors(device: str, kind: type[DriverError], what: str,
                  vendor: tuple[type[BaseException], ...] = (Exception,),
                  text: Callable[[BaseException], str] = str,
                  cleanup: Callable[[], object] | None = None) -> Iterator[None]:
    """The one place a driver turns its vendor's exceptions into ours.

    ``kind(device, "<what>: <text(exc)>")`` is raised from the vendor exception (``what`` may be ""
    to keep only the text); our own ``DriverError`` passes through unchanged. ``cleanup`` runs first
    (leave a CLI session usable for the restore that follows), its own failure ignored.
    """
    try:
        yield
    except DriverError:
        raise
    except vendor as exc:
        if cleanup is not None:
            with contextlib.suppress(Exception):
                cleanup()
        message = text(exc)
        raise kind(device, f"{what}: {message}" if what else message) from exc
