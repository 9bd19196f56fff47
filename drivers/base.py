"""The driver contract: how the engine reaches a device. Modelled on napalm's config lifecycle.

Drivers live in ``drivers/<name>/`` and are the only place vendor libraries (napalm, netmiko,
pyroute2) are imported. They wrap vendor exceptions at this edge:
``raise ConnectError(device, "...") from exc``. This module defines the contract only; the
Linux, NAPALM and Netmiko drivers implement it (see the README for which exist in this release).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol, Self

from engine.render import DeviceConfig


class Lifecycle:
    """``with driver:`` opens and always closes; the shared half of every driver below."""

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def probe(self, desired: Any) -> list[str]:
        """Features the device lacks for ``desired`` (only Linux kernels are probed)."""
        return []


class Driver(Protocol):
    """One device's configuration lifecycle. Used as a context manager::

        with driver:                       # open(); close() on exit, also on error
            before = driver.get_running()  # snapshot, e.g. "hostname sw1\\n..." or a Linux state document as JSON
            diff = driver.stage(config)    # candidate loaded, nothing active yet; returns a unified diff
            driver.commit(revert_in=300)   # active; reverts by itself in 300 s unless confirm() comes
            driver.confirm()
    """

    device: str

    def open(self) -> None:
        """Connect. Raises ConnectError naming the device (unreachable, auth failed, unknown host key)."""

    def close(self) -> None:
        """Disconnect; discards a staged candidate that was never committed. Never raises."""

    def __enter__(self) -> Driver: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None: ...

    def get_running(self) -> str:
        """The running state as text: CLI config for vendor platforms, a JSON state document for Linux."""

    def stage(self, config: DeviceConfig) -> str:
        """Load ``config`` as a candidate without activating it; return the unified diff (secrets masked)."""

    def discard(self) -> None:
        """Drop the staged candidate. Dry runs always call this, and tests prove they do."""

    def commit(self, revert_in: int | None = None) -> None:
        """Activate the candidate. With ``revert_in`` seconds, the device returns to its previous
        state by itself unless ``confirm()`` arrives in time. Raises CommitError."""

    def confirm(self) -> None:
        """Make a commit armed with ``revert_in`` permanent."""

    def rollback(self, snapshot: str) -> None:
        """Restore a state returned by ``get_running()``. Raises RollbackError."""
