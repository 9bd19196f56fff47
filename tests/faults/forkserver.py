"""``intent`` for the fault tests, as forks of one process that has imported it already.

Every case of the fault matrix runs the real ``intent`` command (``engine.cli:main``, the console
script's entry point) in a process of its own: its own pid, environment, working directory,
stdout/stderr, signals and exit status, killed for real by ``kill``. What a fork saves is the
interpreter's start and the imports (click, rich, pyroute2, paramiko, netmiko, napalm,
hier_config): seconds of CPU per command on this shared machine, and inside a device's budget,
since a driver is imported when the first device is opened. The safety reverter an apply starts
is still a fresh ``python -m engine.guard``, as in production.

    python -m tests.faults.forkserver SOCKET      # prints "ready" once everything is imported

The server is single-threaded (nothing holds a lock when it forks): one request at a time, it
forks the child, answers with its pid, waits for it and answers with its exit status (negative:
the signal that ended it), as ``subprocess.Popen.returncode`` does.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

PRELOAD = ("engine.cli", "engine.transaction", "engine.guard", "engine.compiler", "drivers.linux", "drivers.netmiko",
           "drivers.napalm", "netmiko", "napalm", "napalm.base", "hier_config", "paramiko", "pyroute2")


def serve(path: str) -> None:
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    try:  # the file-backed NAPALM driver of the vendor matrix, when its folder is on the path
        importlib.import_module("custom_napalm.filemock")
    except ImportError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    print("ready", flush=True)
    while True:
        connection, _ = server.accept()
        with connection:
            request = json.loads(connection.makefile("r").readline())
            if request.get("stop"):
                return
            pid = os.fork()
            if pid == 0:
                server.close()
                connection.close()
                _child(request)
            connection.sendall(f"{pid}\n".encode())
            _, status = os.waitpid(pid, 0)
            connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())


def _child(request: dict[str, Any]) -> None:
    """Become ``intent ARGV`` and exit with its status; never returns."""
    code = 70
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        for fd, name, flags in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND),
                                (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)):
            opened = os.open(name, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)
        sys.argv = ["intent", *request["argv"]]
        from engine.cli import main

        try:
            main(args=request["argv"], prog_name="intent")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the child's own failure, said on its stderr
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - exiting anyway
                pass
        os._exit(code)


class Forked:
    """One forked ``intent`` run: what the fault tests used of ``subprocess.Popen``."""

    def __init__(self, connection: socket.socket, stdout: Path, stderr: Path) -> None:
        self.connection, self.stdout_path, self.stderr_path = connection, stdout, stderr
        self._reader = connection.makefile("r")
        self.pid = int(self._reader.readline())
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self.connection], [], [], 0)[0]:
            self.returncode = int(self._reader.readline())
            self.connection.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(["intent"], timeout or 0)
            select.select([self.connection], [], [], 0.05)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, number: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def output(self) -> tuple[str, str]:
        def read(path: Path) -> str:
            return path.read_text(errors="replace") if path.exists() else ""

        return read(self.stdout_path), "" if self.stderr_path == self.stdout_path else read(self.stderr_path)


class ForkServer:
    """The server process for one test package, and the client half: ``popen`` and ``run``."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        import tempfile

        root.mkdir(parents=True, exist_ok=True)
        self.root, self.count = root, 0
        self.socket_path = Path(tempfile.mkdtemp(prefix="intent-forks-")) / "sock"  # a short path: AF_UNIX's limit
        self.process = subprocess.Popen([sys.executable, "-m", "tests.faults.forkserver", str(self.socket_path)],
                                        stdout=subprocess.PIPE, text=True, env=env, cwd=Path(__file__).parents[2])
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the fork server did not start")

    def popen(self, argv: list[str], env: dict[str, str], merge_stderr: bool = False) -> Forked:
        self.count += 1
        stdout = self.root / f"{self.count}.out"
        stderr = stdout if merge_stderr else self.root / f"{self.count}.err"
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(str(self.socket_path))
        connection.sendall((json.dumps({"argv": argv, "env": env, "cwd": os.getcwd(), "stdout": str(stdout),
                                        "stderr": str(stderr)}) + "\n").encode())
        return Forked(connection, stdout, stderr)

    def run(self, argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        forked = self.popen(argv, env)
        try:
            code = forked.wait(timeout)
        except subprocess.TimeoutExpired:
            forked.kill()
            raise
        out, err = forked.output()
        return subprocess.CompletedProcess(["intent", *argv], code, out, err)

    def stop(self) -> None:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.connect(str(self.socket_path))
                connection.sendall(b'{"stop": true}\n')
            self.process.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.socket_path.unlink(missing_ok=True)
        self.socket_path.parent.rmdir()


if __name__ == "__main__":
    serve(sys.argv[1])
