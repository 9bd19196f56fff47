"""Per-device work spread over the machine's idle cores: ``ordered_map(func, items)`` is
``map(func, items)``, with some of the items computed in forked children.

The children are forked once the caller has built everything ``func`` reads (the site, its models),
so nothing is sent to them. Every process, this one too, takes the next run of items from a shared
queue when it is free (``_Queue``), so none waits long for another at the end whatever the items
cost; each child sends each result pickled through a pipe as soon as it has it, read here between
this process's own items, and the caller gets every result in the order of ``items``, equal to what
the loop makes. It is the loop itself whenever
forking cannot pay or is not safe: fewer than ``MIN_ITEMS_PER_WORKER`` items per process, no idle
core (a core other processes are running on gives a child nothing: with ``sched_autogroup``, a
session's processes share one session's part of the CPU, however many they are), no ``os.fork`` (not Linux/Unix), another thread alive in this process (a progress
display, a driver's reader: a forked copy of a threaded process can deadlock), or one worker asked
for (``intent --workers 1``, ``INTENT_WORKERS=1``). A number of workers asked for is used whatever
the load (within the other bounds).

``func`` must return its whole effect: what a child changes in memory (a dict it was given, a
counter) is lost with it, so a caller merges what the results say into its own state. Memoising
caches are fine (the parent works the value out again when it needs it), and so that no process
works them out twice, the first item of each kind (``first_of``: a platform, whose templates and rules
``func`` compiles once) is computed before any fork. A ``func`` that raises, in a child or here, raises
as the loop would: the items no process finished are computed here, in order, so the first item that
fails raises its own exception in this process (its type, its message) after the results before it.
Nothing after the first item that fails is needed, so once one has failed (here, or in a child that
stops there and says so) the children still at work are killed, not waited for: an item past it that
would never end in a child does not hang the run (one that never ends in this process, after a
child's failure, would: ``render`` and ``_device_plan`` are computation, they end). A child that
dies or cannot send a result (killed, out of memory, a result that does not pickle) only means the
items it had not sent are computed here. Children are always waited for: on an exception or an interrupt
here they are killed first, never left running or unreaped.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import struct
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, TypeVar

from engine.errors import IntentError

T = TypeVar("T")
R = TypeVar("R")

WORKERS_ENV = "INTENT_WORKERS"
MIN_ITEMS_PER_WORKER = 100  # fewer per process, and the fork and the pickles cost about what they save
PIPE_BYTES = 1 << 20  # a child's pipe (Linux's default /proc/sys/fs/pipe-max-size)
RUN_SHARE = 2  # a run of the queue is 1/(RUN_SHARE * processes) of the items left (see _Queue)
MAX_WORKERS = 8  # the default's bound: each process adds a fork, a pickle to read back and copied pages

_asked: int | None = None  # ``intent --workers N``; None: INTENT_WORKERS, else the idle cores


def set_workers(count: int | None) -> None:
    """How many processes per-device work uses in this run (``intent --workers N``; 1: only this one);
    None: ``INTENT_WORKERS``, else one per idle core."""
    global _asked
    if count is not None and count < 1:
        raise IntentError(f"--workers {count}: must be 1 or more (1 computes everything in one process)")
    _asked = count


def asked_workers() -> int | None:
    """The number of processes asked for (``set_workers``, else ``INTENT_WORKERS``), or None."""
    if _asked is not None:
        return _asked
    text = os.environ.get(WORKERS_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise IntentError(f"{WORKERS_ENV}={text!r}: must be a whole number, 1 or more "
                          "(1 computes everything in one process)")
    return int(text)


def idle_cores() -> int:
    """The cores this process may run on (``sched_getaffinity``: a container's or taskset's share) less
    those other processes are running on right now (``procs_running`` of /proc/stat, this one left
    out): a load average would count this program's own runs of a minute ago."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            running = next(int(line.split()[1]) for line in stat if line.startswith("procs_running "))
    except (OSError, StopIteration, ValueError, IndexError):
        running = 1  # not Linux: no way to tell, the cores are taken as idle
    return max(1, usable - max(0, running - 1))


def _threads_alive() -> bool:
    """Another thread in this process, Python's or a native one (/proc lists every task)."""
    if threading.active_count() > 1:
        return True
    try:
        return len(os.listdir("/proc/self/task")) > 1
    except OSError:
        return False


def worker_count(items: int, workers: int | None = None) -> int:
    """The processes ``ordered_map`` uses for ``items`` items (1: no fork). ``workers``: as asked for,
    else ``asked_workers()``, else the idle cores, at most ``MAX_WORKERS``."""
    if workers is None:
        workers = asked_workers()
    if workers is None:
        workers = min(MAX_WORKERS, idle_cores())
    count = min(workers, items // MIN_ITEMS_PER_WORKER)
    if count < 2 or not hasattr(os, "fork") or _threads_alive():
        return 1
    return count


def ordered_map(func: Callable[[T], R], items: Sequence[T], workers: int | None = None,
                first_of: Callable[[T], Hashable] | None = None,
                meanwhile: Callable[[], None] | None = None) -> Iterator[R]:
    """``func(item)`` for each of ``items``, in order, spread over processes (see the module).

    ``first_of``: what ``func`` works out once per kind of item and keeps (a platform's templates and
    rules): the first item of each kind is computed here before any fork, so that no process works it
    out again. The others are taken from a shared queue (``_Queue``) by whichever process is free, not
    dealt out beforehand: a site's costly devices (its spines, each 100 times a leaf's render) sort
    together, and a child's items cost more than this process's (copied pages, pickling), by an amount
    that varies with what ``func`` returns. ``meanwhile()``: work of this process's own that the
    children need not wait for, called once here after the first items and the forks (when nothing is
    forked: before the items this process computes), before any other item; what it raises is raised."""
    count = worker_count(len(items), workers)
    if count == 1:
        if meanwhile is not None:
            meanwhile()
        yield from map(func, items)
        return
    computed: dict[int, R] = {}  # index in items -> its result, wherever it was computed
    queue: _Queue | None = None
    waiting = meanwhile  # not called yet
    if _first_items(func, items, first_of, computed):
        try:
            queue = _Queue([index for index in range(len(items)) if index not in computed], count)
        except OSError:  # no pipe to be had (a ulimit): everything computed here, below
            queue = None
    if queue is not None:
        children: list[_Child] = []  # those not yet waited for
        try:
            for _ in range(count - 1):
                try:
                    children.append(_fork(func, items, queue, [child.read_end for child in children]))
                except OSError:  # no process or pipe to be had (a ulimit, memory): computed here
                    break
            if waiting is not None:
                call, waiting = waiting, None
                call()
            while (indices := queue.take()) is not None:
                for index in indices:
                    try:
                        computed[index] = func(items[index])
                    except Exception:  # noqa: BLE001 - raised below, in order, by computing it again
                        break  # what comes after it is not needed: the children are killed (finally)
                else:
                    if _receive(children, computed, wait=False):
                        continue
                break
            else:
                _receive(children, computed, wait=True)
        finally:  # an error, an interrupt, or a child that stopped short: the others are killed
            queue.close()
            for child in children:
                os.close(child.read_end)
                _stop(child.pid)
    if waiting is not None:  # nothing forked (a first item failed, no pipe to be had)
        waiting()
    for index, item in enumerate(items):
        # one no process computed (it failed there, or came after a failure): computed here, which raises
        # the loop's exception at the first item in order that has one
        yield computed[index] if index in computed else func(item)


def _first_items(func: Callable[[T], R], items: Sequence[T], first_of: Callable[[T], Hashable] | None,
                 computed: dict[int, R]) -> bool:
    """Compute the first item of each kind into ``computed``; False when one raised (then nothing is forked)."""
    if first_of is None:
        return True
    seen: set[Hashable] = set()
    for index, item in enumerate(items):
        kind = first_of(item)
        if kind not in seen:
            seen.add(kind)
            try:
                computed[index] = func(item)
            except Exception:  # noqa: BLE001 - raised in order by the caller's pass
                return False
    return True


class _Queue:
    """The items still to compute, in runs of neighbours, each run's number in a pipe that every process
    reads 4 bytes at a time (a read of a pipe takes its bytes whole: each number goes to one process).
    Neighbours, because a process's first write to a page since the fork copies it (2.6 us): items
    computed by the same process touch the same pages of their models (built together), and a child
    computing every other item faulted twice as often. Each run is ``1 / (RUN_SHARE * processes)`` of
    the items left, so the first are long and the last single items: whichever process ends its run
    last is the one with the fewest left to wait for. (A few dozen runs, written whole before any
    fork: a pipe holds thousands.)"""

    def __init__(self, indices: list[int], processes: int) -> None:
        self.runs: list[list[int]] = []
        start = 0
        while start < len(indices):
            size = -(-(len(indices) - start) // (RUN_SHARE * processes))  # rounded up
            self.runs.append(indices[start:start + size])
            start += size
        self.read_end, write_end = os.pipe()
        try:
            os.write(write_end, b"".join(_ENTRY.pack(run) for run in range(len(self.runs))))
        finally:
            os.close(write_end)  # read to its end, the queue is empty

    def take(self) -> list[int] | None:
        """The next run of items to compute, None once there is none."""
        entry = os.read(self.read_end, _ENTRY.size)
        return self.runs[_ENTRY.unpack(entry)[0]] if entry else None

    def close(self) -> None:
        os.close(self.read_end)


class _Child:
    """A forked child, as the parent sees it: what it has sent so far, read from its pipe."""

    def __init__(self, pid: int, read_end: int) -> None:
        self.pid, self.read_end = pid, read_end
        self.received = bytearray()
        self.finished = False  # it found the queue empty: what it sent is all it took


_ENTRY = struct.Struct("<I")  # a run's number in the queue
_HEADER = struct.Struct("<II")  # a result's item index and its pickle's length; FINISHED, 0: the queue was empty
_FINISHED = 0xFFFF_FFFF


def _fork(func: Callable[[T], R], items: Sequence[T], queue: _Queue, inherited: list[int]) -> _Child:
    """A child computing items from ``queue``: its pid and the read end of the pipe its results come through."""
    read_end, write_end = os.pipe()
    _widen(write_end)
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # the child: never returns
        os.close(read_end)
        for other in inherited:  # the other children's pipes are the parent's to read
            os.close(other)
        _child(func, items, queue, write_end)
    os.close(write_end)
    return _Child(pid, read_end)


def _widen(pipe: int) -> None:
    """Let the pipe hold ``PIPE_BYTES`` (Linux; else, or past the user's limit, it keeps its 64 KiB):
    what a child sends while the parent computes an item waits there, not in the child."""
    import fcntl  # noqa: PLC0415 - Unix only, like os.fork; this runs only where fork does

    try:
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError):
        pass


def _child(func: Callable[[T], R], items: Sequence[T], queue: _Queue, write_end: int) -> None:
    """Compute items from ``queue`` until it is empty or one raises, sending each result as it is made
    (its pickle made while the parent computes, and read by the parent between its own items), then
    ``_FINISHED`` if the queue is empty; end the process without its exit handlers, buffered output or
    collector (all the parent's)."""
    code = 1
    try:
        gc.disable()  # a collection would write to every object's header: a copy of each page
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent answers Ctrl-C (and kills its children)
        os.set_blocking(write_end, False)  # a full pipe (the parent busy with a costly item) waits here
        unsent = bytearray()
        while (indices := queue.take()) is not None:
            for index in indices:
                try:
                    data = pickle.dumps(func(items[index]), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException:  # noqa: BLE001 - the parent computes this item again and raises it
                    break
                unsent += _HEADER.pack(index, len(data)) + data
                _send(write_end, unsent, wait=False)
            else:
                continue
            break
        else:
            unsent += _HEADER.pack(_FINISHED, 0)
        _send(write_end, unsent, wait=True)
        os.close(write_end)
        code = 0
    finally:
        os._exit(code)


def _send(pipe: int, unsent: bytearray, wait: bool) -> None:
    """Write ``unsent`` to the non-blocking ``pipe`` as far as it takes it (all of it if ``wait``), and
    take what was written off it."""
    while unsent:
        try:
            written = os.write(pipe, unsent)
        except BlockingIOError:
            if not wait:
                return
            select.select([], [pipe], [])
            continue
        del unsent[:written]


def _receive(children: list[_Child], computed: dict[int, Any], wait: bool) -> bool:
    """The results the children have sent, into ``computed``; with ``wait``, until each has ended (and is
    waited for and taken off ``children``). False as soon as one stopped short (an item raised there,
    it died, or a result did not pickle or unpickle): nothing after that item is needed, and a child
    still at work may never end (an item that hangs after the one that failed), so the caller kills
    those left; what is missing is computed in order."""
    while children:
        ready, _, _ = select.select([child.read_end for child in children], [], [], None if wait else 0)
        if not ready:
            return True
        for child in [child for child in children if child.read_end in ready]:
            data = os.read(child.read_end, PIPE_BYTES)
            if data:
                child.received += data
                if not _unpack(child, computed):
                    return False
                continue
            _reap(child, children)
            os.close(child.read_end)
            if not child.finished or child.received:
                return False
        if not wait:
            return True
    return True


def _unpack(child: _Child, computed: dict[int, Any]) -> bool:
    """The whole results in what ``child`` has sent, into ``computed`` and off ``child.received``; False
    if one does not unpickle."""
    received, start = child.received, 0
    while len(received) - start >= _HEADER.size:
        index, size = _HEADER.unpack_from(received, start)
        if index == _FINISHED:
            child.finished = True
            start += _HEADER.size
            continue
        end = start + _HEADER.size + size
        if len(received) < end:
            break
        try:
            computed[index] = pickle.loads(received[start + _HEADER.size:end])
        except Exception:  # noqa: BLE001 - its item is computed here
            return False
        start = end
    del received[:start]
    return True


def _reap(child: _Child, children: list[_Child]) -> None:
    """Wait for ``child`` (it has closed its pipe: it has ended, or is ending) and take it off ``children``,
    with Ctrl-C held back in between: an interrupt after the wait and before the removal would have the
    caller kill and wait for a pid already reaped (another process's, once the kernel gives it again)."""
    held = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    if held:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        os.waitpid(child.pid, 0)
        children.remove(child)
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _stop(pid: int) -> None:
    """Kill a child and wait for it (no zombie); one already waited for is left as it is."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
