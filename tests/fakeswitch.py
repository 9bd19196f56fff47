"""Start and stop the emulated IOS switch (tests/fakeswitch_server.py) on a localhost port the kernel picks."""

from __future__ import annotations

import select
import subprocess
import sys
from pathlib import Path
from types import TracebackType

SERVER = Path(__file__).with_name("fakeswitch_server.py")
USER, PASSWORD, ENABLE = "admin", "sw1tchPassw0rd", "en4bleS3cret"
START_SECONDS = 120  # Twisted and fake-switches import in seconds, on a loaded machine in tens of them


class FakeSwitch:
    """A running emulated switch; ``stop()`` (or leaving ``with``) ends it. If it cannot start, nothing
    is left running: the constructor kills the process before it raises."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.key = root / "host_key"
        if not self.key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", str(self.key)],
                           check=True)
        self.log = root / "switch.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen([sys.executable, str(SERVER), "0", str(self.key), USER, PASSWORD, ENABLE],
                                            stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            self.port = self._ready()
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> int:
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], START_SECONDS)
        line = self.process.stdout.readline().split() if readable else []
        if len(line) != 2 or line[0] != "ready":
            self.stop()
            raise RuntimeError(f"the emulated switch did not start within {START_SECONDS}s: "
                               f"{self.log.read_text()[-2000:]}")
        return int(line[1])

    def known_hosts_line(self) -> str:
        key_type, key = self.key.with_suffix(".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {key_type} {key}\n"

    def stop(self) -> None:
        """End the switch (again: nothing)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> FakeSwitch:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
