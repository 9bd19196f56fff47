"""Live reads: `intent plan --parallel N --connect-timeout S` makes an unreachable fleet fail fast and
together. Devices are only ever 127.0.0.1: a local listener that accepts and never answers (an SSH
server that hangs before its banner), and a closed port (refused at once)."""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SiteDir, run_intent


@dataclass
class Held:
    """One connection to the silent listener: when it was accepted, when its client hung up."""

    opened: float
    closed: float | None = None


class SilentListener:
    """A 127.0.0.1 port that accepts TCP connections and never sends a byte (an SSH server that hangs
    before its banner), noting when each connection was accepted and when its client gave up."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(256)
        self.server.setblocking(False)
        self.port = int(self.server.getsockname()[1])
        self.connections: list[Held] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.server, selectors.EVENT_READ)
            while not self._stop.is_set():
                events = selector.select(timeout=0.2)
                now = time.monotonic()
                # hang-ups first: a client that gave up did so before the next device's connect, which
                # the same wake-up may also show (so two devices in turn are never counted as at once)
                for key, _ in sorted(events, key=lambda event: event[0].fileobj is self.server):
                    if key.fileobj is self.server:
                        self._accept(selector, now)
                    else:
                        self._read(selector, key, now)
            for key in list(selector.get_map().values()):
                if key.fileobj is not self.server:
                    key.fileobj.close()  # type: ignore[union-attr]

    def _accept(self, selector: selectors.BaseSelector, now: float) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except (BlockingIOError, InterruptedError):
                return
            connection.setblocking(False)
            held = Held(now)
            self.connections.append(held)
            selector.register(connection, selectors.EVENT_READ, held)

    @staticmethod
    def _read(selector: selectors.BaseSelector, key: selectors.SelectorKey, now: float) -> None:
        connection: socket.socket = key.fileobj  # type: ignore[assignment]
        try:
            data = connection.recv(4096)  # the client's own banner, never answered
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            key.data.closed = now
            selector.unregister(connection)
            connection.close()

    def hung_up(self, seconds: float = 30) -> bool:
        """Whether every client has hung up, waiting up to ``seconds`` for the listener to see it (the
        command has exited, so its sockets are closed: only the listener's thread can be behind)."""
        deadline = time.monotonic() + seconds
        while any(held.closed is None for held in self.connections):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def peak(self, lasting: float) -> int:
        """The most connections that were all open together for at least ``lasting`` seconds. A client
        closes its socket a moment after its read has failed (paramiko's transport thread does it), so
        a device and the next one read in turn overlap for that moment: not "at once"."""
        events = sorted([(held.opened, 1) for held in self.connections] +
                        [(held.closed - lasting, -1) for held in self.connections if held.closed is not None])
        most = current = 0
        for _, change in events:  # at equal times, an end (-1) sorts before a start
            current += change
            most = max(most, current)
        return most

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()


@pytest.fixture
def silent() -> Iterator[SilentListener]:
    listener = SilentListener()
    yield listener
    listener.close()


def closed_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connecting is refused
    return int(port)


def fleet(tmp_path: Path, silent: int, refused: int, port: int) -> SiteDir:
    site = SiteDir(tmp_path)
    dead = closed_port()
    hosts = [f"    s{i:02d}: {{host: 127.0.0.1, port: {port}}}" for i in range(silent)]
    hosts += [f"    r{i:02d}: {{host: 127.0.0.1, port: {dead}}}" for i in range(refused)]
    (tmp_path / "inventory.yaml").write_text(
        "all:\n  vars: {platform: linux, username: ops, password_env: FLEET_PASSWORD}\n  hosts:\n" + "\n".join(hosts) + "\n")
    (tmp_path / "topology.yaml").write_text("links: []\n")
    first = "s00" if silent else "r00"
    (tmp_path / "site.yaml").write_text(
        "site: fleet\ninventory: inventory.yaml\ntopology: topology.yaml\nintents:\n"
        f"  - name: users\n    vlan: {{id: 10, subnet: 10.10.0.0/24, gateway: {first}, access: [{first}:eth3]}}\n")
    return site


def plan_live(site: SiteDir, *options: str) -> tuple[float, str, int]:
    start = time.monotonic()
    result = run_intent("plan", str(site.site), "--state-dir", str(site.root / "state"),
                        "--known-hosts", str(site.root / "known_hosts"), *options,
                        env={"FLEET_PASSWORD": "not-used-anywhere"})
    assert "Traceback" not in result.stderr
    return time.monotonic() - start, result.stderr, result.returncode


@pytest.mark.measures
def test_sixty_silent_devices_fail_together_within_the_connect_timeout(tmp_path: Path, silent: SilentListener) -> None:
    timeout, parallel = 2.0, 32
    site = fleet(tmp_path, silent=60, refused=4, port=silent.port)
    elapsed, stderr, code = plan_live(site, "--connect-timeout", f"{timeout:g}", "--parallel", str(parallel))
    assert code == 1
    for name in [f"s{i:02d}" for i in range(60)] + [f"r{i:02d}" for i in range(4)]:
        assert name in stderr, f"{name} is not named among the failures"
    # Together: exactly --parallel reads under way at once (never more), each one's connection held
    # together with the others' for half the timeout at least, as the listener saw them. This holds
    # however slowly a loaded machine runs the command, unlike a wall-clock cap: the 32 connects of a
    # round take milliseconds, each is then held for the timeout.
    assert len(silent.connections) >= 60 and silent.hung_up()
    assert silent.peak(timeout / 2) == parallel, f"{silent.peak(timeout / 2)} devices read at once, not {parallel}"
    # Within the timeout: 64 devices, 32 at once, is two rounds of it; one by one, 60. From the first
    # connect to the last hang-up (start-up of the command not counted) at most 4 rounds, twice the ideal:
    # room for a loaded machine, far below the serial bound. The whole command also stays under half of it.
    rounds = (max(held.closed or 0.0 for held in silent.connections) -
              min(held.opened for held in silent.connections)) / timeout
    assert rounds < 4, f"the reads took {rounds:.1f} rounds of the timeout (ideal: 2; one by one: 60)"
    serial = 60 * timeout
    assert elapsed < serial / 2, f"{elapsed:.1f}s, against {serial:g}s one by one"


@pytest.mark.measures
def test_one_at_a_time_the_same_devices_take_a_timeout_each(tmp_path: Path, silent: SilentListener) -> None:
    timeout = 1.0
    site = fleet(tmp_path, silent=4, refused=0, port=silent.port)
    elapsed, stderr, code = plan_live(site, "--connect-timeout", f"{timeout:g}", "--parallel", "1")
    assert code == 1 and "s03" in stderr
    assert elapsed >= 4 * timeout, f"{elapsed:.1f}s: the timeout did not apply to each device"
    assert len(silent.connections) == 4 and silent.hung_up()
    assert silent.peak(timeout / 2) == 1, "--parallel 1 read two devices at once"
    silent.connections.clear()
    _, stderr, code = plan_live(site, "--connect-timeout", f"{timeout:g}", "--parallel", "4")
    assert code == 1 and "s03" in stderr and silent.hung_up()
    assert silent.peak(timeout / 2) == 4, f"--parallel 4 read {silent.peak(timeout / 2)} devices at once"


def test_a_refused_port_fails_at_once_whatever_the_timeout(tmp_path: Path) -> None:
    site = fleet(tmp_path, silent=0, refused=3, port=1)
    elapsed, stderr, code = plan_live(site, "--connect-timeout", "60")
    assert code == 1 and all(f"r{i:02d}" in stderr for i in range(3))
    assert elapsed < 30, f"{elapsed:.1f}s: a refusal waited for the timeout"  # half of it: room for a loaded machine
