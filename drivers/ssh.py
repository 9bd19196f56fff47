"""SSH connections with safe defaults: host keys checked against known_hosts, secrets never in argv or logs.

An unknown host key is refused (with its fingerprint, so it can be verified) unless the caller
opts in with ``accept_new`` (``--accept-new-host-keys``), which records it; a changed key is always
refused. Credentials come from the inventory's ``password_env`` variable, a key file, or the
interactive prompt the CLI provides, never from the command line.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
import time
from dataclasses import field
from pathlib import Path
from typing import Any

import paramiko

from engine.credentials import Prompt
from engine.driver import Connection
from engine.errors import ConnectError
from engine.frozen import frozen
from engine.model import Device

# paramiko's transport thread logs a traceback for a peer that never sends its banner; the failure
# reaches the user once, as the ConnectError below, never as a traceback on stderr.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


@frozen
class ConnectOptions:
    known_hosts: Path = field(default_factory=lambda: Path(os.environ.get("INTENT_KNOWN_HOSTS",
                                                                          Path.home() / ".ssh" / "known_hosts")))
    accept_new_host_keys: bool = False
    timeout: float = 15.0  # connect, SSH banner and authentication, each
    command_timeout: float = 60.0  # one command, start to exit status
    prompt: Prompt | None = field(default=None, compare=False)  # asks for a secret the environment lacks

    @classmethod
    def of(cls, connection: Connection) -> ConnectOptions:
        """The SSH side of the engine's ``Connection``: known_hosts, new keys accepted, deadlines, the prompt."""
        known = Path(connection.known_hosts) if connection.known_hosts else cls().known_hosts
        return cls(known, connection.accept_new_host_keys, connection.connect_timeout, connection.command_timeout,
                   connection.prompt)


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class _UnknownHostKey(Exception):
    def __init__(self, key: paramiko.PKey) -> None:
        self.key = key


class _Policy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    """Refuse unknown keys, or record them in known_hosts when new keys are accepted."""

    def __init__(self, options: ConnectOptions) -> None:
        self.options = options

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self.options.accept_new_host_keys:
            raise _UnknownHostKey(key)
        client.get_host_keys().add(hostname, key.get_name(), key)
        record_host_key(self.options.known_hosts, hostname, key)


def record_host_key(known_hosts: Path, lookup: str, key: paramiko.PKey) -> None:
    """Append a host key to known_hosts under an exclusive lock, unless a parallel connect already did."""
    import fcntl

    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    line = f"{lookup} {key.get_name()} {key.get_base64()}\n"
    with open(known_hosts, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            handle.seek(0)
            if line not in handle.readlines():
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def password_for(device: Device, prompt: Prompt | None = None) -> str | None:
    """The device's password: inventory (if allowed), its ``password_env`` variable, or the prompt."""
    from engine import credentials

    if device.password is not None:
        return device.password
    if device.password_env:
        value = credentials.secret(device.password_env, f"password for {device.username or ''}@{device.name}",
                                   prompt)
        if value is None and device.key_file is None:
            raise ConnectError(device.name, f"no password: set the environment variable {device.password_env}")
        return value
    return None


def connect(device: Device, options: ConnectOptions) -> paramiko.SSHClient:
    host = device.host or device.name
    port = device.port or 22
    client = paramiko.SSHClient()
    if options.known_hosts.exists():
        client.load_host_keys(str(options.known_hosts))
    client.set_missing_host_key_policy(_Policy(options))
    where = f"{host}:{port}" if port != 22 else host
    try:
        client.connect(host, port=port, username=device.username, password=password_for(device, options.prompt),
                       key_filename=device.key_file, look_for_keys=False, allow_agent=False,
                       timeout=options.timeout, banner_timeout=options.timeout, auth_timeout=options.timeout)
    except _UnknownHostKey as exc:
        client.close()
        raise ConnectError(device.name, f"unknown SSH host key for {where} ({exc.key.get_name()} {fingerprint(exc.key)}); "
                                        f"verify it and add it to {options.known_hosts}, or pass --accept-new-host-keys"
                           ) from None
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise ConnectError(device.name, f"SSH host key for {where} CHANGED (now {fingerprint(exc.key)}, "
                                        f"{options.known_hosts} has {fingerprint(exc.expected_key)}): refusing to "
                                        "connect; if the change is expected, remove the old key") from None
    except paramiko.AuthenticationException:
        client.close()
        raise ConnectError(device.name, f"SSH authentication failed for user {device.username or '(none)'} at {where}") \
            from None
    except (TimeoutError, OSError, paramiko.SSHException) as exc:
        client.close()
        raise ConnectError(device.name, f"cannot reach {where} over SSH: {exc}") from None
    return client


class CommandTimeout(ConnectError):
    """A command did not finish within its deadline."""


def run(client: paramiko.SSHClient, command: str, stdin: bytes = b"", timeout: float = 60.0,
        device: str = "") -> tuple[int, bytes, bytes]:
    """Run one command within ``timeout`` seconds, start to exit status; return (exit status, stdout, stderr).

    A host that stops answering raises CommandTimeout (the channel is closed), never hangs."""
    deadline = time.monotonic() + timeout
    transport = client.get_transport()
    if transport is None or not transport.is_active():
        raise ConnectError(device, "the SSH connection is closed")
    try:
        channel: Any = transport.open_session(timeout=timeout)
        channel.settimeout(timeout)
        channel.exec_command(command)
        if stdin:
            channel.sendall(stdin)
        channel.shutdown_write()
    except (TimeoutError, paramiko.SSHException, OSError) as exc:
        raise CommandTimeout(device, f"no answer to a command within {timeout:g}s ({exc or type(exc).__name__})") \
            from None
    out, err = bytearray(), bytearray()
    try:
        while True:
            if channel.recv_ready():
                out += channel.recv(65536)
            elif channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            elif channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
                break
            elif time.monotonic() >= deadline:
                raise CommandTimeout(device, f"no answer to a command within {timeout:g}s")
            elif channel.closed or not transport.is_active():
                raise ConnectError(device, "the SSH connection dropped during a command")
            else:
                channel.status_event.wait(0.05)
        while channel.recv_ready():
            out += channel.recv(65536)
        status = channel.recv_exit_status()
    finally:
        channel.close()
    return status, bytes(out), bytes(err)


def verify_host_key(device: Device, port: int, options: ConnectOptions) -> None:
    """Check the device's SSH host key against known_hosts before a library that does not check
    by default (NAPALM, Netmiko) connects; record it when new keys are accepted. Then that
    library is run strictly against the same file, so the check cannot be bypassed later."""
    host = device.host or device.name
    where = f"{host}:{port}" if port != 22 else host
    lookup = host if port == 22 else f"[{host}]:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=options.timeout)
    except OSError as exc:
        raise ConnectError(device.name, f"cannot reach {where}: {exc}") from None
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=options.timeout)
        key = transport.get_remote_server_key()
    except paramiko.SSHException as exc:
        raise ConnectError(device.name, f"SSH handshake with {where} failed: {exc}") from None
    finally:
        transport.close()
    known = paramiko.HostKeys()
    if options.known_hosts.exists():
        known.load(str(options.known_hosts))
    entry = known.lookup(lookup)
    if entry is None or key.get_name() not in entry:
        if not options.accept_new_host_keys:
            raise ConnectError(device.name, f"unknown SSH host key for {where} ({key.get_name()} {fingerprint(key)}); "
                                            f"verify it and add it to {options.known_hosts}, or pass "
                                            "--accept-new-host-keys")
        record_host_key(options.known_hosts, lookup, key)
        return
    if entry[key.get_name()] != key:
        raise ConnectError(device.name, f"SSH host key for {where} CHANGED (now {fingerprint(key)}, {options.known_hosts} "
                                        f"has {fingerprint(entry[key.get_name()])}): refusing to connect; if the change "
                                        "is expected, remove the old key")
