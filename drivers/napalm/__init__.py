"""NAPALM driver for ios, eos, junos and nxos: merge only what intent owns, commit-confirm, rollback.

- stage: ``load_merge_candidate`` loads exactly the plan's commands (engine.plan: hier_config's
  remediation of what the intents own), ``compare_config`` is the device's own diff. Without a plan
  (driver used alone) the same computation runs against the running config it reads.
  ``discard()`` always follows a dry run.
- commit: ``commit_config(revert_in=...)`` where the platform supports it (ios, eos, junos; whole
  minutes); nxos has no commit-confirm in NAPALM, so a detached reverter restores the snapshot at
  the deadline instead (``intent plan`` notes it). Then the running config is read back and checked.
- rollback: ``load_replace_candidate`` with the snapshot, commit, and a check that it took.
- Host keys: NAPALM does not check them by default; this driver checks them first (drivers.ssh)
  and then runs NAPALM strictly against the same known_hosts. EOS eAPI verifies TLS certificates
  unless the inventory says ``tls_verify: false``.
Every NAPALM, Netmiko, pyeapi or PyEZ exception becomes a DriverError naming the device.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers import revert
from drivers.base import Lifecycle, vendor_errors
from drivers.cli import planned, same_config, satisfied
from drivers.ssh import ConnectOptions, password_for, verify_host_key
from engine.driver import Connection, DriverPlugin
from engine.errors import CommitError, ConnectError, DriverError, RollbackError
from engine.model import Device
from engine.plan import DevicePlan
from engine.render import DeviceConfig
from engine.secrets import SecretMasker

NAPALM_NAMES = {"ios": "ios", "eos": "eos", "junos": "junos", "nxos": "nxos_ssh"}
NATIVE_CONFIRM = {"ios", "eos", "junos"}  # NAPALM's nxos drivers have no commit_config(revert_in)
DEFAULT_PORTS = {"ios": 22, "nxos": 22, "junos": 830, "eos": 443}

Factory = Callable[[str], Any]  # napalm platform name -> driver class


def _napalm_factory(name: str) -> Any:
    import napalm

    return napalm.get_network_driver(name)


class NapalmDriver(Lifecycle):
    def __init__(self, device: Device, work_dir: Path, options: ConnectOptions | None = None,
                 factory: Factory | None = None) -> None:
        self.device = device.name
        self.platform = device.platform
        self.work_dir = work_dir
        self._spec = device
        self._options = options or ConnectOptions()
        self._factory = factory
        self._napalm: Any = None
        self._staged: tuple[DeviceConfig, tuple[str, ...], str] | None = None  # config, commands, running
        self._masker = SecretMasker()
        self._masker.add(device.password)
        self.changes = 0
        self.calls: list[str] = []  # NAPALM methods called, in order (for the record and for tests)

    # -- lifecycle ------------------------------------------------------------------------

    def open(self) -> None:
        port = self._spec.port or DEFAULT_PORTS[self.platform]
        name = self._spec.napalm_driver or NAPALM_NAMES[self.platform]
        optional: dict[str, Any] = {"port": port}
        if self._factory is None and name != "mock":  # a real device: strict host keys / TLS
            optional.update(self._strict_options(port))
        optional.update(dict(self._spec.napalm_args))
        password = password_for(self._spec, self._options.prompt)
        self._masker.add(password)
        cls = (self._factory or _napalm_factory)(name)
        with self._wrapped(ConnectError, ""):
            self._napalm = cls(self._spec.host or self.device, self._spec.username or "", password or "",
                               timeout=int(self._options.timeout), optional_args=optional)
            if self.platform == "junos" and self._factory is None and name != "mock":
                self._napalm.device._hostkey_verify = True  # PyEZ never checks otherwise (no public option)
            self._call("open")

    def _strict_options(self, port: int) -> dict[str, Any]:
        if self.platform == "eos":
            verify = dict(self._spec.extra).get("tls_verify", True) is not False
            return {"transport": "https", "enforce_verification": verify}
        verify_host_key(self._spec, port, self._options)
        known = str(self._options.known_hosts)
        if self.platform == "junos":
            config = self.work_dir / "ssh_config"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(f"Host *\n  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n")
            return {"ssh_config_file": str(config)}
        return {"ssh_strict": True, "system_host_keys": False, "alt_host_keys": True, "alt_key_file": known,
                **({"key_file": self._spec.key_file, "use_keys": True} if self._spec.key_file else {})}

    def close(self) -> None:
        if self._napalm is not None:
            with contextlib.suppress(Exception):
                if self._staged is not None:
                    self._call("discard_config")
                self._call("close")
            self._napalm = None
        self._staged = None


    # -- the contract ---------------------------------------------------------------------

    def get_running(self) -> str:
        with self._wrapped(DriverError, "reading the running config failed"):
            config = self._call("get_config", retrieve="running")
            return str(config["running"])

    def stage(self, config: DeviceConfig, plan: DevicePlan | None = None) -> str:
        """Load the plan's commands as a merge candidate; return the device's own diff."""
        running = self.get_running()
        commands = planned(config, running, plan).commands
        if not commands:
            self._staged = None
            return ""
        with self._wrapped(CommitError, "loading the change failed"):
            self._call("load_merge_candidate", config="\n".join(commands) + "\n")
            diff = str(self._call("compare_config"))
        self._staged = (config, commands, running)
        return self._masker(diff if diff.endswith("\n") or not diff else diff + "\n")

    def discard(self) -> None:
        if self._napalm is not None:
            with self._wrapped(DriverError, "discard failed"):
                self._call("discard_config")
        self._staged = None

    def commit(self, revert_in: int | None = None) -> None:
        if self._staged is None:
            self.changes = 0
            return  # nothing to change: stage found the device already as intended
        config, commands, running = self._staged
        native = bool(revert_in) and self.platform in NATIVE_CONFIRM
        if revert_in and not native:
            revert.arm(self.work_dir, self._spec, running, revert_in,
                       {"known_hosts": str(self._options.known_hosts)})
        with self._wrapped(CommitError, "commit failed"):
            if native:
                assert revert_in is not None
                self._call("commit_config", revert_in=max(60, math.ceil(revert_in / 60) * 60))
            else:
                self._call("commit_config")
        self._staged = None
        self.changes = len(commands)
        if not satisfied(config, self.get_running()):
            raise CommitError(self.device, "verification failed: the running config does not hold the change")

    def confirm(self) -> None:
        if self.platform in NATIVE_CONFIRM:
            with self._wrapped(CommitError, "confirm failed"):
                if not self._call("has_pending_commit"):
                    raise CommitError(self.device, "no commit is waiting for confirmation (or it was already reverted)")
                self._call("confirm_commit")
            return
        revert.claim(self.work_dir, self.device)

    def rollback(self, snapshot: str) -> None:
        """Replace the configuration with ``snapshot`` and check that the device shows it."""
        with self._wrapped(RollbackError, "restore failed"):
            self._call("load_replace_candidate", config=snapshot)
            self._call("commit_config")
        if not same_config(self.get_running(), snapshot, self.platform):
            raise RollbackError(self.device, "the running config differs from the snapshot after the restore")
        self.changes = 1

    # -- discovery ------------------------------------------------------------------------

    def neighbours(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(LLDP neighbours in detail, interfaces) as NAPALM's getters return them."""
        with self._wrapped(DriverError, "reading LLDP and interfaces failed"):
            return self._call("get_lldp_neighbors_detail"), self._call("get_interfaces")

    # -- internals ------------------------------------------------------------------------

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._napalm is None:
            raise DriverError(self.device, "driver is not open")
        self.calls.append(method)
        return getattr(self._napalm, method)(*args, **kwargs)

    def _text(self, exc: BaseException) -> str:
        """NAPALM leaks netmiko, pyeapi and PyEZ exceptions: their class name and message, masked."""
        if isinstance(exc, NotImplementedError):
            return f"not supported by NAPALM on {self.platform} ({exc})"
        text = str(exc) or type(exc).__name__
        return self._masker(f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text)

    def _wrapped(self, kind: type[DriverError], what: str) -> contextlib.AbstractContextManager[None]:
        return vendor_errors(self.device, kind, what, text=self._text)


class NapalmPlugin:
    """ios, eos, junos and nxos through NAPALM; what the ``intent_engine.drivers`` entry point ``napalm`` names."""

    name = "napalm"

    def create(self, device: Device, work_dir: Path, connection: Connection) -> NapalmDriver:
        return NapalmDriver(device, work_dir, ConnectOptions.of(connection))

    def preload(self, devices: list[Device]) -> None:
        """napalm and the driver module of each platform these devices use (napalm.ios imports netmiko)."""
        for name in sorted({device.napalm_driver or NAPALM_NAMES.get(device.platform, "") for device in devices} - {""}):
            _napalm_factory(name)


PLUGIN: DriverPlugin = NapalmPlugin()  # mypy checks here that it, and the driver it makes, keep the contract
