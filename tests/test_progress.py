"""Progress per device: a rich bar per device on a terminal (a real pty here), plain lines otherwise."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import INTENT, SiteDir, run_intent
from tests.labs import running_lab
from tests.test_discover import interfaces, lldp, record
from tests.test_verify import SITE as LAB_SITE

BAR = "━"  # what rich draws a bar with


def in_pty(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
           timeout: float = 120, stdout_file: Path | None = None) -> tuple[int, str]:
    """Run ``intent`` with stdout and stderr on a pseudo-terminal (stdout into ``stdout_file`` if given,
    as in ``intent ... > file`` on a terminal); returns (exit code, all it wrote on the terminal)."""
    primary, secondary = pty.openpty()
    with contextlib.ExitStack() as files:
        stdout = secondary if stdout_file is None else files.enter_context(stdout_file.open("wb"))
        process = subprocess.Popen([str(INTENT), *args], stdin=subprocess.DEVNULL, stdout=stdout, stderr=secondary,
                                   env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", **(env or {})},
                                   cwd=cwd)
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if ready:
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(primary)
    code = process.wait(timeout=10)
    return code, b"".join(chunks).decode(errors="replace")


def test_the_bar_never_takes_what_is_written_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """While the bars are drawn (on stderr), what the command prints stays on stdout, where a pipeline
    reads it: rich would otherwise redirect it through the bar's console onto stderr."""
    from engine.console import DeviceProgress

    terminal = io.StringIO()
    with DeviceProgress("read", ["core1"], ("reading", "read"), stream=terminal, tty=True) as progress:
        progress("core1", "reading")
        print('{"ok": true}')
        progress("core1", "read")
    assert capsys.readouterr().out == '{"ok": true}\n'
    assert '"ok"' not in terminal.getvalue()


def _inventory(tmp_path: Path) -> Path:
    record(tmp_path / "sw1", lldp({"GigabitEthernet1/0/1": ("core1", "Ethernet1/1")}),
           interfaces({"GigabitEthernet1/0/1": 1000.0}))
    record(tmp_path / "core1", lldp({"Ethernet1/1": ("sw1", "GigabitEthernet1/0/1")}),
           interfaces({"Ethernet1/1": 10000.0}))
    SiteDir(tmp_path).write("inventory.yaml", """\
        all:
          vars: {password_env: DISCOVER_PW, napalm_driver: mock}
          hosts:
            sw1: {platform: ios, napalm_optional_args: {path: sw1}}
            core1: {platform: nxos, napalm_optional_args: {path: core1}}
        """)
    return tmp_path / "inventory.yaml"


def test_discover_without_a_terminal_writes_plain_lines(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path)
    result = run_intent("discover", "--inventory", str(inventory), "--out", str(tmp_path / "t.yaml"),
                        env={"DISCOVER_PW": "x"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    for device in ("core1", "sw1"):
        asked, done = f"discover {device}: LLDP and interfaces", f"discover {device}: done"
        assert asked in lines and done in lines and lines.index(asked) < lines.index(done)
    assert BAR not in result.stderr and "\x1b[" not in result.stderr
    assert ": done" not in result.stdout  # progress never mixes into what a pipeline reads


def test_discover_on_a_terminal_draws_a_bar_per_device(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path)
    code, screen = in_pty("discover", "--inventory", str(inventory), "--out", str(tmp_path / "t.yaml"),
                          env={"DISCOVER_PW": "x"}, cwd=tmp_path)
    assert code == 0, screen
    assert BAR in screen and "\x1b[" in screen
    bars = [line for line in screen.replace("\r", "\n").splitlines() if BAR in line]
    assert any("core1" in line for line in bars) and any("sw1" in line for line in bars)  # one per device
    assert "discover sw1: done" not in screen  # not the plain lines


root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces")


@root_only
@pytest.mark.measures
def test_apply_plan_and_verify_on_the_lab(tmp_path: Path) -> None:
    with running_lab(tmp_path, LAB_SITE) as lab:
        env = {"INTENT_STATE_DIR": str(lab.root / "state")}
        code, screen = in_pty("apply", str(lab.site), "--yes", env=env)
        assert code == 0, screen
        bars = [line for line in screen.replace("\r", "\n").splitlines() if BAR in line]
        for device in ("core1", "acc1", "acc2"):
            assert any(device in line and "apply: " in line for line in bars), device
            assert any(device in line and "read: " in line for line in bars), device  # the live plan before
        assert "apply core1: snapshot" not in screen
        plan = lab.intent("plan", "--detailed-exitcode")  # exit 0: nothing left to change
        for device in ("core1", "acc1", "acc2"):
            assert f"read {device}: reading" in plan.stderr and f"read {device}: read" in plan.stderr
        assert BAR not in plan.stderr and "read core1" not in plan.stdout
        planned = lab.intent("plan", "--format", "json")
        assert json.loads(planned.stdout)["changes"] is False  # all of stdout is the JSON, progress on stderr
        assert "read core1: read" in planned.stderr
        lab.write("site.yaml", LAB_SITE.replace("rate: 30Mbps", "rate: 25Mbps"))
        applied = lab.intent("apply", "--yes")
        lines = applied.stderr.splitlines()
        order = [lines.index(f"apply core1: {stage}") for stage in ("snapshot", "apply", "verified")]
        assert order == sorted(order)
        verified = lab.intent("verify", "--seconds", "2", "--format", "json")
        assert "class counters core1: read" in verified.stderr and "read acc2: read" in verified.stderr
        assert json.loads(verified.stdout)["ok"] is True  # the JSON stays clean: all of stdout parses
        piped = lab.root / "verify.json"
        code, screen = in_pty("verify", str(lab.site), "--seconds", "2", "--format", "json", env=env,
                              stdout_file=piped)
        assert code == 0 and BAR in screen, screen  # a bar per device on the terminal (stderr) ...
        assert json.loads(piped.read_text())["ok"] is True  # ... and nothing of it in the JSON on stdout
