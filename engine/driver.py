"""What the engine asks of a driver, and the registry it finds drivers in: contracts and data only.

The contract is written here, beside the engine that calls it, so that the engine never imports
``drivers/``: drivers implement it (``drivers/base.py`` hands the same names on to driver authors,
with the shared lifecycle and the one place vendor exceptions are mapped). Drivers are found
through the ``intent_engine.drivers`` entry-point group; whoever composes a run (the CLI, the
reverter process, a test) puts them in a ``DriverRegistry`` and hands it over in ``Connection``.

Optional abilities are small ``runtime_checkable`` Protocols that a driver has or lacks; callers
ask ``isinstance(driver, ClassStats)`` rather than the platform's name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from engine.credentials import Prompt
from engine.entrypoints import EntryPoint, entry_points, source
from engine.errors import ConnectError, IntentError
from engine.frozen import frozen
from engine.model import Device
from engine.plan import DevicePlan
from engine.render import DeviceConfig

ENTRY_POINT_GROUP = "intent_engine.drivers"


class Driver(Protocol):
    """One device's configuration lifecycle, modelled on napalm's. Used as a context manager::

        with registry.create(device, work_dir, connection) as driver:  # open(); close() on exit, also on error
            before = driver.get_running()   # "hostname sw1\\n..." (CLI) or '{"links": [...], "owned": [...]}' (Linux)
            diff = driver.stage(config)     # "--- sw1 (running)\\n+++ sw1 (intent)\\n@@ ...": candidate loaded, not active
            driver.commit(revert_in=300)    # active; back to ``before`` by itself in 300 s unless confirm() comes
            driver.confirm()
            driver.changes                  # 14: requests or commands the last commit or rollback sent

    Every method raises a ``DriverError`` subclass naming the device, never a vendor exception.
    """

    device: str  # the inventory name: "core1"
    changes: int  # requests/commands sent by the last commit() or rollback(): 0 when nothing had to change

    def open(self) -> None:
        """Connect. Raises ConnectError: "sw1: unknown SSH host key for 192.0.2.1 (ssh-ed25519 SHA256:...)"."""
        ...

    def close(self) -> None:
        """Disconnect; a staged candidate that was never committed is discarded. Never raises."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def get_running(self) -> str:
        """The running state as text: the CLI configuration ("interface Gi1/0/1\\n switchport ...") for
        vendor platforms, the JSON state document for Linux. ``rollback()`` accepts exactly this text."""
        ...

    def stage(self, config: DeviceConfig, plan: DevicePlan | None = None) -> str:
        """Load ``config`` as a candidate without activating it; return the unified diff, secrets masked,
        "" when the device already holds everything intent wants. With ``plan`` (the device's part of
        the plan that was shown), a CLI device is sent exactly its ``commands``. Raises DriverError or
        CommitError."""
        ...

    def discard(self) -> None:
        """Drop the staged candidate (a dry run always ends here): the device is as before stage()."""
        ...

    def commit(self, revert_in: int | None = None) -> None:
        """Activate the candidate, read the device back and check it holds the change. With
        ``revert_in=300`` the device returns to its previous state by itself after 300 s unless
        ``confirm()`` arrives. Raises CommitError("sw1: commit failed: % Invalid input ...")."""
        ...

    def confirm(self) -> None:
        """Make a commit armed with ``revert_in`` permanent. Raises CommitError when none is pending
        ("no commit is waiting for confirmation") or it was already reverted ("too late: ...")."""
        ...

    def rollback(self, snapshot: str) -> None:
        """Make the device equal ``snapshot`` (a ``get_running()`` text) again, checked by reading back.
        Raises RollbackError("sw1: the running config differs from the snapshot after the restore")."""
        ...


@runtime_checkable
class FeatureProbe(Protocol):
    """A driver that can tell, before planning, what the device lacks for a configuration."""

    def probe(self, config: DeviceConfig) -> list[str]:
        """What this device cannot do of ``config``, each a whole sentence for the user, e.g.
        ["the kernel lacks qdisc fq_codel; use queue: pfifo in the intent, or a kernel that has it"]."""
        ...


@runtime_checkable
class Neighbours(Protocol):
    """A driver that reads LLDP neighbours and interface speeds (``intent discover``)."""

    def neighbours(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(LLDP neighbours in detail, interfaces) in NAPALM's getter shapes:
        ({"Gi1/0/1": [{"remote_system_name": "sw2", "remote_port": "Gi1/0/2", ...}]},
         {"Gi1/0/1": {"speed": 1000.0, ...}}) with speeds in Mbit/s."""
        ...


@runtime_checkable
class ClassStats(Protocol):
    """A driver that reads the counters of the shaping classes on interfaces (``intent verify``)."""

    def class_stats(self, interfaces: list[str]) -> list[dict[str, Any]]:
        """One entry per class: {"dev": "eth2", "classid": "1:1a3", "bytes": 125000, "packets": 90,
        "drops": 0, "overlimits": 3}."""
        ...


@frozen
class Connection:
    """How to reach devices: which drivers there are, where known SSH host keys are, whether host
    keys never seen before are accepted (and recorded), the deadlines of a connection, and who is
    asked for a missing secret."""

    known_hosts: str | None = None
    accept_new_host_keys: bool = False
    drivers: DriverRegistry = field(default_factory=lambda: DriverRegistry(), compare=False)
    connect_timeout: float = 10.0  # one connection attempt: TCP, SSH banner, authentication, each (--connect-timeout)
    command_timeout: float = 60.0  # one command on a connection, start to exit status
    prompt: Prompt | None = field(default=None, compare=False)  # asks for secrets the environment lacks

    def within(self, budget: float) -> Connection:
        """The same, with no single deadline longer than a device's whole budget (--device-timeout)."""
        return Connection(self.known_hosts, self.accept_new_host_keys, self.drivers,
                          min(self.connect_timeout, budget), min(self.command_timeout, budget), self.prompt)


class DriverPlugin(Protocol):
    """What an ``intent_engine.drivers`` entry point names: one family of drivers (``linux``)."""

    name: str  # the word an inventory writes: ``driver: netmiko``

    def create(self, device: Device, work_dir: Path, connection: Connection) -> Driver:
        """A driver for ``device``, not yet open. ``work_dir`` is the device's own directory in the
        site's state (``.intent/devices/core1``): owned keys, an armed revert."""
        ...


@runtime_checkable
class Preloads(Protocol):
    """A driver family whose vendor library takes long to import (napalm, netmiko: seconds on a loaded
    machine): the registry has it imported before any device's budget (``--device-timeout``) starts."""

    def preload(self, devices: list[Device]) -> None:
        """Import what driving ``devices`` needs (``napalm`` and its ``ios`` driver for an ios device).
        An import that fails is left for the device's own ``open`` to report, as a ConnectError."""
        ...


@runtime_checkable
class ManagesPlatforms(Protocol):
    """A driver family that says which platforms it manages, for a platform whose platform.yaml
    does not name it (a third-party driver for ``linux`` devices): the loader asks it, once the
    inventory names it."""

    platforms: tuple[str, ...]  # ("linux",): directories of templates/


class DriverRegistry:
    """The drivers one run can use, by name. Two drivers with one name are refused, never shadowed."""

    def __init__(self, plugins: Iterable[DriverPlugin] = ()) -> None:
        self._loaders: dict[str, Callable[[], DriverPlugin]] = {}
        self._loaded: dict[str, DriverPlugin] = {}
        # name -> where it came from, for the refusal of a second one (an entry point's distribution is
        # named only then: reading its name is reading its METADATA)
        self._sources: dict[str, str | EntryPoint] = {}
        for plugin in plugins:
            self.add(plugin)

    @classmethod
    def installed(cls) -> DriverRegistry:
        """Every driver of the ``intent_engine.drivers`` entry-point group; each is imported on first use,
        so a run that only plans offline imports no vendor library."""
        registry = cls()
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            registry._claim(entry.name, entry)
            registry._loaders[entry.name] = entry.load
        return registry

    def add(self, plugin: DriverPlugin) -> None:
        self._claim(plugin.name, repr(plugin))
        self._loaded[plugin.name] = plugin

    def _claim(self, name: str, found: str | EntryPoint) -> None:
        if name in self._sources:
            raise IntentError(f"two drivers are named {name!r}: {source(self._sources[name])} and {source(found)}; "
                              "uninstall one of the distributions that provide them")
        self._sources[name] = found

    def names(self) -> list[str]:
        return sorted(self._sources)

    def get(self, name: str) -> DriverPlugin:
        if name not in self._loaded:
            if name not in self._loaders:
                known = ", ".join(self.names()) or "none"
                raise IntentError(f"no driver named {name!r} is installed (installed: {known})")
            plugin = self._loaders[name]()
            if plugin.name != name:
                raise IntentError(f"the entry point {name!r} of {ENTRY_POINT_GROUP} gives a driver named {plugin.name!r}")
            self._loaded[name] = plugin
        return self._loaded[name]

    def load(self, devices: Iterable[Device]) -> None:
        """Import the driver of each of ``devices``, and the vendor library it drives them with (a
        ``Preloads`` family), now: before a transaction starts any device's budget, so that
        ``--device-timeout`` measures the device, not the first import of napalm or netmiko. A driver
        that cannot be loaded fails its devices when they are created, as it would without this."""
        families: dict[str, list[Device]] = {}
        for device in devices:
            families.setdefault(device.driver, []).append(device)
        for name, members in sorted(families.items()):
            try:
                plugin = self.get(name)
            except Exception:  # noqa: BLE001 - create() reports it, device by device
                continue
            if isinstance(plugin, Preloads):
                with contextlib.suppress(Exception):
                    plugin.preload(members)

    def create(self, device: Device, work_dir: Path, connection: Connection) -> Driver:
        """The driver for ``device`` (its inventory ``driver``), not yet open."""
        try:
            plugin = self.get(device.driver)
        except IntentError as exc:
            raise ConnectError(device.name, str(exc)) from None
        return plugin.create(device, work_dir, connection)
