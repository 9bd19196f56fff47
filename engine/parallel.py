"""Per-device work spread over the machine's idle cores: ``ordered_map(func, items)`` is
``map(func, items)``, with some of the items computed in forked children.

The children are forked once the caller has built everything ``func`` reads (the site, its models),
so nothing is sent to them; each sends its results back pickled through a pipe, and the caller gets
every result in the order of ``items``, equal to what the loop makes. It is the loop itself whenever
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
would never end in a child does not hang the run (one that never ends in this process's own share,
after a child's failure, would: ``render`` and ``_device_plan`` are computation, they end). A child
that dies or cannot send its results (killed, out of memory, a result that does not pickle) only
means its items are computed here. Children are always waited for: on an exception or an interrupt
here they are killed first, never left running or unreaped.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, TypeVar

from engine.errors import IntentError

T = TypeVar("T")
R = TypeVar("R")

WORKERS_ENV = "INTENT_WORKERS"
MIN_ITEMS_PER_WORKER = 100  # fewer per process, and the fork and the pickles cost about what they save
OWN_SHARE = 1.4  # items this process computes for every one a child does (measured: a child's cost 1.35 times more)
PIPE_BYTES = 1 << 20  # a child's pipe (Linux's default /proc/sys/fs/pipe-max-size)
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
                first_of: Callable[[T], Hashable] | None = None) -> Iterator[R]:
    """``func(item)`` for each of ``items``, in order, spread over processes (see the module).

    ``first_of``: what ``func`` works out once per kind of item and keeps (a platform's templates and
    rules): the first item of each kind is computed here before any fork, so that no process works it
    out again. The others are dealt out in turn (``_deal``), not in runs: a site's costly devices (its
    spines) sort together."""
    count = worker_count(len(items), workers)
    if count == 1:
        yield from map(func, items)
        return
    computed: dict[int, R] = {}  # index in items -> its result, wherever it was computed
    if _first_items(func, items, first_of, computed):
        shares = _deal([index for index in range(len(items)) if index not in computed], count)
        pending: list[tuple[int, int, list[int]]] = []  # the children not yet waited for: pid, read end, indices
        try:
            for share in shares[1:]:
                try:
                    pid, read_end = _fork(func, [items[index] for index in share], [other for _, other, _ in pending])
                except OSError:  # no process or pipe to be had (a ulimit, memory): computed here, below
                    continue
                pending.append((pid, read_end, share))
            for index in shares[0]:
                try:
                    computed[index] = func(items[index])
                except Exception:  # noqa: BLE001 - raised below, in order, by computing it again
                    break  # what comes after it is not needed: the children are killed (finally)
            else:
                _gather(pending, computed)
        finally:  # an error, an interrupt, or a child that stopped short: the others are killed
            for pid, read_end, _ in pending:
                os.close(read_end)
                _stop(pid)
    for index, item in enumerate(items):
        # one no process computed (it failed there, or came after a failure): computed here, which raises
        # the loop's exception at the first item in order that has one
        yield computed[index] if index in computed else func(item)


def _deal(indices: list[int], count: int) -> list[list[int]]:
    """``indices`` dealt out in turn to ``count`` processes, this one (the first) taking ``OWN_SHARE``
    items for each of a child's: a child's items cost more (its pages are copied as it writes them, and
    it pickles its results), and this one unpickles them after its own."""
    shares: list[list[int]] = [[] for _ in range(count)]
    weights = [OWN_SHARE] + [1.0] * (count - 1)
    for index in indices:
        shares[min(range(count), key=lambda k: (len(shares[k]) + 1) / weights[k])].append(index)
    return shares


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


def _fork(func: Callable[[T], R], items: Sequence[T], inherited: list[int]) -> tuple[int, int]:
    """A child computing ``items``: its pid and the read end of the pipe its results come through."""
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
        _child(func, items, write_end)
    os.close(write_end)
    return pid, read_end


def _widen(pipe: int) -> None:
    """Let the pipe hold ``PIPE_BYTES`` (Linux; else, or past the user's limit, it keeps its 64 KiB): the
    child's results (1-3 MB at 1,000 devices) then come through in a few reads, not one per 64 KiB, each
    of which waits for the child to wake up and write the next."""
    import fcntl  # noqa: PLC0415 - Unix only, like os.fork; this runs only where fork does

    try:
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError):
        pass


def _child(func: Callable[[T], R], items: Sequence[T], write_end: int) -> None:
    """Compute ``items`` in order until one raises, send what was computed, and end the process
    without its exit handlers, buffered output or collector (all the parent's)."""
    code = 1
    try:
        gc.disable()  # a collection would write to every object's header: a copy of each page
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent answers Ctrl-C (and kills its children)
        done: list[R] = []
        for item in items:
            try:
                done.append(func(item))
            except BaseException:  # noqa: BLE001 - the parent computes this item again and raises it
                break
        data = pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)


def _gather(pending: list[tuple[int, int, list[int]]], computed: dict[int, R]) -> None:
    """Read the children's results as each sends them into ``computed``, each child waited for and
    taken off ``pending``. Returns early when one stopped short (an item raised there, or it died):
    nothing after that item is needed, and a child still at work may never end (an item that hangs
    after the one that failed), so the caller kills those left; what is missing is computed in order."""
    received: dict[int, list[bytes]] = {read_end: [] for _, read_end, _ in pending}
    while pending:
        ready, _, _ = select.select([read_end for _, read_end, _ in pending], [], [])
        for child in [child for child in pending if child[1] in ready]:
            pid, read_end, share = child
            data = os.read(read_end, 1 << 20)
            if data:
                received[read_end].append(data)
                continue
            done = _results(pid, b"".join(received.pop(read_end)))  # waited for: off the list, its pipe closed
            pending.remove(child)
            os.close(read_end)
            computed.update(zip(share, done, strict=False))
            if len(done) < len(share):
                return


def _results(pid: int, data: bytes) -> list[Any]:
    """What a child sent, once it has ended (waited for): its results in order, [] if it died or sent
    nothing readable. Read before the wait: the child has closed its pipe and is ending, and the kernel
    takes a few milliseconds to unmap its copy of this process, done meanwhile on its own core."""
    try:
        done: list[Any] = pickle.loads(data)
    except Exception:  # noqa: BLE001 - cut short: its items are computed here
        done = []
    _, status = os.waitpid(pid, 0)
    return done if status == 0 else []


def _stop(pid: int) -> None:
    """Kill a child and wait for it (no zombie)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
