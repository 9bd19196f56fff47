"""A remote Linux host for tests: a network namespace running a real OpenSSH server.

The namespace is reached from here over a veth pair addressed in 198.18.0.0/15 (the benchmarking
range, never routed anywhere). Keys are generated per test; sshd accepts only the test's key.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def sh(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


class RemoteHost:
    """A namespace with interfaces eth1..eth4 (veth to peers inside it) and sshd on mgmt0."""

    counter = 0

    def __init__(self, root: Path) -> None:
        RemoteHost.counter += 1
        self.root = root
        self.tag = uuid.uuid4().hex[:6]
        self.netns = f"r{self.tag}"
        self.outside = f"m{self.tag}"
        octet = 10 + (int(self.tag, 16) % 200)
        self.address, self.local = f"198.18.{octet}.2", f"198.18.{octet}.1"
        self.process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        self.host_key = root / "ssh_host_ed25519_key"
        self.client_key = root / "client_key"
        self.other_key = root / "other_key"
        for key in (self.host_key, self.client_key, self.other_key):
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
        (root / "authorized_keys").write_text((root / "client_key.pub").read_text())

    def start(self) -> None:
        sh("ip", "netns", "add", self.netns)
        ns = ("ip", "netns", "exec", self.netns)
        sh(*ns, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", self.outside, "type", "veth", "peer", "name", "mgmt0", "netns", self.netns)
        sh("ip", "addr", "add", f"{self.local}/30", "dev", self.outside)
        sh("ip", "link", "set", self.outside, "up")
        sh(*ns, "ip", "addr", "add", f"{self.address}/30", "dev", "mgmt0")
        sh(*ns, "ip", "link", "set", "mgmt0", "up")
        for number in range(1, 5):
            sh(*ns, "ip", "link", "add", f"eth{number}", "type", "veth", "peer", "name", f"p{number}")
            sh(*ns, "ip", "link", "set", f"eth{number}", "up")
            sh(*ns, "ip", "link", "set", f"p{number}", "up")
        Path("/run/sshd").mkdir(exist_ok=True)
        config = self.root / "sshd_config"
        config.write_text("\n".join([
            f"ListenAddress {self.address}", "Port 22", f"HostKey {self.host_key}", f"PidFile {self.root}/sshd.pid",
            f"AuthorizedKeysFile {self.root}/authorized_keys", "PermitRootLogin prohibit-password",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "StrictModes no", "UsePAM no",
            "LogLevel ERROR", "",
        ]))
        self.process = subprocess.Popen([*ns, SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60  # it listens in well under a second, on a loaded machine in seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection((self.address, 22), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sshd did not start (exit status {self.process.returncode})")

    def known_hosts_line(self) -> str:
        key_type, key = (self.root / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        return f"{self.address} {key_type} {key}\n"

    def wrong_known_hosts_line(self) -> str:
        key_type, key = (self.root / "other_key.pub").read_text().split()[:2]
        return f"{self.address} {key_type} {key}\n"

    def run(self, *command: str) -> str:
        return sh("ip", "netns", "exec", self.netns, *command)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        subprocess.run(["ip", "link", "del", self.outside], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
