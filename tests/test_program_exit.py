"""The ``intent`` program ends without the interpreter's teardown (engine.cli.run): its output, exit
status and exit handlers are what a normal exit gives, and a thread still running is waited for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import SiteDir, run_intent


def _program(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])


def test_plan_output_whole_and_status_kept(site_dir: SiteDir) -> None:
    from engine.compiler import compile_site
    from engine.loader import load_site
    from engine.plan import RunningState, make_plan

    running = site_dir.root / "running"
    running.mkdir()
    result = run_intent("plan", str(site_dir.site), "--running", str(running), "--format", "json",
                        "--detailed-exitcode")
    assert result.returncode == 2, result.stderr
    site = load_site(site_dir.site)
    assert result.stdout == make_plan(site, compile_site(site), RunningState(running)).to_json()
    assert json.loads(result.stdout)["changes"] is True
    refused = run_intent("plan", str(site_dir.root / "missing.yaml"))
    assert refused.returncode == 1 and "file not found" in refused.stderr


def test_exit_handlers_run_and_threads_are_waited_for() -> None:
    handler = _program("import atexit, sys\nfrom engine import cli\n"
                       "atexit.register(lambda: print('handler ran', flush=True))\n"
                       "sys.argv = ['intent', '--version']\ncli.run()")
    assert handler.returncode == 0, handler.stderr
    assert "intent" in handler.stdout and handler.stdout.rstrip().endswith("handler ran")
    threaded = _program("import sys, threading, time\nfrom engine import cli\n"
                        "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done', flush=True))).start()\n"
                        "sys.argv = ['intent', '--version']\ncli.run()")
    assert threaded.returncode == 0, threaded.stderr
    assert "thread done" in threaded.stdout


def test_a_plan_printed_to_a_text_only_stdout_is_the_programs(site_dir: SiteDir) -> None:
    """A program that embeds the CLI and captures its output in a StringIO (no binary buffer under it)
    gets the same JSON the console script prints: the plan is written as bytes only where a stream takes them."""
    running = site_dir.root / "running"
    running.mkdir()
    args = ["plan", str(site_dir.site), "--running", str(running), "--format", "json"]
    embedded = _program("import io, sys\nfrom contextlib import redirect_stdout\nfrom engine import cli\n"
                        f"sys.argv = ['intent', *{args!r}]\nout = io.StringIO()\n"
                        "with redirect_stdout(out):\n    try:\n        cli.main()\n    except SystemExit as exc:\n"
                        "        code = exc.code\n"
                        "sys.__stdout__.write(out.getvalue())\nsys.__stdout__.flush()\nsys.exit(code)")
    assert embedded.returncode == 0, embedded.stderr
    printed = run_intent(*args)
    assert printed.returncode == 0, printed.stderr
    assert embedded.stdout == printed.stdout and json.loads(embedded.stdout)["changes"] is True
