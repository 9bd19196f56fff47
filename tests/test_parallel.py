"""Per-device work over forked processes (engine.parallel): the same results, in the same order, and
the same errors as the loop, whatever the number of workers; no child left running or unreaped.

Forking is refused while another thread runs (pytest-xdist's worker has one), so what forks runs in
a fresh interpreter (``_program``) with nothing but the main thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine import parallel
from engine.errors import IntentError
from tests.bench.fabric import generate as generate_fabric
from tests.conftest import INTENT

ROOT = Path(__file__).resolve().parents[1]


def _program(code: str, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON document, returned."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_worker_count_forks_only_where_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_threads_alive", lambda: False)
    monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
    assert parallel.worker_count(199, 2) == 1  # 100 items per process at least
    assert parallel.worker_count(200, 2) == 2
    assert parallel.worker_count(1000, 3) == 3
    assert parallel.worker_count(250, 3) == 2
    assert parallel.worker_count(10_000, 1) == 1
    monkeypatch.setenv(parallel.WORKERS_ENV, "3")
    assert parallel.worker_count(1000) == 3
    monkeypatch.setenv(parallel.WORKERS_ENV, "1")
    assert parallel.worker_count(1000) == 1
    parallel.set_workers(2)  # intent --workers 2 over the environment
    try:
        assert parallel.worker_count(1000) == 2
    finally:
        parallel.set_workers(None)
    monkeypatch.delenv(parallel.WORKERS_ENV)
    monkeypatch.setattr(parallel, "idle_cores", lambda: 1)  # every other core busy: no fork by default
    assert parallel.worker_count(1000) == 1
    assert parallel.worker_count(1000, 2) == 2  # asked for: used
    monkeypatch.setattr(parallel, "idle_cores", lambda: 64)
    assert parallel.worker_count(100_000) == parallel.MAX_WORKERS
    monkeypatch.setattr(parallel, "_threads_alive", lambda: True)
    assert parallel.worker_count(1000, 2) == 1


def test_another_thread_alive_means_no_fork() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert parallel._threads_alive()
        assert parallel.worker_count(1000, 2) == 1
    finally:
        stop.set()
        thread.join()
    assert 1 <= parallel.idle_cores() <= (os.cpu_count() or 1)


@pytest.mark.parametrize("text", ["0", "two", "-1", "1.5"])
def test_a_bad_worker_count_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, text)
    with pytest.raises(IntentError, match=f"INTENT_WORKERS='{text}': must be a whole number, 1 or more"):
        parallel.worker_count(1000)
    with pytest.raises(IntentError, match="--workers 0: must be 1 or more"):
        parallel.set_workers(0)


_MAP = """
import json, os, signal, sys, time
from engine import parallel
from engine.errors import IntentError
PARENT = os.getpid()
items = list(range(1000))
def run(func, workers, first_of=None):
    got, error = [], None
    try:
        for result in parallel.ordered_map(func, items, workers, first_of):
            got.append(result)
    except BaseException as exc:
        error = [type(exc).__name__, str(exc)]
    try:
        os.waitpid(-1, os.WNOHANG)
        left = True  # a child not waited for
    except ChildProcessError:
        left = False
    return {"results": [r[0] if isinstance(r, tuple) else r for r in got],
            "pids": len({r[1] for r in got if isinstance(r, tuple)}), "error": error, "children_left": left}
"""


def test_results_are_the_loops_in_order_whatever_the_worker_count() -> None:
    """Items are taken from the queue by whichever process is free, so each item takes a little time
    here: each process then computes some; and many more items, in many more runs of the queue."""
    out = _program(_MAP + """
def square(i):
    time.sleep(0.0002)
    return (i * i, os.getpid())
runs = {str(w): run(square, w, first_of=lambda i: i % 7) for w in (1, 2, 3, 4)}
items = list(range(20_003))
runs["long"] = run(lambda i: (i * i, os.getpid()), 3)
print(json.dumps(runs))
""")
    for workers, run in out.items():
        if workers == "long":
            assert run["results"] == [i * i for i in range(20_003)]
            assert run["error"] is None and not run["children_left"]
            continue
        assert run["results"] == [i * i for i in range(1000)], workers
        assert run["error"] is None and not run["children_left"]
        assert run["pids"] == int(workers)  # each of them computed some


def test_costly_items_that_sort_together_are_shared_and_big_results_come_through() -> None:
    """The last four items (a site's spines) take 100 times the others: two processes compute two each,
    whichever is free takes the next. Some results are bigger than a pipe holds (what a child sends
    waits in it, in parts, and is put together again)."""
    out = _program(_MAP + """
def spines_last(i):
    time.sleep(0.05 if i >= 996 else 0.0005)
    return (("x" * 3_000_000 if i % 100 == 7 else str(i)), os.getpid())
got = list(parallel.ordered_map(spines_last, items, 2))
print(json.dumps({"big": [i for i, (text, _) in enumerate(got) if text != str(i)],
                  "intact": all(text == ("x" * 3_000_000 if i % 100 == 7 else str(i)) for i, (text, _) in enumerate(got)),
                  "pids": len({pid for _, pid in got}), "spine_pids": len({pid for _, pid in got[996:]})}))
""")
    assert out["intact"] and out["big"] == list(range(7, 1000, 100))
    assert out["pids"] == 2 and out["spine_pids"] == 2


@pytest.mark.parametrize("failing", [[731], [500], [0], [731, 733], [730, 731], [731, 500]])
@pytest.mark.parametrize("kind", ["IntentError", "KeyError"])
def test_an_exception_is_raised_as_the_loop_raises_it(failing: list[int], kind: str) -> None:
    """In a child's items or this process's, in the first of each kind (computed before the fork), or
    several: the first in order raises, with its type and message, after every result before it."""
    out = _program(_MAP + f"""
FAILING = {failing!r}
def device(i):
    if i in FAILING:
        raise {kind}(f"leaf{{i:05d}}: cannot render it")
    return (i + 1, os.getpid())
print(json.dumps({{str(w): run(device, w, first_of=lambda i: i % 5) for w in (1, 2, 3)}}))
""")
    first = min(failing)
    message = f"leaf{first:05d}: cannot render it"
    for workers, run in out.items():
        assert run["error"] == [kind, message if kind == "IntentError" else repr(message)], workers
        assert run["results"] == list(range(1, first + 1)), workers
        assert not run["children_left"], workers


def test_a_child_that_dies_or_cannot_send_its_results_leaves_them_to_this_process() -> None:
    out = _program(_MAP + """
def killed(i):
    if os.getpid() != PARENT and i > 600:
        os.kill(os.getpid(), signal.SIGKILL)
    return (i, os.getpid())
class Unsendable:
    def __init__(self, i): self.i = i
    def __reduce__(self): raise TypeError("not picklable")
def unsendable(i):
    return Unsendable(i) if os.getpid() != PARENT else i
def no_pipe(*args):
    raise OSError(24, "Too many open files")
runs = {"killed": run(killed, 2), "unsendable": run(unsendable, 3)}
os.pipe = no_pipe  # neither the queue nor a child's pipe: all computed here
runs["no_pipe"] = run(lambda i: (i, os.getpid()), 3)
print(json.dumps(runs, default=lambda r: r.i))
""")
    assert out["no_pipe"]["results"] == list(range(1000)) and out["no_pipe"]["error"] is None
    assert out["killed"]["results"] == list(range(1000)) and out["killed"]["error"] is None
    assert out["unsendable"]["results"] == list(range(1000)) and out["unsendable"]["error"] is None
    assert not out["killed"]["children_left"] and not out["unsendable"]["children_left"]


def test_an_interrupt_as_a_child_is_reaped_still_ends_in_the_interrupt_with_none_left() -> None:
    # Ctrl-C right after a child was waited for (simulated: the wait raises once it has reaped): the
    # caller's clean-up meets a pid already reaped, and the interrupt, not ChildProcessError, comes out
    out = _program(_MAP + """
real_waitpid, calls = os.waitpid, []
def interrupted_waitpid(pid, options):
    done = real_waitpid(pid, options)
    calls.append(pid)
    if len(calls) == 1:
        raise KeyboardInterrupt
    return done
os.waitpid = interrupted_waitpid
def square(i):
    time.sleep(0.0002)
    return (i * i, os.getpid())
result = run(square, 3)
os.waitpid = real_waitpid
print(json.dumps(result))
""")
    assert out["error"] == ["KeyboardInterrupt", ""]
    assert not out["children_left"]


@pytest.mark.parametrize(("workers", "failing", "error"), [
    (2, 400, ["KeyboardInterrupt", ""]),  # at once: an interrupt has no place in the order
    (2, 400, ["IntentError", "item 400"]),  # whichever process takes it, the child may hang past it
    (2, 402, ["IntentError", "item 402"]),
    (3, 400, ["IntentError", "item 400"]),  # one process's item while another hangs past it
])
def test_what_comes_after_an_error_is_not_waited_for(workers: int, failing: int, error: list[str]) -> None:
    """Items after the first that fails are never needed: a child busy with them (here, for an hour)
    is killed, not waited for, as the loop would never have reached them. (Items are taken from the
    queue by whichever process is free, so the failing one is this process's in some runs, a child's
    in others.)"""
    out = _program(_MAP + f"""
def hangs_after(i):
    if i == {failing}:
        raise {error[0]}(*{error[1:]!r} if {error[1]!r} else ())
    if i > {failing} and os.getpid() != PARENT:
        time.sleep(3600)
    return i
start = time.monotonic()
runs = {{"run": run(hangs_after, {workers})}}
runs["seconds"] = time.monotonic() - start
print(json.dumps(runs))
""")
    assert out["run"]["error"] == error
    if error[0] != "KeyboardInterrupt":
        assert out["run"]["results"] == list(range(failing))
    assert not out["run"]["children_left"] and out["seconds"] < 60


# ---- the two call sites, end to end: compile_site's render and make_plan's device plans


def _fabric(root: Path) -> Path:
    """300 devices: isolations between Linux leaves (whose running state says the kernel has nftables,
    so make_plan renders them again), a third of the vendor leaves with running configs that differ."""
    site = generate_fabric(root, 300, guarantees=20)
    linux = [i for i in range(200, 296) if i % 5 == 4]  # leaves past the guarantees' VLANs
    isolations = [f"  - name: iso{a}\n    isolate: {{between: [{{vlan: {2 + a}}}, {{vlan: {2 + b}}}]}}"
                  for a, b in zip(linux[::2], linux[1::2], strict=False)]
    site.write_text(site.read_text() + "\n".join(isolations) + "\n")
    running = root / "running"
    for i in linux:
        (running / f"leaf{i + 1:05d}.json").write_text(json.dumps({"kernel": {"nftables": True, "drr": False}}))
    for i in range(0, 296, 3):
        name = f"leaf{i + 1:05d}"
        if i % 5 == 2:  # Junos
            (running / f"{name}.cfg").write_text(f"set system host-name {name}\n"
                                                 "set interfaces ge-0/0/47 description operator-port\n")
        elif i % 5 != 4:
            (running / f"{name}.cfg").write_text(f"hostname {name}\ninterface Loopback7\n description operator\n!\n")
    return site


def _plans(site: Path, *extra: str, patch: str = "", workers: tuple[int, ...] = (1, 2, 3)) -> dict[int, dict]:
    """``intent --workers N plan`` for each N, through engine.cli in one fresh interpreter, ``patch``
    applied first; each with the number of forks it made, which proves it did fork."""
    runs = _program(f"""
import io, json, sys
from contextlib import redirect_stderr, redirect_stdout
from engine import cli, parallel
forks = []
fork = parallel._fork
def counted(*args):
    forks.append(1)
    return fork(*args)
parallel._fork = counted
{patch}
runs = {{}}
for workers in {list(workers)!r}:
    forks.clear()
    sys.argv = ["intent", "--workers", str(workers), "plan", {str(site)!r}, "--running",
                {str(site.parent / "running")!r}, "--format", "json",
                *[arg.replace("WORKERS", str(workers)) for arg in {list(extra)!r}]]
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8") for _ in range(2))  # click writes bytes too
    with redirect_stdout(out), redirect_stderr(err):
        try:
            cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code
    out.flush(), err.flush()
    runs[workers] = {{"code": code, "stdout": out.buffer.getvalue().decode(), "stderr": err.buffer.getvalue().decode(),
                      "forks": len(forks)}}
print(json.dumps(runs))
""", env={"BENCH_PASSWORD": "bench-secret"})
    return {int(workers): run for workers, run in runs.items()}


def test_a_fabric_plans_to_the_same_bytes_whatever_the_worker_count(tmp_path: Path) -> None:
    site = _fabric(tmp_path / "fabric")
    runs = _plans(site, "--out", str(tmp_path / "plan-WORKERS.json"))
    for workers, run in runs.items():
        assert run["code"] == 0, run["stderr"]
        assert run["forks"] == workers - 1  # each device rendered and planned in the same worker (compile_and_plan)
        run["file"] = (tmp_path / f"plan-{workers}.json").read_text()
    assert runs[1]["stdout"] == runs[2]["stdout"] == runs[3]["stdout"]
    assert runs[1]["file"] == runs[2]["file"] == runs[3]["file"]
    desired = json.loads(runs[2]["file"])["desired"]
    # make_plan's render for a kernel with nftables, wherever it was computed, is what is planned
    rendered_again = [name for name, config in desired.items() if "intent_isolate" in config["text"]]
    assert len(rendered_again) >= 10
    plan = json.loads(runs[2]["stdout"])
    assert any(device["commands"] for device in plan["devices"].values())


@pytest.mark.parametrize("failing", [["leaf00151"], ["leaf00151", "leaf00150"]])
def test_errors_in_devices_read_as_in_one_process(tmp_path: Path, failing: list[str]) -> None:
    site = _fabric(tmp_path / "fabric")
    unexpected = f"""
import engine.plan
device_plan = engine.plan._device_plan
def broken(config, *args, **kwargs):
    if config.device in {failing!r}:
        raise KeyError(config.device)
    return device_plan(config, *args, **kwargs)
engine.plan._device_plan = broken
"""
    refused = f"""
import engine.render
from engine.errors import RenderError
render = engine.render._render
def broken(model, *args):
    if model.name in {failing!r}:
        raise RenderError(model.name + ": template failed")
    return render(model, *args)
engine.render._render = broken
"""
    running = site.parent / "running"
    if "leaf00150" in failing:  # a Linux leaf: not JSON
        (running / "leaf00150.json").write_text("{not json")
    if "leaf00151" in failing:  # an EOS leaf: an address on a port a VLAN intent takes, no takeover
        (running / "leaf00151.cfg").write_text("interface Ethernet90\n   no switchport\n   ip address 192.0.2.9/24\n")
    invalid = "leaf00150.json:1:1: invalid JSON running state" if "leaf00150" in failing else "leaf00151.cfg:1:1:"
    for patch, expected in ((unexpected, f"error: internal error: KeyError: '{min(failing)}'"),
                            (refused, f"{min(failing)}: template failed"), ("", invalid)):
        runs = _plans(site, patch=patch)
        assert runs[1]["code"] == runs[2]["code"] == runs[3]["code"] == 1
        assert runs[1]["stderr"] == runs[2]["stderr"] == runs[3]["stderr"]
        assert runs[1]["stdout"] == runs[2]["stdout"] == runs[3]["stdout"]
        assert expected in runs[1]["stderr"] or expected in runs[1]["stdout"], runs[1]
        assert runs[3]["forks"] >= 2


def test_the_installed_program_plans_with_workers(tmp_path: Path) -> None:
    site = generate_fabric(tmp_path / "fabric", 250, guarantees=10)
    outputs = []
    for workers in ("1", "2"):
        done = subprocess.run([str(INTENT), "--workers", workers, "plan", str(site), "--running",
                               str(site.parent / "running"), "--format", "json"], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "BENCH_PASSWORD": "x"})
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    bad = subprocess.run([str(INTENT), "plan", str(site)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, parallel.WORKERS_ENV: "many"})
    assert bad.returncode == 1 and "INTENT_WORKERS='many': must be a whole number" in bad.stderr
