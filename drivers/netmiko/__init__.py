"""Netmiko driver for CLI devices without a usable NAPALM path (``driver: netmiko``).

Netmiko sends exactly the plan's commands (engine.plan: hier_config's remediation of what the
intents own, computed once) with an error pattern, then the running config is read back and
checked. A restore sends hier_config's remediation from the current config to the snapshot.
Commit-confirm is snapshot-based: a detached reverter
sends the device back to its snapshot unless ``intent confirm`` claims it first.
Host keys are checked against known_hosts (drivers.ssh) and Netmiko runs strictly against it.
"""

from __future__ import annotations

import contextlib
import re
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
from engine.remediate import restore
from engine.render import DeviceConfig
from engine.secrets import SecretMasker

DEVICE_TYPES = {"ios": "cisco_ios", "eos": "arista_eos", "nxos": "cisco_nxos", "junos": "juniper_junos"}
SHOW_RUNNING = {"junos": "show configuration | display set"}
ERROR_PATTERN = r"% ?Invalid|% ?Incomplete|% ?Ambiguous|% ?Error|No such command|Command rejected|syntax error"

Connector = Callable[..., Any]  # netmiko.ConnectHandler or a stand-in


def _connect_handler(**kwargs: Any) -> Any:
    from netmiko import ConnectHandler

    return ConnectHandler(**kwargs)


class NetmikoDriver(Lifecycle):
    def __init__(self, device: Device, work_dir: Path, options: ConnectOptions | None = None,
                 connector: Connector | None = None) -> None:
        self.device = device.name
        self.platform = device.platform
        self.work_dir = work_dir
        self._spec = device
        self._options = options or ConnectOptions()
        self._connector = connector or _connect_handler
        self._conn: Any = None
        self._staged: tuple[DeviceConfig, tuple[str, ...], str] | None = None  # config, commands, running
        self._masker = SecretMasker()
        self._masker.add(device.password)
        self.changes = 0
        self.sent: list[str] = []  # every configuration line sent, in order (for the record and tests)

    def open(self) -> None:
        port = self._spec.port or 22
        verify_host_key(self._spec, port, self._options)
        password = password_for(self._spec, self._options.prompt)
        self._masker.add(password)
        from engine import credentials

        secret_env = dict(self._spec.extra).get("enable_secret_env")
        secret = (credentials.secret(str(secret_env), f"enable secret of {self.device}", self._options.prompt)
                  or "") if secret_env else ""
        self._masker.add(secret)
        with vendor_errors(self.device, ConnectError, "", text=self._text):
            self._conn = self._connector(
                device_type=DEVICE_TYPES[self.platform], host=self._spec.host or self.device, port=port,
                username=self._spec.username or "", password=password or "", secret=secret,
                ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                alt_key_file=str(self._options.known_hosts), conn_timeout=self._options.timeout,
                **({"key_file": self._spec.key_file, "use_keys": True} if self._spec.key_file else {}),
            )
            if self.platform != "junos" and not self._conn.check_enable_mode():
                self._conn.enable()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.disconnect()
            self._conn = None
        self._staged = None


    def get_running(self) -> str:
        with self._wrapped(DriverError, "reading the running config failed"):
            return str(self._conn.send_command(SHOW_RUNNING.get(self.platform, "show running-config")))

    def stage(self, config: DeviceConfig, plan: DevicePlan | None = None) -> str:
        """Hold the plan's commands (a CLI device has no candidate); return the plan's diff."""
        running = self.get_running()
        device_plan = planned(config, running, plan)
        if not device_plan.commands:
            self._staged = None
            return ""
        self._staged = (config, device_plan.commands, running)
        return device_plan.diff

    def discard(self) -> None:
        self._staged = None  # nothing was sent: a CLI device has no candidate to drop

    def commit(self, revert_in: int | None = None) -> None:
        if self._staged is None:
            self.changes = 0
            return
        config, commands, running = self._staged
        if revert_in:
            revert.arm(self.work_dir, self._spec, running, revert_in,
                       {"known_hosts": str(self._options.known_hosts)})
        self._send(commands, CommitError, "commit failed")
        self._staged = None
        self.changes = len(commands)
        if not satisfied(config, self.get_running()):
            raise CommitError(self.device, "verification failed: the running config does not hold the change")

    def confirm(self) -> None:
        revert.claim(self.work_dir, self.device)

    def rollback(self, snapshot: str) -> None:
        current = self.get_running()
        commands = restore(self.platform, current, snapshot)
        if commands:
            self._send(commands, RollbackError, "restore failed")
        if not same_config(self.get_running(), snapshot, self.platform):
            raise RollbackError(self.device, "the running config differs from the snapshot after the restore")
        self.changes = len(commands)

    def _send(self, commands: tuple[str, ...], kind: type[DriverError], what: str) -> None:
        self.sent.extend(commands)
        with self._wrapped(kind, what):
            output = self._conn.send_config_set(list(commands), error_pattern=ERROR_PATTERN)
            if self.platform == "junos":
                output += self._conn.commit()
        match = re.search(rf"^.*({ERROR_PATTERN}).*$", output or "", re.MULTILINE)
        if match:
            raise kind(self.device, f"{what}: the device said {self._masker(match.group(0).strip())!r}")

    def _text(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return self._masker(f"{type(exc).__name__}: {text}")

    def _wrapped(self, kind: type[DriverError], what: str) -> contextlib.AbstractContextManager[None]:
        if self._conn is None:
            raise DriverError(self.device, "driver is not open")
        return vendor_errors(self.device, kind, what, text=self._text, cleanup=self._conn.exit_config_mode)


class NetmikoPlugin:
    """CLI devices through Netmiko and hier_config; what the ``intent_engine.drivers`` entry point ``netmiko`` names."""

    name = "netmiko"

    def create(self, device: Device, work_dir: Path, connection: Connection) -> NetmikoDriver:
        return NetmikoDriver(device, work_dir, ConnectOptions.of(connection))

    def preload(self, devices: list[Device]) -> None:
        """netmiko (its ConnectHandler imports every platform module it has)."""
        import netmiko  # noqa: F401


PLUGIN: DriverPlugin = NetmikoPlugin()  # mypy checks here that it, and the driver it makes, keep the contract
