"""The ``intent`` command line. Renders what the engine returns; the engine itself never prints.

Exit codes (CONTRACT §4): 0 success (with --detailed-exitcode: success and no changes),
1 error (invalid input, refused plan), 2 changes pending (only with --detailed-exitcode).
No Python traceback reaches the user: set INTENT_DEBUG=1 to see one for an internal error.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click

from engine import __version__
from engine.errors import AdmissionError, IntentError, ValidationError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text as RichText

    from engine.archive import Archive
    from engine.compilation import Compilation
    from engine.console import DeviceProgress
    from engine.driver import Connection
    from engine.model import Site
    from engine.transaction import RunResult
    from engine.verify import VerifyReport
    from engine.yamlsrc import LaterLoad

F = TypeVar("F", bound=Callable[..., Any])
EPILOG = "Docs: README.md. Exit codes: 0 ok, 1 error, 2 changes pending (--detailed-exitcode)."


# rich is imported when something is shown through it, not on every run: `plan --format json`
# writes with click alone (rich.console is 35 ms of start-up).
def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def Text(text: str, style: str = "") -> RichText:  # noqa: N802 - stands for rich's Text, imported on use
    from rich.text import Text as RichText

    return RichText(text, style=style)


def _error_lines(exc: IntentError) -> list[str]:
    """The messages of an error, secrets in device syntax masked (errors can quote configuration)."""
    from engine.secrets import mask

    if isinstance(exc, ValidationError):
        lines = exc.lines()
    elif isinstance(exc, AdmissionError):
        lines = exc.messages
    else:
        lines = [str(exc)]
    return [mask(line) for line in lines]


def _fail(lines: list[str]) -> NoReturn:
    from engine.secrets import mask

    console = _stderr()
    for line in (mask(line) for line in lines):  # no error ever prints a secret in device syntax
        console.print(Text(f"error: {line}" if not _has_location(line) else line, style="red"))
    sys.exit(1)


def _has_location(line: str) -> bool:
    head = line.split(": ", 1)[0]
    return head.count(":") >= 2 and head.rsplit(":", 2)[-1].isdigit()


def _without_collector(func: F) -> F:
    """Run a command with Python's cyclic collector off (as it was, after). An offline plan is one short
    pass over data without reference cycles: every collection between and after its stages walks all
    of the site, compilation and plan again to free nothing (0.7 CPU s of 5 at 1,000 devices). In the
    program (``run``) what the command built is frozen first: the process ends next, and the collector
    back on would otherwise walk all of it once more."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        collecting = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if collecting:
                if _program:
                    gc.freeze()
                gc.enable()
            else:
                gc.disable()

    return cast(F, wrapper)


_program = False  # set by run(): this process is the ``intent`` program, and ends when the command does
_kept: list[object] = []


def _outlive(*built: object) -> None:
    """Keep what a command built (site, compilation, plan) to the end of the program, which ``run``
    ends without freeing it object by object: at 1,000 devices that is 0.4 CPU s of a 2.4 s plan."""
    if _program:
        _kept.extend(built)


def _prefetch(site: Path) -> LaterLoad | None:
    """The site file's parse started in a forked child (``yamlsrc.prefetch``, for a large file where a core
    is idle) while this process imports the loader and what planning needs (50-80 ms); None once those
    are imported (a second site of ``validate``): the load would wait for the child at once."""
    if "engine.loader" in sys.modules:
        return None
    from engine.yamlsrc import prefetch

    return prefetch(site)


def _close(early: LaterLoad | None) -> None:
    """A prefetched load's child waited for or killed: taken by ``load_site``, or never asked for (it failed first)."""
    if early is not None:
        early.close()


def _debug_traceback() -> None:
    """With INTENT_DEBUG set, the traceback of the exception being handled (traceback is imported then only)."""
    if os.environ.get("INTENT_DEBUG"):
        import traceback

        traceback.print_exc()


def _guard(func: F) -> F:
    """Turn engine errors into messages and exit 1; never show a traceback for bad input."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except IntentError as exc:
            _fail(_error_lines(exc))
        except KeyboardInterrupt:
            _fail(["interrupted"])
        except OSError as exc:  # the machine refused a file (a state directory on /dev/null, a full disk)
            _debug_traceback()
            _fail([f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else f"system error: {exc}"])
        except Exception as exc:  # noqa: BLE001 - last line of defence for the user
            _debug_traceback()
            _fail([f"internal error: {type(exc).__name__}: {exc} (please report it; INTENT_DEBUG=1 shows details)"])

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return cast(F, wrapper)


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="intent")
@click.option("--max-yaml-bytes", type=click.IntRange(min=1), metavar="BYTES",
              help="Largest YAML file read [default: 32 MiB; env INTENT_MAX_YAML_BYTES].")
@click.option("--max-yaml-depth", type=click.IntRange(min=1), metavar="LEVELS",
              help="Deepest nesting of YAML mappings/lists [default: 100; env INTENT_MAX_YAML_DEPTH].")
@click.option("--max-yaml-alias-nodes", type=click.IntRange(min=1), metavar="NODES",
              help="Nodes YAML aliases and merge keys may add [default: 100000; env INTENT_MAX_YAML_ALIAS_NODES].")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Processes that render and plan a site of 200+ devices [default: one per idle core, at most 8; "
                   "env INTENT_WORKERS; 1: this process only].")
def main(max_yaml_bytes: int | None, max_yaml_depth: int | None, max_yaml_alias_nodes: int | None,
         workers: int | None) -> None:
    """Declarative network intents: validate, plan and apply them across Linux and vendor devices.

    \b
    Write a site file (intents, an Ansible YAML inventory, a topology), then:
      intent validate site.yaml                     check everything, every error with FILE:LINE:COL
      intent plan site.yaml --running saved/        what would change on every device, offline
      intent plan site.yaml --running saved/ --format markdown > comment.md
    """
    _yaml_limits(max_yaml_bytes, max_yaml_depth, max_yaml_alias_nodes)
    from engine import parallel

    try:
        parallel.set_workers(workers)
        parallel.asked_workers()  # a bad INTENT_WORKERS is said now, not in the middle of a compile
    except IntentError as exc:
        _fail([str(exc)])


def _yaml_limits(max_bytes: int | None, max_depth: int | None, max_alias_nodes: int | None) -> None:
    """The YAML parser limits of this run: options over INTENT_MAX_YAML_* over the defaults."""
    from dataclasses import replace

    from engine.yamlsrc import Limits, set_limits

    try:
        limits = Limits.from_env()
    except IntentError as exc:
        _fail([str(exc)])
    given = {name: value for name, value in (("max_bytes", max_bytes), ("max_depth", max_depth),
                                             ("max_alias_nodes", max_alias_nodes)) if value is not None}
    set_limits(replace(limits, **given) if given else None)


SITE = click.argument("site", type=click.Path(dir_okay=False, path_type=Path))
STATE_DIR = click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), envvar="INTENT_STATE_DIR",
                         help="Where snapshots and apply records live [default: .intent/ next to the site; "
                              "env INTENT_STATE_DIR].")


KNOWN_HOSTS = click.option("--known-hosts", type=click.Path(dir_okay=False), envvar="INTENT_KNOWN_HOSTS",
                           help="SSH known_hosts file [default: ~/.ssh/known_hosts; env INTENT_KNOWN_HOSTS].")
ACCEPT_NEW = click.option("--accept-new-host-keys", is_flag=True,
                          help="Accept and record SSH host keys never seen before (changed keys are always refused).")


def _connection(known_hosts: str | None, accept_new_host_keys: bool, connect_timeout: float = 10.0) -> Connection:
    """The composition root of a run: the installed drivers (entry points) and how to reach devices."""
    import getpass

    from engine.driver import Connection, DriverRegistry

    # secrets the environment lacks are asked for on a terminal, never taken from argv
    return Connection(known_hosts, accept_new_host_keys, DriverRegistry.installed(), connect_timeout,
                      prompt=getpass.getpass if sys.stdin.isatty() else None)


CONNECT_TIMEOUT = click.option("--connect-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
                               metavar="SECONDS", help="Give up on a device that has not connected, shown its SSH "
                                                       "banner and authenticated within SECONDS.")


DEVICE_TIMEOUT = click.option("--device-timeout", type=click.FloatRange(min=1), default=120, show_default=True,
                              metavar="SECONDS", help="Budget of each device per phase (read, change with verify, "
                                                      "restore); a device over it fails and the others roll back.")


def _recovery_first(state: Any, site: Path) -> None:
    """After an interrupted apply, every command on the site says so first (stderr)."""
    try:
        pending = state.interrupted()
    except IntentError:
        return
    if not pending:
        return  # engine.transaction (and what it imports) only to word a notice
    from engine.transaction import recovery_notice

    console = _stderr()
    for line in recovery_notice(pending, str(site)):
        console.print(Text(f"warning: {line}", style="bold red"))


PLAINTEXT = click.option("--allow-plaintext-secrets", is_flag=True,
                         help="Accept plain passwords in the inventory (they are still masked in all output).")


@main.command(epilog=EPILOG)
@click.argument("sites", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@PLAINTEXT
def validate(sites: tuple[Path, ...], allow_plaintext_secrets: bool) -> None:
    """Check each SITE: JSON Schema, references, addressing, paths and admission control.

    Every problem in every file is reported in one run as FILE:LINE:COL: message; exit 1 if any.
    Works as a pre-commit hook (see .pre-commit-hooks.yaml).
    """
    failed = False
    for site in sites:
        try:
            _validate_one(site, allow_plaintext_secrets)
        except SystemExit as exit_:
            failed = failed or exit_.code != 0
    sys.exit(1 if failed else 0)


@_guard
@_without_collector
def _validate_one(site: Path, allow_plaintext_secrets: bool) -> None:
    early = _prefetch(site)
    from engine.compiler import compile_site
    from engine.loader import load_site

    try:
        loaded = load_site(site, allow_plaintext_secrets=allow_plaintext_secrets, keep=_kept if _program else None)
    finally:
        _close(early)
    compilation = compile_site(loaded)
    _outlive(loaded, compilation)
    _stdout().print(f"{site}: valid ({len(loaded.intents)} intents, {len(loaded.devices)} devices, "
                    f"{len(loaded.links)} links, {len(compilation.reservations)} reserved interfaces)")


@main.command(epilog=EPILOG)
@SITE
@click.option("--running", "running_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Plan against saved running state: DIR/<device>.cfg (CLI platforms) or DIR/<device>.json (Linux). "
                   "A device without a file is planned as fresh.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="text for terminals, json for pipelines, markdown for PR comments.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the plan as JSON to this file.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none.")
@click.option("--parallel", type=click.IntRange(1, 256), default=32, show_default=True,
              help="Devices read at once (live reads only): an unreachable fleet fails together, not one by one.")
@CONNECT_TIMEOUT
@STATE_DIR
@KNOWN_HOSTS
@ACCEPT_NEW
@PLAINTEXT
@_guard
@_without_collector
def plan(site: Path, running_dir: Path | None, output_format: str, out_file: Path | None, detailed_exitcode: bool,
         parallel: int, connect_timeout: float, state_dir: Path | None, known_hosts: str | None,
         accept_new_host_keys: bool, allow_plaintext_secrets: bool) -> None:
    """Show what applying SITE would change on every device: read live, or from --running DIR.

    The diff of each device touches only what intent owns; the rest of its configuration is
    left out and never changed. Output is deterministic: same input, same bytes.
    """
    early = _prefetch(site)
    from engine.loader import load_site
    from engine.plan import RunningState, compile_and_plan
    from engine.report import plan_markdown, plan_text
    from engine.state import StateDir

    try:
        try:
            loaded = load_site(site, allow_plaintext_secrets=allow_plaintext_secrets, keep=_kept if _program else None)
        finally:
            _close(early)
        if running_dir is not None and not running_dir.is_dir():
            raise IntentError(f"--running {running_dir}: no such directory")
        if running_dir is not None:  # each device compiled and planned in one step, the warning after compiling
            compilation, result = compile_and_plan(
                loaded, RunningState(running_dir), compiled=lambda: _recovery_first(StateDir.for_site(loaded, state_dir),
                                                                                   site))
        else:
            from engine.compiler import compile_site
            from engine.transaction import live_plan

            compilation = compile_site(loaded)
            _recovery_first(StateDir.for_site(loaded, state_dir), site)
            gc.enable()  # drivers' connections do make reference cycles
            with _reading(compilation) as progress:
                result = live_plan(loaded, compilation, StateDir.for_site(loaded, state_dir), parallel,
                                   connection=_connection(known_hosts, accept_new_host_keys, connect_timeout),
                                   progress=progress)
    except IntentError as exc:
        if output_format == "json":
            payload: dict[str, object] = {"site": None, "changes": False, "devices": {}, "reservations": [],
                                          "errors": _error_lines(exc)}
            click.echo(json.dumps(payload, indent=2))
            sys.exit(1)
        raise
    form = result.json_form() if out_file or output_format == "json" else None  # floats looked for once
    written: Callable[[], None] | None = None
    if out_file:
        from engine.plan import PLAN_KEY_ENV, plan_file_writer

        # written in a thread while the output below is made, and waited for before it is shown: a plan
        # file that cannot be written fails the command before anything is printed
        written = plan_file_writer(out_file, result.plan_file_parts(str(site.resolve()), compilation.configs, loaded,
                                                                    os.environ.get(PLAN_KEY_ENV) or None, form))
    try:
        if output_format == "json":
            data = result.to_json_bytes(form)
        elif output_format == "markdown":
            from engine.graph import plan_mermaid

            text = plan_markdown(result, plan_mermaid(loaded, result))
        else:
            text = plan_text(result)
    finally:
        if written is not None:
            written()
    if output_format == "json":
        # bytes go to the binary stream under sys.stdout; a text-only stream (redirect_stdout to a StringIO
        # in a program that embeds the CLI) has none, and click would raise writing bytes to it
        click.echo(data if hasattr(sys.stdout, "buffer") else data.decode(), nl=False)
    elif output_format == "markdown":
        click.echo(text, nl=False)
    else:
        _print_text(text)
    _outlive(loaded, compilation, result)
    if detailed_exitcode and result.changes:
        sys.exit(2)


def _print_text(text: str) -> None:
    if not sys.stdout.isatty():
        click.echo(text, nl=False)
        return
    console = _stdout()
    for line in text.splitlines():
        style = None
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        console.print(Text(line, style=style or ""))


def _load(site: Path, allow_plaintext_secrets: bool = False) -> tuple[Site, Compilation]:
    from engine.compiler import compile_site
    from engine.loader import load_site

    loaded = load_site(site, allow_plaintext_secrets=allow_plaintext_secrets)
    return loaded, compile_site(loaded)


def _report(run: RunResult, title: str) -> None:
    """Per-device outcome table on stderr-free stdout; exit code decided by the caller."""
    console = _stdout()
    for name, result in sorted(run.results.items()):
        if result.failed:
            state, style = "FAILED", "red"
        elif result.rolled_back:
            state, style = "rolled back", "yellow"
        elif result.changed:
            state, style = "changed", "green"
        else:
            state, style = "unchanged" if not result.error else "skipped", ""
        detail = f" ({result.changes} netlink changes)" if result.changes else ""
        console.print(Text(f"  {name}: {state}{detail}", style=style))
        if result.error:
            console.print(Text(f"      {result.error}", style=style))
    console.print(f"{title} {run.apply_id}: " + ("FAILED" if run.failed else "ok"))


def _reading(compilation: Compilation) -> DeviceProgress:
    """Progress of reading every device for a live plan: a bar per device on a terminal, else lines."""
    from engine.console import DeviceProgress

    return DeviceProgress("read", sorted(compilation.configs), ("reading", "read"))


@main.command(epilog=EPILOG)
@click.argument("site", type=click.Path(dir_okay=False, path_type=Path), metavar="SITE|PLAN")
@click.option("--yes", is_flag=True, help="Do not ask before changing devices (for pipelines).")
@click.option("--confirm-timeout", type=click.IntRange(min=1), metavar="SECONDS",
              help="Arm a revert on every device: unless `intent confirm SITE` comes within SECONDS, the devices "
                   "return to their snapshots by themselves.")
@click.option("--parallel", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Devices changed at once (the reads before, which change nothing, run 32 at once).")
@click.option("--dry-run", is_flag=True, help="Load the change on every device, show each device's own diff, then "
                                               "discard it: nothing changes.")
@click.option("--safety-timeout", type=click.IntRange(min=0), default=300, show_default=True, metavar="SECONDS",
              help="A detached safety reverter restores every device if this process dies before the apply "
                   "ends, or if the apply still runs after SECONDS (0: none).")
@DEVICE_TIMEOUT
@CONNECT_TIMEOUT
@STATE_DIR
@KNOWN_HOSTS
@ACCEPT_NEW
@PLAINTEXT
@_guard
def apply(site: Path, yes: bool, confirm_timeout: int | None, parallel: int, dry_run: bool, safety_timeout: int,
          connect_timeout: float, device_timeout: float, state_dir: Path | None, known_hosts: str | None, accept_new_host_keys: bool,
          allow_plaintext_secrets: bool) -> None:
    """Apply SITE (or a plan file from `intent plan --out`) to its devices as one transaction.

    \b
    A plan file is applied exactly as planned, and refused if any device changed since.
    Reads every device, shows the plan, asks (unless --yes), then in parallel: snapshot each
    changed device, apply only the difference, read back and verify. If any device fails, every
    device already changed is restored to its snapshot and the run exits 1.
    """
    from engine.report import plan_text
    from engine.state import StateDir
    from engine.transaction import READ_PARALLEL, Deadlines, live_plan
    from engine.transaction import apply as run_apply

    if safety_timeout and safety_timeout <= device_timeout:
        raise IntentError(f"--safety-timeout {safety_timeout} must be longer than --device-timeout {device_timeout:g} "
                          "(or 0 for no safety reverter)")
    connection = _connection(known_hosts, accept_new_host_keys, connect_timeout)
    reads = max(parallel, READ_PARALLEL)
    if site.suffix == ".json":  # a plan file from `intent plan --out`: apply exactly that
        from engine.transaction import load_plan_file

        loaded, compilation, result, state = load_plan_file(site, state_dir, connection, allow_plaintext_secrets,
                                                            reads, device_timeout)
    else:
        loaded, compilation = _load(site, allow_plaintext_secrets)
        state = StateDir.for_site(loaded, state_dir)
        _recovery_first(state, site)
        if not dry_run and state.interrupted():
            raise IntentError("refusing to apply on top of it (the interrupted apply above): nothing was read or "
                              "changed")
        with _reading(compilation) as progress:
            result = live_plan(loaded, compilation, state, reads, connection, progress, device_timeout)
    _print_text(plan_text(result))
    if not result.changes:
        _stdout().print("Nothing to apply.")
        return
    if not yes and not dry_run:
        if not sys.stdin.isatty():
            raise IntentError("refusing to change devices without confirmation: pass --yes (no terminal to ask on)")
        if not click.confirm("Apply these changes?", default=False):
            _stderr().print("Cancelled; nothing changed.")
            sys.exit(1)
    from engine.console import DeviceProgress

    changed = [name for name, d in sorted(result.devices.items()) if d.changed]
    with DeviceProgress("dry run" if dry_run else "apply", changed, ("snapshot", "apply", "verified")) as update:
        run = run_apply(loaded, compilation, result, state, parallel=parallel, confirm_timeout=confirm_timeout,
                        progress=update, connection=connection, dry_run=dry_run,
                        deadlines=Deadlines(device_timeout, safety_timeout))
    if dry_run:
        for name, device_result in sorted(run.results.items()):
            if device_result.diff:
                _print_text(f"--- {name}: the device's own diff (discarded)\n{device_result.diff}")
        _report(run, "dry run")
        sys.exit(1 if run.failed else 0)
    _report(run, "apply")
    if run.interrupted:
        _stderr().print(Text("error: interrupted: every device that had changed was restored", style="red"))
    if run.journal_error:
        _stderr().print(Text(f"error: {run.journal_error}", style="red"))
    if confirm_timeout and not run.failed and not run.interrupted:
        _stdout().print(f"Armed: the devices revert in {confirm_timeout}s unless you run: intent confirm {site}")
    sys.exit(1 if run.failed or run.interrupted else 0)


@main.command(epilog=EPILOG)
@SITE
@STATE_DIR
@KNOWN_HOSTS
@_guard
def confirm(site: Path, state_dir: Path | None, known_hosts: str | None) -> None:
    """Confirm the pending armed apply (the last one made with --confirm-timeout, whatever came after it)."""
    from engine.loader import load_site
    from engine.state import StateDir
    from engine.transaction import confirm as run_confirm

    loaded = load_site(site)
    run = run_confirm(loaded, StateDir.for_site(loaded, state_dir), _connection(known_hosts, False))
    _report(run, "confirm")
    sys.exit(1 if run.failed else 0)


@main.command(epilog=EPILOG)
@SITE
@click.option("--to", "apply_id", metavar="APPLY|SNAPSHOT",
              help="Restore the state from before this apply, or this snapshot (ids from intent history).")
@click.option("--parallel", type=click.IntRange(1, 64), default=4, show_default=True)
@DEVICE_TIMEOUT
@STATE_DIR
@KNOWN_HOSTS
@_guard
def rollback(site: Path, apply_id: str | None, parallel: int, device_timeout: float, state_dir: Path | None,
             known_hosts: str | None) -> None:
    """Restore the devices to the snapshot taken before the last apply (or --to another one).

    After an interrupted apply (its process died), restores every device of that apply to its
    pre-apply snapshot and clears its stale lock. Every restored device is read back and must
    hash to the snapshot, bit for bit.
    """
    from engine.loader import load_site
    from engine.state import StateDir
    from engine.transaction import rollback as run_rollback

    loaded = load_site(site)
    state = StateDir.for_site(loaded, state_dir)
    from engine.console import DeviceProgress

    with DeviceProgress("rollback", [], ("rollback", "restored")) as update:
        run = run_rollback(loaded, state, apply_id, parallel, update, _connection(known_hosts, False),
                           device_timeout)
    _report(run, "rollback to")
    sys.exit(1 if run.failed else 0)


@main.command(epilog=EPILOG)
@SITE
@STATE_DIR
@_guard
def history(site: Path, state_dir: Path | None) -> None:
    """Past applies, rollbacks and confirms of SITE, oldest first."""
    from engine.loader import load_site
    from engine.state import StateDir

    loaded = load_site(site)
    state = StateDir.for_site(loaded, state_dir)
    _recovery_first(state, site)
    records = state.records()
    if not records:
        _stdout().print(f"No history in {state.root}.")
        return
    rows = []
    for r in records:
        snapshots = r.get("snapshots") or {}
        shown = "; ".join(f"{device} " + " ".join(f"{when} {ids[when][:12]}" for when in ("before", "after", "restored")
                                                  if when in ids) for device, ids in sorted(snapshots.items()))
        rows.append([r.get("time", ""), r.get("action", ""), r.get("id", ""), r.get("user", ""),
                     (r.get("plan_hash") or "")[:12], r.get("shown_outcome") or r.get("outcome", ""),
                     ", ".join(r.get("devices", [])) + (f" (to {r['to']})" if r.get("to") else ""), shown])
    from engine.report import _table

    click.echo("\n".join(_table(["TIME", "ACTION", "ID", "USER", "PLAN", "OUTCOME", "DEVICES", "SNAPSHOTS"], rows,
                                 indent="")))


def _archive(site: Path | None, state_dir: Path | None) -> Archive:
    from engine.archive import Archive

    if state_dir is not None:
        return Archive(Path(state_dir) / "archive")
    if site is not None:
        from engine.loader import load_site
        from engine.state import StateDir

        return StateDir.for_site(load_site(site)).archive
    return Archive(Path(".intent") / "archive")


ARCHIVE_SITE = click.option("--site", "site", type=click.Path(dir_okay=False, path_type=Path),
                            help="Find the archive of this site's state directory [default: ./.intent].")


@main.command(epilog=EPILOG)
@click.argument("snapshot")
@ARCHIVE_SITE
@STATE_DIR
@_guard
def show(snapshot: str, site: Path | None, state_dir: Path | None) -> None:
    """Print a device's stored configuration (a snapshot id, or 6+ digits of it, from intent history).

    Checked bit for bit against its id; secrets are masked.
    """
    from engine.secrets import mask

    click.echo(mask(_archive(site, state_dir).get(snapshot)), nl=False)


@main.group(epilog=EPILOG)
def archive() -> None:
    """The content-addressed snapshot archive: every device state before and after each apply."""


@archive.command("stats", epilog=EPILOG)
@ARCHIVE_SITE
@STATE_DIR
@_guard
def archive_stats(site: Path | None, state_dir: Path | None) -> None:
    """Logical size, stored size and deduplication ratio."""
    stats = _archive(site, state_dir).stats()
    _stdout().print(f"{stats.snapshots} snapshots, {stats.chunks} chunks: logical {stats.logical_bytes} bytes, "
                    f"stored {stats.stored_bytes} bytes, dedup ratio {stats.dedup_ratio:.1f}x")


@archive.command("verify", epilog=EPILOG)
@ARCHIVE_SITE
@STATE_DIR
@_guard
def archive_verify(site: Path | None, state_dir: Path | None) -> None:
    """Re-hash every chunk and check every snapshot; exit 1 and list what is corrupt or missing."""
    store = _archive(site, state_dir)
    problems = store.verify()
    stats = store.stats()
    if problems:
        _fail(problems + [f"{len(problems)} problem(s) in {store.root}"])
    _stdout().print(f"{store.root}: {stats.chunks} chunks and {stats.snapshots} snapshots verified, no corruption")


@main.command(epilog=EPILOG)
@SITE
@click.option("--force", is_flag=True, help="Remove the lock even if its process still seems to run.")
@STATE_DIR
@_guard
def unlock(site: Path, force: bool, state_dir: Path | None) -> None:
    """Remove a stale lock left by an apply whose process is gone."""
    from engine.loader import load_site
    from engine.state import StateDir

    holder = StateDir.for_site(load_site(site), state_dir).unlock(force)
    _stdout().print("not locked" if holder is None else
                    f"removed the lock of {holder.get('user')} ({holder.get('action')}, pid {holder.get('pid')}) "
                    f"since {holder.get('since')}")


@main.group(epilog=EPILOG)
def lab() -> None:
    """Build or remove a site's Linux devices as network namespaces (root)."""


@lab.command("up", epilog=EPILOG)
@SITE
@_guard
def lab_up(site: Path) -> None:
    """Create one namespace per Linux device, cable them per the topology, add a host per access port.

    Idempotent: what exists is kept. Bridges, addresses, routes and tc are configuration: intent apply.
    """
    from engine.driver import DriverRegistry
    from engine.labspec import lab_builder, lab_spec

    loaded, compilation = _load(site)
    spec = lab_spec(loaded, compilation.vlans_per_link)
    created = lab_builder(loaded, DriverRegistry.installed()).up(spec, lambda line: _stderr().print(f"  {line}"))
    for line in spec.skipped:
        _stdout().print(f"  skipped {line}")
    _stdout().print(f"lab {loaded.name}: " + (f"created {len(created)} objects" if created else "already up") +
                    f"; {len(spec.namespaces)} devices, {len(spec.hosts)} hosts")
    for host in spec.hosts:
        _stdout().print(f"  host {host.netns}: {host.address} via {host.gateway} (VLAN {host.vlan})")


@lab.command("down", epilog=EPILOG)
@SITE
@STATE_DIR
@_guard
def lab_down(site: Path, state_dir: Path | None) -> None:
    """Remove every namespace of the lab, the processes in them and their cables, and the state the
    engine kept for those devices (ownership, pending commit-confirm): a rebuilt lab starts clean."""
    from engine.driver import DriverRegistry
    from engine.labspec import lab_builder, lab_spec
    from engine.loader import load_site
    from engine.state import StateDir

    loaded = load_site(site)
    spec = lab_spec(loaded)
    removed = lab_builder(loaded, DriverRegistry.installed()).down(spec, lambda line: _stderr().print(f"  {line}"))
    lab_devices = sorted(name for name, device in loaded.devices.items() if device.netns in spec.namespaces)
    forgotten = StateDir.for_site(loaded, state_dir).forget_devices(lab_devices)
    _stdout().print(f"lab {loaded.name}: removed {len(removed)} namespaces" +
                    (f"; cleared the state of {', '.join(forgotten)}" if forgotten else ""))


@main.command(epilog=EPILOG)
@SITE
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--seconds", type=click.IntRange(2, 120), default=5, show_default=True,
              help="How long each direction is measured.")
@click.option("--tolerance", type=click.IntRange(0, 50), default=10, show_default=True, metavar="PERCENT",
              help="How far below a guarantee (or above a cap) a measurement may be and still pass.")
@STATE_DIR
@KNOWN_HOSTS
@_guard
def verify(site: Path, output_format: str, seconds: int, tolerance: int, state_dir: Path | None,
           known_hosts: str | None) -> None:
    """Prove each intent holds on the lab, measured with real traffic; report drift. Exit 1 if not.

    \b
    qos_guarantee: in each direction the guaranteed flow runs while bulk flows that share its
      links (but not its class) try to crowd it out; it must get the rate, less the tolerance.
    qos_limit: traffic into and out of the VLAN must stay at the cap, plus the tolerance.
    vlan: every lab host of the VLAN reaches its gateway.
    isolate: ICMP and a TCP connect must fail both ways; each allowed exception must pass.
    qos_share: two listed VLANs saturate a shared egress; the rates must stand as the weights.
    Also: the running state must still equal the desired state (drift is shown as a diff), and
    the tc class counters on the path (bytes, drops, overlimits) are reported. Needs root.
    """
    from engine.console import DeviceProgress
    from engine.state import StateDir
    from engine.verify import verify_site

    loaded, compilation = _load(site)
    state = StateDir.for_site(loaded, state_dir)
    _recovery_first(state, site)
    report = verify_site(loaded, compilation, state, _connection(known_hosts, False), seconds=seconds,
                         tolerance=tolerance / 100, phases=DeviceProgress)
    if output_format == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_text(_verify_text(report, seconds, tolerance))
    sys.exit(0 if report.ok else 1)


def _verify_text(report: VerifyReport, seconds: int, tolerance: int) -> str:
    from engine.report import _table
    from engine.units import format_bps

    results, rows, drift = report.intents, report.counters, report.drift
    out = [f"Verify site {report.site}: {seconds}s per direction, tolerance {tolerance}%", ""]
    out += _table(["INTENT", "KIND", "OK", "EXPECTED", "MEASURED", "DETAIL"], [
        [r.name, r.kind, "ok" if r.ok else "FAIL", format_bps(r.expected_bps) if r.expected_bps else "-",
         format_bps(r.measured_bps) if r.measured_bps is not None else "-", r.detail] for r in results])
    if rows:
        out += ["", "Class counters on the path during the measurements"]
        out += _table(["DEVICE", "INTERFACE", "CLASS", "INTENT", "BYTES", "PACKETS", "DROPS", "OVERLIMITS"],
                      [[str(r["device"]), str(r["interface"]), str(r["class"]), str(r["intent"]), str(r["bytes"]),
                        str(r["packets"]), str(r["drops"]), str(r["overlimits"])] for r in rows if r["packets"]])
    out += ["", "Drift: none, every device matches its intents" if not drift else
            f"Drift on {', '.join(drift)}: the devices no longer match their intents"]
    out += [diff.rstrip("\n") for diff in drift.values()]
    out += [f"note: {note}" for note in report.notes]
    held = sum(r.ok for r in results)
    out += ["", f"{'OK' if report.ok else 'FAILED'}: {held} of {len(results)} intents hold" +
            ("" if not drift else f"; drift on {len(drift)} device(s)")]
    return "\n".join(out) + "\n"


@main.command(epilog=EPILOG)
@SITE
@click.option("--format", "output_format", type=click.Choice(["svg", "png", "dot", "mermaid"]), default="svg",
              show_default=True, help="svg/png laid out by Graphviz, dot its source, mermaid for Markdown.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the picture here [default: standard output].")
@click.option("--intent", "intent_name", metavar="NAME",
              help="Highlight this intent's paths (every equal-cost path, both directions) and its gateways.")
@PLAINTEXT
@_guard
def graph(site: Path, output_format: str, out_file: Path | None, intent_name: str | None,
          allow_plaintext_secrets: bool) -> None:
    """Draw SITE's topology: devices by role, each link's bandwidth and, per direction, what is reserved
    and by which intents; green up to 70% of the reservable bandwidth, amber above, red when refused.

    Same site, same bytes (svg, dot, mermaid). A refused site still draws, then exits 1.
    """
    from engine import graph as pictures
    from engine.loader import load_site

    view = pictures.site_view(load_site(site, allow_plaintext_secrets=allow_plaintext_secrets), intent_name)
    if output_format in ("svg", "png"):
        data = pictures.render(view, output_format)
    else:
        data = (pictures.dot(view) if output_format == "dot" else pictures.mermaid(view)).encode()
    if out_file is not None:
        try:
            out_file.write_bytes(data)
        except OSError as exc:
            raise IntentError(f"--out {out_file}: {exc.strerror or exc}") from None
    elif output_format == "png" and sys.stdout.isatty():
        raise IntentError("a PNG is not for a terminal: pass --out FILE or redirect the output")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    if view.refusals:
        _fail(list(view.refusals))


@main.command(epilog=EPILOG)
@SITE
@click.option("--listen", default="127.0.0.1:9471", show_default=True, metavar="HOST:PORT",
              help="Where to serve /metrics (:PORT for every address).")
@click.option("--interval", type=click.FloatRange(0.2, 3600), default=15.0, show_default=True, metavar="SECONDS",
              help="How often every device is read.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True, metavar="SECONDS",
              help="How long one device may take to answer; then it is intent_device_up 0 for that round.")
@click.option("--parallel", type=click.IntRange(1, 64), default=8, show_default=True, help="Devices read at once.")
@STATE_DIR
@KNOWN_HOSTS
@PLAINTEXT
@_guard
def exporter(site: Path, listen: str, interval: float, timeout: float, parallel: int, state_dir: Path | None,
             known_hosts: str | None, allow_plaintext_secrets: bool) -> None:
    """Serve SITE's live state as Prometheus metrics until stopped (Ctrl-C, SIGTERM).

    \b
    Per owned HTB class: bytes, packets, drops, overlimits; reserved and capacity bps per egress
    interface; per intent and device a compliance gauge (1 matches, 0 drift); device up and time of
    the last successful read. Metric names: README, "Pictures and telemetry".
    """
    import logging
    import signal
    import threading

    from engine.exporter import Poller, live_reader, parse_listen, serve
    from engine.state import StateDir

    parse_listen(listen)
    loaded, compilation = _load(site, allow_plaintext_secrets)
    state = StateDir.for_site(loaded, state_dir)
    reader = live_reader(loaded, compilation, state, _connection(known_hosts, False))
    poller = Poller(loaded, compilation, reader, timeout=timeout, parallel=parallel)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    logging.getLogger("intent").addHandler(handler)
    logging.getLogger("intent").setLevel(logging.INFO)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def ready(host: str, port: int) -> None:
        _stderr().print(f"intent exporter for site {loaded.name}: http://{host}:{port}/metrics, "
                        f"{len(poller.devices)} devices every {interval:g}s")

    try:
        serve(poller, listen, interval, stop, ready)
    except KeyboardInterrupt:
        stop.set()


@main.command(epilog=EPILOG)
@click.option("--inventory", "inventory", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Ansible YAML inventory of the devices to ask.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the topology here instead of printing it.")
@click.option("--parallel", type=click.IntRange(1, 64), default=8, show_default=True)
@KNOWN_HOSTS
@ACCEPT_NEW
@PLAINTEXT
@_guard
def discover(inventory: Path, out_file: Path | None, parallel: int, known_hosts: str | None,
             accept_new_host_keys: bool, allow_plaintext_secrets: bool) -> None:
    """Build a topology file from LLDP neighbours and interface speeds (NAPALM devices).

    Devices whose driver cannot read LLDP (only NAPALM's can) are listed as skipped. Review the result:
    LLDP shows what is cabled, not what you intend to use.
    """
    from engine.console import DeviceProgress
    from engine.discover import discover as run_discover
    from engine.loader import load_inventory

    devices = load_inventory(inventory, allow_plaintext_secrets=allow_plaintext_secrets)
    result, answered = run_discover(devices, _connection(known_hosts, accept_new_host_keys), parallel=parallel,
                                    phases=DeviceProgress)
    text = result.yaml()
    if out_file:
        out_file.write_text(text, encoding="utf-8")
        _stdout().print(f"{out_file}: {len(result.links)} links from {answered} devices")
    else:
        click.echo(text, nl=False)
    if result.failed:
        sys.exit(1)


@main.command("parse", epilog=EPILOG)
@click.argument("text")
@click.option("--format", "output_format", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--site", "site", type=click.Path(dir_okay=False, path_type=Path),
              help="Also check the intent against this site (VLANs defined, devices and ports known, admission), "
                   "and name it uniquely in it.")
@PLAINTEXT
@_guard
def parse_sentence(text: str, output_format: str, site: Path | None, allow_plaintext_secrets: bool) -> None:
    """Print the one intent an English or French sentence means, as it stands in a site file.

    \b
      intent parse "guarantee 100Mbps for video between VLAN 10 and 20"
      intent parse "limiter le VLAN 30 à 20 Mb/s" --format json
    A word the grammar has no place for is an error that quotes it and says what was expected (exit 1).
    """
    from engine.siteedit import propose, render_intent, standalone

    intent = propose(site, text, allow_plaintext_secrets=allow_plaintext_secrets).intent if site is not None \
        else standalone(text)
    click.echo(json.dumps(intent, indent=2) if output_format == "json" else render_intent(intent), nl=output_format == "json")


@main.command("add", epilog=EPILOG)
@SITE
@click.argument("text")
@click.option("--name", help="Name the intent [default: derived from the sentence, e.g. video-10-20, cap-vlan30].")
@click.option("--dry-run", is_flag=True, help="Show the intent and what it changes; do not write the site file.")
@click.option("--running", "running_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Plan the change against saved running state in DIR [default: against the site as it is].")
@PLAINTEXT
@_guard
def add(site: Path, text: str, name: str | None, dry_run: bool, running_dir: Path | None,
        allow_plaintext_secrets: bool) -> None:
    """Read a sentence, check it against the whole SITE, show what it changes, append it to SITE.

    The intent goes after the last item of intents:, in the file's indentation; every other byte
    of the file (comments, formatting) stays as it was.
    """
    from engine.report import RESERVATION_HEADER, _counts, _table, reservation_rows, summary_line
    from engine.siteedit import propose

    addition = propose(site, text, name, allow_plaintext_secrets=allow_plaintext_secrets)
    result = addition.plan(running_dir)
    added = addition.intent["name"]
    line = addition.insertion.text[:addition.insertion.offset].count("\n") + 1
    out = [f"{'Would add' if dry_run else 'Adding'} to {site} at line {line}:", addition.insertion.item.rstrip("\n"), ""]
    out += [f"  {i.summary}" for i in result.intents if i.name == added]
    rows = [row for row, r in zip(reservation_rows(result), result.reservations, strict=True) if added in r.intents]
    if rows:
        out += ["", "Reservations it makes"] + _table(RESERVATION_HEADER, rows)
    out += ["", "Devices it changes" + (f" (against {running_dir})" if running_dir else "")]
    for device_name, device in sorted(result.devices.items()):
        if device.changed:
            plus, minus = _counts(device.diff)
            out.append(f"  {device_name} ({device.platform}): {plus} lines to add, {minus} to remove")
    out += ["", summary_line(result)]
    if not dry_run:
        addition.write()
    out.append(f"dry run: {site} not changed" if dry_run else f"{site}: added intent {added}")
    _print_text("\n".join(out) + "\n")


@main.command(epilog=EPILOG)
@click.argument("which", type=click.Choice(["site", "inventory", "topology"]))
@_guard
def schema(which: str) -> None:
    """Print the JSON Schema (draft 2020-12) of a site, inventory or topology file.

    \b
    For editor completion and checks, save it and point yaml-language-server at it:
      intent schema site > schemas/site.schema.json
      # yaml-language-server: $schema=schemas/site.schema.json   (first line of site.yaml)
    """
    from engine.loader import editor_inventory_schema, editor_schema
    from engine.loader import schema as shipped

    document = editor_schema() if which == "site" else editor_inventory_schema() if which == "inventory" \
        else shipped(which)
    click.echo(json.dumps(document, indent=2))


def run() -> NoReturn:
    """The ``intent`` program (its console script): ``main``, then the end of the process without the
    interpreter's teardown, which frees every object one at a time and buys a process that is about
    to exit nothing. Output is flushed and the exit handlers run first (log files, temporary
    directories); while another thread is alive (a server, a reverter) the normal exit waits for it."""
    global _program
    _program = True
    try:
        main()
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    if threading.active_count() > 1 or not (code is None or isinstance(code, int)):
        raise SystemExit(code)
    import atexit

    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - a closed pipe, say: the interpreter's own exit reports it
        raise SystemExit(code) from None
    os._exit(code or 0)


if __name__ == "__main__":
    run()
