"""Live reads: `intent plan --parallel N --connect-timeout S` makes an unreachable fleet fail fast and
together. Devices are only ever 127.0.0.1: a local listener that accepts and never answers (an SSH
server that hangs before its banner), and a closed port (refused at once)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SiteDir, run_intent


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A 127.0.0.1 port that accepts TCP connections and never sends a byte."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(256)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                held.append(connection)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for connection in held:
        connection.close()
    server.close()


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
def test_sixty_silent_devices_fail_together_within_the_connect_timeout(tmp_path: Path, silent_port: int) -> None:
    site = fleet(tmp_path, silent=60, refused=4, port=silent_port)
    elapsed, stderr, code = plan_live(site, "--connect-timeout", "1")
    assert code == 1
    for name in [f"s{i:02d}" for i in range(60)] + [f"r{i:02d}" for i in range(4)]:
        assert name in stderr, f"{name} is not named among the failures"
    # 64 devices, 32 at once: two rounds of a 1 s timeout (8 at once would be 8 rounds; one by one, 60 s)
    assert elapsed < 6, f"{elapsed:.1f}s"


@pytest.mark.measures
def test_one_at_a_time_the_same_devices_take_a_timeout_each(tmp_path: Path, silent_port: int) -> None:
    site = fleet(tmp_path, silent=4, refused=0, port=silent_port)
    elapsed, stderr, code = plan_live(site, "--connect-timeout", "0.7", "--parallel", "1")
    assert code == 1 and "s03" in stderr
    assert elapsed >= 4 * 0.7, f"{elapsed:.1f}s: the timeout did not apply to each device"
    fast, _, _ = plan_live(site, "--connect-timeout", "0.7", "--parallel", "4")
    assert fast < elapsed - 1.0, f"parallel {fast:.1f}s vs one at a time {elapsed:.1f}s"


def test_a_refused_port_fails_at_once_whatever_the_timeout(tmp_path: Path) -> None:
    site = fleet(tmp_path, silent=0, refused=3, port=1)
    elapsed, stderr, code = plan_live(site, "--connect-timeout", "30")
    assert code == 1 and all(f"r{i:02d}" in stderr for i in range(3))
    assert elapsed < 15
