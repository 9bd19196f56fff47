"""The intent engine as a Python library: a thin facade over ``engine/`` (nothing re-implemented here).

    import intent_engine

    plan = intent_engine.deploy("Garantir QoS vidéo entre VLAN 10 et 20 avec bande passante minimale 100Mbps",
                                "examples/campus/site.yaml", running="examples/campus/running", dry_run=True)
    plan.to_dict()["reservations"]      # the CONTRACT JSON of `intent plan --format json`

Every error is one of the engine's, rooted at ``IntentError`` (``ValidationError`` and its
``SentenceError`` for a sentence that cannot be read exactly, ``AdmissionError``, ``DriverError``...).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import (
    AdmissionError,
    CommitError,
    ConnectError,
    DriverError,
    IntentError,
    RenderError,
    RollbackError,
    TopologyError,
    ValidationError,
)
from engine.frozen import frozen

__all__ = [
    "AdmissionError", "CommitError", "ConnectError", "Connection", "DriverError", "IntentError", "Plan", "RenderError",
    "RollbackError", "SentenceError", "TopologyError", "ValidationError", "apply", "deploy", "load", "parse", "plan",
    "verify",
]

if TYPE_CHECKING:
    from engine.compiler import Compilation
    from engine.driver import Connection as EngineConnection
    from engine.model import Site
    from engine.plan import Plan as EnginePlan
    from engine.transaction import RunResult
    from engine.verify import VerifyReport

SitePath = str | os.PathLike[str]


def __getattr__(name: str) -> Any:
    if name == "SentenceError":  # imported lazily: reading sentences needs lark, loading a site does not
        from engine.words import SentenceError

        return SentenceError
    raise AttributeError(f"module 'intent_engine' has no attribute {name!r}")


@frozen
class Plan:
    """A plan and what it was made from, so that ``apply`` can execute exactly it."""

    site: Site
    compilation: Compilation
    result: EnginePlan
    intent: dict[str, Any] | None = None  # deploy: the intent the sentence added
    run: RunResult | None = None  # deploy without dry_run: what the apply did, per device

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``intent plan --format json`` (CONTRACT §5)."""
        return self.result.as_dict()

    def to_json(self) -> str:
        return self.result.to_json()

    @property
    def changes(self) -> bool:
        return self.result.changes

    @property
    def reservations(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.result.reservations]


@frozen
class Connection:
    """How devices are reached: SSH known_hosts file, whether new host keys are accepted, state directory."""

    known_hosts: str | None = None
    accept_new_host_keys: bool = False
    state_dir: SitePath | None = None


def load(site: SitePath, *, allow_plaintext_secrets: bool = False) -> Site:
    """Load and validate a site file; raises ``ValidationError`` listing every problem (FILE:LINE:COL)."""
    from engine.loader import load_site

    return load_site(site, allow_plaintext_secrets=allow_plaintext_secrets)


def _site(site: SitePath | Site) -> Site:
    return load(site) if isinstance(site, (str, os.PathLike)) else site


def plan(site: SitePath | Site, running: SitePath | None = None, *, connection: Connection | None = None) -> Plan:
    """Compile ``site`` (a path or a loaded site) and diff it against saved running state in the directory
    ``running``, or against the live devices when ``running`` is None."""
    from engine.compiler import compile_site
    from engine.plan import RunningState, compile_and_plan

    loaded = _site(site)
    if running is None:
        from engine.state import StateDir
        from engine.transaction import live_plan

        compilation = compile_site(loaded)
        connection = connection or Connection()
        result = live_plan(loaded, compilation, StateDir.for_site(loaded, connection.state_dir),
                           connection=_engine_connection(connection))
    else:
        def running_found() -> None:  # once the site compiles: its errors come first
            if not Path(running).is_dir():
                raise IntentError(f"running {running}: no such directory")

        compilation, result = compile_and_plan(loaded, RunningState(Path(running)), compiled=running_found)
    return Plan(loaded, compilation, result)


def _engine_connection(connection: Connection) -> EngineConnection:
    """The composition root of a Python run: the installed drivers (entry points) and how to reach devices."""
    from engine.driver import Connection as EngineConnection
    from engine.driver import DriverRegistry

    return EngineConnection(connection.known_hosts, connection.accept_new_host_keys, DriverRegistry.installed())


def apply(plan_or_site: Plan | SitePath | Site, *, confirm_timeout: int | None = None, parallel: int = 4,
          dry_run: bool = False, connection: Connection | None = None) -> RunResult:
    """Apply a site (planned live now) or a ``Plan`` as one transaction; returns the engine's ``RunResult``.

    A ``Plan`` is applied exactly: the devices are read again and, if any differs from the state it was
    planned against (saved files that are not the devices' current state count as different), it is
    refused like a stale plan file. With ``dry_run`` every device loads the change and discards it.
    """
    import hashlib

    from engine.state import StateDir
    from engine.transaction import apply as run_apply
    from engine.transaction import read_running

    connection = connection or Connection()
    given = plan_or_site if isinstance(plan_or_site, Plan) else plan(plan_or_site, connection=connection)
    state = StateDir.for_site(given.site, connection.state_dir)
    engine_connection = _engine_connection(connection)
    if given is plan_or_site:  # planned earlier: the devices must still be what it was planned against
        texts = read_running(given.site, given.compilation.configs, state, parallel, engine_connection, probe=False)
        stale = sorted(name for name, digest in given.result.running_sha256.items()
                       if name not in texts or hashlib.sha256(texts[name].encode()).hexdigest() != digest)
        if stale:
            raise IntentError(f"the plan is stale: {', '.join(stale)} differ from the state it was planned against "
                              f"({given.result.source}); plan again")
    # exactly the plan's own commands (its masked secrets restored from the devices), never a second computation
    return run_apply(given.site, given.compilation, given.result, state, parallel=parallel,
                     confirm_timeout=confirm_timeout, connection=engine_connection, dry_run=dry_run)


def verify(site: SitePath | Site, *, seconds: int = 5, tolerance: float = 0.10,
           connection: Connection | None = None) -> VerifyReport:
    """Prove on the network that each intent holds, as ``intent verify`` does: drift against the desired
    state, then every kind's verify step with real traffic (the lab), class counters read around it.
    ``tolerance`` is a fraction (0.10: 10%). ``report.ok``; ``report.as_dict()`` is the JSON of
    ``intent verify --format json``."""
    from engine.compiler import compile_site
    from engine.state import StateDir
    from engine.verify import verify_site

    loaded = _site(site)
    connection = connection or Connection()
    return verify_site(loaded, compile_site(loaded), StateDir.for_site(loaded, connection.state_dir),
                       _engine_connection(connection), seconds=seconds, tolerance=tolerance)


def parse(text: str, site: SitePath | None = None, *, allow_plaintext_secrets: bool = False) -> dict[str, Any]:
    """The one intent an English or French sentence means, as in a site file: ``{"name": ..., "<kind>": {...}}``.

    With ``site``, it is also checked against that site (references, admission) and named uniquely in it.
    Raises ``SentenceError`` quoting the word it cannot read.
    """
    from engine.siteedit import propose, standalone

    if site is None:
        return standalone(text)
    return propose(site, text, allow_plaintext_secrets=allow_plaintext_secrets).intent


def deploy(text: str, site: SitePath, running: SitePath | None = None, dry_run: bool = False, *,
           name: str | None = None, connection: Connection | None = None,
           allow_plaintext_secrets: bool = False) -> Plan:
    """Parse ``text``, add the intent to the site file (not when ``dry_run``), plan, and (unless
    ``dry_run``) apply. Returns the plan, with ``intent`` set and, after an apply, ``run``.

    A failed apply (every changed device restored) raises ``CommitError`` naming the first device that failed.
    """
    from engine.siteedit import propose

    addition = propose(site, text, name, allow_plaintext_secrets=allow_plaintext_secrets)
    if dry_run:
        planned = plan(addition.site, running, connection=connection)
        return replace(planned, intent=addition.intent)
    addition.write()
    planned = plan(load(site, allow_plaintext_secrets=allow_plaintext_secrets), running, connection=connection)
    run = apply(planned, connection=connection)
    failed = sorted(name for name, result in run.results.items() if result.failed)
    if failed:
        raise CommitError(failed[0], f"{run.results[failed[0]].error} (the apply was rolled back; the intent stays in "
                                     f"{site})")
    return replace(planned, intent=addition.intent, run=run)
