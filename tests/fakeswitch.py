"""Start and stop the emulated IOS switch (tests/fakeswitch_server.py) on a free localhost port."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

SERVER = Path(__file__).with_name("fakeswitch_server.py")
USER, PASSWORD, ENABLE = "admin", "sw1tchPassw0rd", "en4bleS3cret"


class FakeSwitch:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.key = root / "host_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", str(self.key)],
                       check=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen([sys.executable, str(SERVER), str(self.port), str(self.key), USER, PASSWORD,
                                         ENABLE], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the emulated switch did not start")

    def known_hosts_line(self) -> str:
        key_type, key = self.key.with_suffix(".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {key_type} {key}\n"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
