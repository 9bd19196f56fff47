"""plan: the change each device needs, and its undo, computed before anything is touched.

Against saved running state (``--running DIR``: ``DIR/<device>.cfg`` for CLI platforms,
``DIR/<device>.json`` for Linux). A device without a file is planned as fresh. The diff shows
only what the engine owns; every text that leaves here has secrets masked.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine import cliconfig, linux
from engine.build import Reservation
from engine.compiler import Compilation
from engine.errors import IntentError, Location, ValidationError
from engine.identifiers import inside
from engine.model import Site
from engine.render import DeviceConfig, platform_spec
from engine.secrets import SecretMasker
from engine.yamlsrc import decode
from intents import Registry


@dataclass(frozen=True)
class DevicePlan:
    device: str
    platform: str
    changed: bool
    diff: str
    config: str
    fresh: bool = False
    commands: tuple[str, ...] = ()  # CLI platforms: what to send
    rollback: tuple[str, ...] = ()  # CLI platforms: what undoes it
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform, "changed": self.changed, "diff": self.diff, "config": self.config,
            "fresh": self.fresh, "commands": list(self.commands), "rollback": list(self.rollback),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class IntentSummary:
    name: str
    kind: str
    summary: str
    devices: tuple[str, ...]
    changed_devices: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "summary": self.summary, "devices": list(self.devices),
                "changed_devices": list(self.changed_devices)}


@dataclass(frozen=True)
class Plan:
    site: str
    devices: dict[str, DevicePlan]
    reservations: tuple[Reservation, ...]
    intents: tuple[IntentSummary, ...] = ()
    errors: tuple[str, ...] = ()
    source: str = ""  # where running state came from
    running_sha256: dict[str, str | None] = field(default_factory=dict)  # device -> hash of the state planned against
    plan_hash: str | None = None  # set when this plan was read from a plan file: the file's own hash

    @property
    def changes(self) -> bool:
        return any(device.changed for device in self.devices.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "changes": self.changes,
            "devices": {name: plan.as_dict() for name, plan in sorted(self.devices.items())},
            "reservations": [r.as_dict() for r in self.reservations],
            "intents": [i.as_dict() for i in self.intents],
            "errors": list(self.errors),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"

    def digest(self) -> str:
        """SHA-256 of the plan's JSON: the identity audit records and plan files carry."""
        return self.plan_hash or hashlib.sha256(self.to_json().encode()).hexdigest()

    def plan_file(self, site_file: str, configs: dict[str, DeviceConfig]) -> str:
        """What ``--out`` writes: the plan, what to apply, and what each device was when planned."""
        document = self.as_dict()
        document.update({
            "format": PLAN_FORMAT, "plan_hash": self.digest(), "site_file": site_file,
            "running_sha256": dict(sorted(self.running_sha256.items())),
            "desired": {name: {"platform": c.platform, "text": c.text, "document": c.document}
                        for name, c in sorted(configs.items())},
        })
        return json.dumps(document, indent=2) + "\n"


PLAN_FORMAT = "intent-plan/1"


class RunningSource(Protocol):
    """Where running state comes from: a directory of saved files, or the devices themselves."""

    @property
    def directory(self) -> Any: ...

    def read(self, device: str, platform: str) -> str | None: ...


@dataclass
class RunningState:
    """Saved running state of each device, read from a directory."""

    directory: Path
    texts: dict[str, str] = field(default_factory=dict)

    def read(self, device: str, platform: str) -> str | None:
        suffix = ".json" if platform == "linux" else ".cfg"
        path = inside(self.directory, f"{device}{suffix}")
        if path.exists() and not path.is_file():
            raise IntentError(f"{path}: saved running state must be a regular file")
        try:
            return decode(path.read_bytes(), str(path))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IntentError(f"{path}: cannot read saved running state: {exc.strerror or exc}") from None


def masker_for(site: Site) -> SecretMasker:
    """Every secret the site can reach: inventory passwords and the values of the variables it names."""
    import os

    masker = SecretMasker()
    for device in site.devices.values():
        masker.add(device.password)
        for variable in (device.password_env, dict(device.extra).get("enable_secret_env")):
            if variable:
                masker.add(os.environ.get(str(variable)))
    return masker


def make_plan(site: Site, compilation: Compilation, running: RunningSource, registry: Registry | None = None) -> Plan:
    """Diff every device's desired config against its saved running state."""
    masker = masker_for(site)
    devices: dict[str, DevicePlan] = {}
    problems: list[tuple[Location, str]] = []
    texts: dict[str, str | None] = {}
    for name in sorted(compilation.configs):
        config = compilation.configs[name]
        text = running.read(name, config.platform)
        texts[name] = text
        try:
            devices[name] = _device_plan(config, text, masker, running.directory, site.devices[name].driver.value,
                                         compilation.notes.get(name, ()))
        except ValueError as exc:
            suffix = ".json" if config.platform == "linux" else ".cfg"
            problems.append((Location(str(running.directory / f"{name}{suffix}"), 1, 1), str(exc)))
    if problems:
        raise ValidationError(problems)
    registry = registry or Registry()
    summaries = []
    touching: dict[str, list[str]] = {}
    for device_name, model in sorted(compilation.models.items()):
        for touched_by in model.intents:
            touching.setdefault(touched_by, []).append(device_name)
    for intent in site.intents:
        touched = tuple(touching.get(intent.name, ()))
        kind = registry.kinds[intent.kind]
        describe = getattr(kind, "describe", None)
        summary = describe(intent, compilation) if describe else intent.kind
        summaries.append(IntentSummary(intent.name, intent.kind, summary, touched,
                                       tuple(d for d in touched if devices[d].changed)))
    hashes = {name: hashlib.sha256(text.encode()).hexdigest() if text is not None else None
              for name, text in texts.items()}
    return Plan(site.name, devices, compilation.reservations, tuple(summaries), source=str(running.directory),
                running_sha256=hashes)


# How commit-confirm (--confirm-timeout) works per driver and platform, where it is not the device's own.
SNAPSHOT_REVERT = {
    ("napalm", "nxos"): "NAPALM has no commit-confirm for nxos: a detached reverter restores the snapshot instead",
    ("netmiko", "*"): "commit-confirm is a detached reverter restoring the snapshot (CLI devices have no candidate)",
}


def _device_plan(config: DeviceConfig, running_text: str | None, masker: SecretMasker, directory: object,
                 driver: str = "", compiled_notes: tuple[str, ...] = ()) -> DevicePlan:
    fresh = running_text is None
    notes = [f"no saved running state in {directory}: planned as a fresh device"] if fresh else []
    notes += compiled_notes
    revert_note = SNAPSHOT_REVERT.get((driver, config.platform)) or SNAPSHOT_REVERT.get((driver, "*"))
    if revert_note:
        notes.append(revert_note)
    if config.document is not None:
        running_doc: dict[str, Any] = {}
        if running_text is not None:
            try:
                running_doc = json.loads(running_text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"invalid JSON running state: {exc.msg} at line {exc.lineno}") from None
            if not isinstance(running_doc, dict):
                raise ValueError("running state must be a JSON object (a Linux state document)")
        notes += linux.foreign_replaced(running_doc, config.document)
        diff = linux_diff(config.device, running_doc, config.document)
        return DevicePlan(config.device, config.platform, bool(diff), masker(diff), masker(config.text), fresh,
                          notes=tuple(notes))
    spec = platform_spec(config.platform)
    assert spec.syntax is not None
    running_nodes = cliconfig.parse(running_text or "", spec.syntax)
    desired_nodes = cliconfig.parse(config.text, spec.syntax)
    merged = cliconfig.merge(running_nodes, desired_nodes, spec.syntax)
    before_text = cliconfig.render(running_nodes, spec.syntax)
    after_text = cliconfig.render(merged, spec.syntax)
    diff = unified(before_text.splitlines(), after_text.splitlines(), config.device)
    commands = cliconfig.remediation(running_nodes, merged, spec.syntax, order=desired_nodes)
    undo = cliconfig.remediation(merged, running_nodes, spec.syntax)
    return DevicePlan(
        config.device, config.platform, bool(diff), masker(diff), masker(config.text), fresh,
        _mask_lines(masker, commands), _mask_lines(masker, undo), tuple(notes),
    )


def _mask_lines(masker: SecretMasker, lines: list[str]) -> tuple[str, ...]:
    """Mask single-line commands in one pass over their joined text (no pattern spans a newline)."""
    if not lines:
        return ()
    masked = masker("\n".join(lines)).split("\n")
    return tuple(masked) if len(masked) == len(lines) else tuple(masker(line) for line in lines)


def unified(before: list[str], after: list[str], device: str) -> str:
    """The unified diff every plan, stage and verification shows: running -> intent."""
    lines = difflib.unified_diff(before, after, f"{device} (running)", f"{device} (intent)", lineterm="", n=3)
    text = "\n".join(lines)
    return text + "\n" if text else ""


def linux_diff(device: str, running: dict[str, Any], desired: dict[str, Any], after: list[str] | None = None) -> str:
    """What changes on a Linux device: the part of ``running`` intent may touch, against ``desired``.
    ``after``: the desired lines, when the caller has them already."""
    return unified(linux.lines(linux.in_scope(running, desired)),
                   after if after is not None else linux.lines(desired), device)
