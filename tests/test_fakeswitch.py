"""The emulated switch the Netmiko tests use (tests/fakeswitch.py) starts on a port the kernel picked
and, when it cannot start, leaves no process behind."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests import fakeswitch
from tests.fakeswitch import FakeSwitch


def test_the_switch_listens_where_it_says_and_stops(tmp_path: Path) -> None:
    with FakeSwitch(tmp_path) as switch:
        with socket.create_connection(("127.0.0.1", switch.port), timeout=30) as client:
            client.settimeout(30)
            assert client.recv(64).startswith(b"SSH-2.0-")
    assert switch.process.poll() is not None


def test_a_switch_that_cannot_start_leaves_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[str]] = []

    class Recorded(subprocess.Popen[str]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(fakeswitch.subprocess, "Popen", Recorded)
    (tmp_path / "host_key").write_text("not a key\n")  # kept as it is: the server fails to load it
    with pytest.raises(RuntimeError, match="did not start"):
        FakeSwitch(tmp_path)
    assert len(started) == 1 and started[0].poll() is not None
