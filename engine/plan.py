"""plan: the change each device needs, and its undo, computed before anything is touched.

Against saved running state (``--running DIR``: ``DIR/<device>.cfg`` for CLI platforms,
``DIR/<device>.json`` for Linux). A device without a file is planned as fresh. The diff shows
only what the engine owns; every text that leaves here has secrets masked.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import operator
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from engine import cliconfig, compiler, gcpause, jsontext, linux, parallel, remediate, runningstate, sendable, takeover
from engine.archive import finish_atomic, open_temporary, write_atomic
from engine.build import Reservation, segments
from engine.compilation import Compilation
from engine.device import DeviceModel, Port, PortMode
from engine.errors import IntentError, Location, ValidationError
from engine.frozen import frozen
from engine.identifiers import check_file_name, inside
from engine.model import Device, Site
from engine.render import DeviceConfig, platform_spec, render, renderer
from engine.secrets import MASK, SecretMasker, looks_secret
from engine.sendable import HiddenLine
from engine.yamlsrc import decode
from intents.registry import Registry


@frozen
class DevicePlan:
    """The plan of one device: its diff and full desired configuration, the commands and rollback."""

    device: str
    platform: str
    changed: bool
    diff: str
    config: str
    fresh: bool = False
    commands: tuple[str, ...] = ()  # CLI platforms: what to send (secrets masked: ``hidden`` restores them)
    rollback: tuple[str, ...] = ()  # CLI platforms: what undoes it (shown only: a restore uses the snapshot)
    notes: tuple[str, ...] = ()
    hidden: tuple[HiddenLine, ...] = ()  # commands stored masked, rebuilt from the device at apply (engine.sendable)

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform, "changed": self.changed, "diff": self.diff, "config": self.config,
            "fresh": self.fresh, "commands": list(self.commands), "rollback": list(self.rollback),
            "notes": list(self.notes),
        }


@frozen
class IntentSummary:
    """One intent in a plan: what it does in words, the devices it touches and those it changes."""

    name: str
    kind: str
    summary: str
    devices: tuple[str, ...]
    changed_devices: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "summary": self.summary, "devices": list(self.devices),
                "changed_devices": list(self.changed_devices)}


@frozen
class Plan:
    """What ``intent plan`` gives: every device's plan, the reservations, the intents' summaries."""

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

    def json_form(self) -> JsonForm:
        """``as_dict()`` and whether it holds a float, looked for once for every text made of it (the
        ``--format json`` output and the ``--out`` file of one run)."""
        data = self.as_dict()
        # Floats are looked for where a number can be. A device's plan is text, flags and lists of lines
        # (DevicePlan's types: _device_plan makes them of masked text, and read_plan_file refuses a plan file
        # whose devices hold anything else); walking its lines was most of the walk (8 ms at 1,000 devices).
        return JsonForm(data, jsontext.has_float([data["site"], data["reservations"], data["intents"], data["errors"]]))

    def to_json(self, form: JsonForm | None = None) -> str:
        form = form or self.json_form()
        return jsontext.dumps(form.data, floats=form.floats) + "\n"

    def to_json_bytes(self, form: JsonForm | None = None) -> bytes:
        """``to_json().encode()``, without decoding and encoding megabytes of ASCII on the way to stdout."""
        form = form or self.json_form()
        return jsontext.dumps_bytes(form.data, floats=form.floats, newline=True)

    def digest(self) -> str:
        """SHA-256 of the plan's JSON: the identity audit records and plan files carry."""
        return self.plan_hash or hashlib.sha256(self.to_json().encode()).hexdigest()

    def plan_file(self, site_file: str, configs: dict[str, DeviceConfig], site: Site | None = None,
                  key: str | None = None, form: JsonForm | None = None) -> bytes:
        """What ``--out`` writes: the plan, what to apply, what each device was when planned, the content
        hash of every site file and inventory entry, and a hash over all of it (HMAC-signed with ``key``).
        ``form``: this plan's ``json_form()``, when the run has it already."""
        return b"".join(self.plan_file_parts(site_file, configs, site, key, form))

    def plan_file_parts(self, site_file: str, configs: dict[str, DeviceConfig], site: Site | None = None,
                        key: str | None = None, form: JsonForm | None = None) -> list[bytes | memoryview]:
        """``plan_file()``'s bytes in pieces, in order, as ``write_plan_file`` takes them (``sealed_parts``)."""
        form = form or self.json_form()
        extra: dict[str, Any] = {
            "format": PLAN_FORMAT, "site_file": site_file,
            "running_sha256": dict(sorted(self.running_sha256.items())),
            "secrets": {name: [h.as_dict() for h in device.hidden]
                        for name, device in sorted(self.devices.items()) if device.hidden},
        }
        if site is not None:
            extra["site_sha256"] = site_hashes(site)
            extra["inventory_sha256"] = {name: device_hash(site.devices[name]) for name in sorted(configs)}
        desired = {name: {"platform": c.platform, "text": c.text, "document": c.document}
                   for name, c in sorted(configs.items())}
        # the desired documents' floats as render found them (DeviceConfig.floats), looked for where it did not say
        floats = form.floats or jsontext.has_float(extra) or any(
            jsontext.has_float(c.document) if c.floats is None else c.floats for c in configs.values())
        return sealed_parts({**form.data, **extra, "desired": desired}, key, floats=floats)


class JsonForm(NamedTuple):
    data: dict[str, Any]  # Plan.as_dict()
    floats: bool  # whether a float is anywhere in it (jsontext.has_float of where a number can be)


PLAN_FORMAT = "intent-plan/3"  # 3: apply sends devices.*.commands as stored; ``secrets`` restores masked lines
READABLE_FORMATS = ("intent-plan/2", PLAN_FORMAT)  # a /2 file applies too, unless a command holds a masked secret
PLAN_KEY_ENV = "INTENT_PLAN_KEY"


def plan_key() -> str | None:
    """INTENT_PLAN_KEY: signs plan files and keys the verifiers of their hidden lines."""
    return os.environ.get(PLAN_KEY_ENV) or None


_SEAL_FIELDS = ("plan_hash", "signature")


_SPLIT = ("desired", "devices")  # a plan's large objects, one entry per device: hashed entry by entry


def _canonical_parts(document: dict[str, Any], floats: bool | None = None) -> Iterator[bytes | memoryview]:
    """The bytes the plan hash and signature cover, in pieces: every field but those two, in one canonical form
    (json.dumps(sort_keys, ",", ":", ensure_ascii), byte for byte; ``jsontext.compact_parts``)."""
    body = {key: value for key, value in document.items() if key not in _SEAL_FIELDS}
    return jsontext.compact_parts(body, floats=floats, split=_SPLIT)


def _digests(document: dict[str, Any], key: str | None, floats: bool | None = None) -> tuple[str, str | None]:
    """The plan hash (SHA-256) of ``document``'s canonical content and, given a key, its signature (HMAC-SHA256
    of the same bytes), fed piece by piece, as ``read_plan_file`` checks them: the whole text (11.5 MB at 1,000
    devices) is never held, whose fresh pages cost a fresh process ~3,300 page faults. (``sealed_parts``, which
    writes that text, hashes the runs it writes.)"""
    sha = hashlib.sha256()
    mac = hmac.new(key.encode(), digestmod=hashlib.sha256) if key else None
    for piece in _canonical_parts(document, floats):
        sha.update(piece)
        if mac is not None:
            mac.update(piece)
    return sha.hexdigest(), "hmac-sha256:" + mac.hexdigest() if mac is not None else None


def seal(document: dict[str, Any], key: str | None = None, *, floats: bool | None = None) -> bytes:
    """``document`` as a plan file: with ``plan_hash`` (SHA-256 of the canonical content) and, given a
    key, ``signature`` (HMAC-SHA256 of the same bytes), written as canonical JSON itself (sorted keys, no
    spaces, ASCII) and a newline. ``floats``: whether ``document`` holds a float, when the caller knows."""
    return b"".join(sealed_parts(document, key, floats=floats))


def sealed_parts(document: dict[str, Any], key: str | None = None, *,
                 floats: bool | None = None) -> list[bytes | memoryview]:
    """``seal()``'s bytes in pieces, in order. The file is the canonical text its hash covers with the two
    sealing entries among its keys, so that text is written once: in runs of the content's keys, those
    before ``plan_hash``, those between it and ``signature`` and those after (each the inside of its own
    object's canonical text, as ``jsontext.compact_parts`` writes runs), hashed as the canonical text and
    written with the two entries between. (An indented file is the same data in a second text: 14.6 MB
    at 1,000 devices, written after the command's every other output and doubling its JSON time.) Its keys
    are strings, as a plan's are (a sealed object has string keys, which cannot sort among others)."""
    if floats is None:
        floats = jsontext.has_float(document)  # looked for once: the sealed text adds only strings
    body = {name: value for name, value in document.items() if name not in _SEAL_FIELDS}
    secret = key.encode() if key else None
    inner = False if floats is False else None  # a run holds a float only where the whole does
    rest = sorted(body)
    groups: list[list[str]] = []  # the content's keys before plan_hash, between it and signature, after it
    for bound in _SEAL_FIELDS:
        groups.append([name for name in rest if name < bound])
        rest = rest[len(groups[-1]):]
    groups.append(rest)
    runs = [memoryview(jsontext.compact({name: body[name] for name in group}, floats=inner))[1:-1] if group else None
            for group in groups]  # each run's text without its braces (None: no key there)
    values = _seals(_braced([run for run in runs if run is not None]), secret)
    entries: list[bytes | memoryview] = []
    for run, name in zip(runs, (*_SEAL_FIELDS, None), strict=True):
        if run is not None:
            entries.append(run)
        if name is not None and name in values:
            entries.append(b'"' + name.encode() + b'":"' + values[name].encode() + b'"')
    return [*_braced(entries), b"\n"]


def _braced(entries: list[bytes | memoryview]) -> list[bytes | memoryview]:
    """The pieces of an object's text whose entries' texts are ``entries``: between braces, commas between."""
    pieces: list[bytes | memoryview] = [b"{"]
    for index, entry in enumerate(entries):
        if index:
            pieces.append(b",")
        pieces.append(entry)
    pieces.append(b"}")
    return pieces


def _seals(content: list[bytes | memoryview], secret: bytes | None) -> dict[str, str]:
    """The sealing entries' values of the canonical text in ``content`` (its pieces): its SHA-256 and, with
    ``secret``, its HMAC-SHA256, which a thread works out meanwhile (hashlib lets go of the GIL over a
    large piece: megabytes each, on two cores at once)."""
    def mac() -> str:
        assert secret is not None
        signer = hmac.new(secret, digestmod=hashlib.sha256)
        for piece in content:
            signer.update(piece)
        return "hmac-sha256:" + signer.hexdigest()

    signature = _in_thread(mac) if secret else None
    sha = hashlib.sha256()
    for piece in content:
        sha.update(piece)
    values = {"plan_hash": sha.hexdigest()}
    if signature is not None:
        values["signature"] = signature()
    return values


T = TypeVar("T")


def _in_thread(work: Callable[[], T]) -> Callable[[], T]:
    """``work()`` started in a thread; the function returned waits for it and gives its result (or raises its error)."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # handed to the caller, raised there
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name="intent-plan-output")
    thread.start()

    def result() -> T:
        thread.join()
        done, value = outcome[0]
        if not done:
            raise value
        return cast(T, value)

    return result


def site_hashes(site: Site) -> dict[str, str]:
    """SHA-256 of every file the site was loaded from, as planned."""
    found = {}
    for name in site.files:
        try:
            found[name] = hashlib.sha256(Path(name).read_bytes()).hexdigest()
        except OSError:
            continue
    return dict(sorted(found.items()))


def device_hash(device: Device) -> str:
    """What reaching a device depends on (address, port, user, driver, credentials source...): if its
    inventory entry changes between plan and apply, the plan file is refused."""
    # json.dumps({k: str(v) if not isinstance(v, (int, bool, type(None))) else v ...}, sort_keys=True): the keys
    # are listed sorted, so the dict is written in that order without sorting it each time, and a value of an
    # exact plain type (str(v) of a str is itself) is taken as it is without the isinstance
    fields = dict(zip(_REACHED_BY, [v if type(v) in _PLAIN else str(v) if not isinstance(v, (int, bool, type(None)))
                                    else v for v in _reached_by(device)], strict=True))
    return hashlib.sha256(_JSON.encode(fields).encode()).hexdigest()


_REACHED_BY = tuple(sorted(("name", "platform", "driver", "host", "port", "netns", "username", "password_env", "key_file",
                            "become", "napalm_driver", "napalm_args")))
_reached_by = operator.attrgetter(*_REACHED_BY)
_PLAIN = frozenset((str, int, bool, type(None)))
_JSON = json.JSONEncoder()  # json.dumps' own, for every device (``fields`` come in sorted order)


def _duplicate_keys_refused(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def read_plan_file(path: Path, key: str | None = None) -> dict[str, Any]:
    """A plan file, checked before anything else happens: its format, its hash over everything apply
    uses (a mismatch means the file was modified), its signature when ``key`` (INTENT_PLAN_KEY) is
    set, and the shape of what apply will read. Raises IntentError saying what is wrong."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IntentError(f"{path}: cannot read the plan file: {exc.strerror or exc}") from None
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_duplicate_keys_refused)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise IntentError(f"{path}: not a plan file from `intent plan --out` (not valid JSON: {exc})") from None
    if not isinstance(document, dict):
        raise IntentError(f"{path}: not a plan file from `intent plan --out` (not a JSON object)")
    if document.get("format") not in READABLE_FORMATS:
        shown = document.get("format")
        raise IntentError(f"{path}: not a plan file this version applies (format {_short(shown)}, expected "
                          f"{PLAN_FORMAT!r}); plan again")
    plan_hash, expected = _digests(document, key)
    recorded = document.get("plan_hash")
    if not isinstance(recorded, str) or not hmac.compare_digest(recorded, plan_hash):
        raise IntentError(f"{path} was modified after `intent plan --out`: its content does not match its plan "
                          "hash; refusing to apply it (plan again)")
    signature = document.get("signature")
    if key:
        if signature is None:
            raise IntentError(f"{path} is not signed, and {PLAN_KEY_ENV} is set: refusing to apply an unsigned plan")
        if not isinstance(signature, str) or expected is None or not hmac.compare_digest(signature, expected):
            raise IntentError(f"{path}: the signature does not match {PLAN_KEY_ENV}: the file was modified or "
                              "signed with another key; refusing to apply it")
    problem = _shape_problem(document)
    if problem:
        raise IntentError(f"{path}: malformed plan file ({problem}); plan again")
    return document


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def _shape_problem(document: dict[str, Any]) -> str | None:
    """What apply will read must have the types it expects (a sealed file can still be hand-made)."""
    if not isinstance(document.get("site_file"), str) or not isinstance(document.get("site"), str):
        return "site_file and site must be strings"
    desired, running = document.get("desired"), document.get("running_sha256")
    if not isinstance(desired, dict) or not isinstance(running, dict):
        return "desired and running_sha256 must be objects"
    for name, config in desired.items():
        if not isinstance(config, dict) or not isinstance(config.get("platform"), str) or \
                not isinstance(config.get("text"), str) or not isinstance(config.get("document"), (dict, type(None))):
            return f"desired.{_short(name)} must have platform, text and document"
        if name not in running or not isinstance(running[name], (str, type(None))):
            return f"running_sha256 lacks {_short(name)}"
    for field_name in ("site_sha256", "inventory_sha256"):
        if not isinstance(document.get(field_name), dict):
            return f"{field_name} must be an object"
    devices, secrets = document.get("devices"), document.get("secrets", {})
    if not isinstance(devices, dict) or not isinstance(secrets, dict):
        return "devices and secrets must be objects"
    for name, device in devices.items():
        if name not in desired or not isinstance(device, dict):
            return f"devices.{_short(name)} is not a planned device"
        for key, kind in (("platform", str), ("changed", bool), ("diff", str), ("config", str), ("fresh", bool)):
            if not isinstance(device.get(key), kind):
                return f"devices.{_short(name)}.{key} must be a {kind.__name__}"
        for key in ("commands", "rollback", "notes"):
            if not isinstance(device.get(key), list) or not all(isinstance(v, str) for v in device[key]):
                return f"devices.{_short(name)}.{key} must be a list of strings"
    for name, hidden in secrets.items():
        if name not in devices or not isinstance(hidden, list) or not all(
                isinstance(h, dict) and type(h.get("line")) is int and type(h.get("source")) is int
                and isinstance(h.get("verifier"), str) for h in hidden):
            return f"secrets.{_short(name)} must list a device's hidden lines (line, source, verifier)"
    return None


def plan_from_document(document: dict[str, Any], path: Path) -> Plan:
    """The plan a verified plan file holds, as ``make_plan`` made it: apply sends its own commands."""
    hidden_of = document.get("secrets", {})
    devices = {}
    for name, device in document["devices"].items():
        commands = tuple(device["commands"])
        hidden = tuple(HiddenLine(h["line"], h["source"], h["verifier"]) for h in hidden_of.get(name, ()))
        if document["format"] != PLAN_FORMAT:  # intent-plan/2 had no way to restore a masked line
            hidden = tuple(HiddenLine(i, -1, "") for i, line in enumerate(commands) if MASK in line)
        devices[name] = DevicePlan(name, device["platform"], device["changed"], device["diff"], device["config"],
                                   device["fresh"], commands, tuple(device["rollback"]), tuple(device["notes"]),
                                   hidden)
    try:
        reservations = tuple(Reservation(r["device"], r["interface"], r["capacity_bps"], r["reservable_bps"],
                                         r["reserved_bps"], tuple(r["intents"])) for r in document["reservations"])
        intents = tuple(IntentSummary(i["name"], i["kind"], i["summary"], tuple(i["devices"]),
                                      tuple(i["changed_devices"])) for i in document["intents"])
    except (KeyError, TypeError) as exc:
        raise IntentError(f"{path}: malformed plan file (reservations or intents: {exc}); plan again") from None
    return Plan(document["site"], devices, reservations, intents, source=f"plan file {path}",
                running_sha256=dict(document["running_sha256"]), plan_hash=document["plan_hash"])


def to_send(device: DevicePlan, config: DeviceConfig, running: str, running_sha256: str | None) -> DevicePlan:
    """``device`` with its hidden lines restored from ``running`` (the device's config, which must hash to
    ``running_sha256``, what was planned) and verified: exactly what the driver sends. Raises IntentError."""
    if not device.hidden:
        return device
    lines = sendable.sources(config.platform, running, config.text)
    return replace(device, commands=sendable.restore(device.device, running_sha256, device.commands, device.hidden,
                                                     lines, plan_key()))


def check_plan_site(path: Path, document: dict[str, Any], site: Site) -> None:
    """The site a verified plan file names must still reach the same devices the same way."""
    if site.name != document["site"]:
        raise IntentError(f"{path} is for site {_short(document['site'])}, but {document['site_file']} is now site "
                          f"{site.name!r}; plan again")
    changed = []
    for name, config in sorted(document["desired"].items()):
        device = site.devices.get(name)
        if device is None or device.platform != config["platform"]:
            raise IntentError(f"{path}: device {_short(name)} is no longer a {config['platform']} device in the "
                              "inventory; plan again")
        if document["inventory_sha256"].get(name) != device_hash(device):
            changed.append(name)
    if changed:
        raise IntentError(f"{path} is stale: the inventory entries of {', '.join(changed)} changed since it was "
                          "planned (how they are reached); plan again")


def write_plan_file(path: Path, data: bytes | Sequence[bytes | memoryview]) -> None:
    """Write a plan file (``Plan.plan_file``, or its ``plan_file_parts`` in order) atomically (temporary file in
    the same directory, fsync, rename): a reader never sees half of one, and a failed write leaves any older
    file as it was."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise _unwritable(path, exc) from None


def plan_file_writer(path: Path, data: bytes | Sequence[bytes | memoryview]) -> Callable[[], None]:
    """``write_plan_file(path, data)``, written in a thread (the write and its fsync wait on the disk, not
    holding the GIL), so the caller makes its other output meanwhile; the function returned waits for the
    file and raises what writing it raised. Call it before anything is shown. The temporary file is
    created here, not in the thread: the thread's first call that lets go of the GIL is then the write
    itself, where a thread that opened the file let go of it for ``open()`` and waited 7-10 ms to have it
    back while this one wrote the plan's JSON (orjson does not let go of it)."""
    try:
        tmp, handle = open_temporary(path)
    except OSError as exc:
        raise _unwritable(path, exc) from None

    def write() -> None:
        try:
            finish_atomic(path, tmp, handle, data)
        except OSError as exc:
            raise _unwritable(path, exc) from None

    return _in_thread(write)


def _unwritable(path: Path, exc: OSError) -> IntentError:
    return IntentError(f"{path}: cannot write the plan file: {exc.strerror or exc}")


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
    _listed: bool = field(default=False, init=False, repr=False, compare=False)
    _entries: set[str] | None = field(default=None, init=False, repr=False, compare=False)  # None: not listable

    def read(self, device: str, platform: str) -> str | None:
        suffix = platform_spec(platform).running_file
        file_name = f"{device}{suffix}"
        if not self._listed:  # once: on a big site most devices have no file, and resolving each costs
            self._listed = True
            try:
                self._entries = set(os.listdir(self.directory))
            except OSError:
                self._entries = None
        if self._entries is not None and file_name not in self._entries:
            check_file_name(self.directory, file_name)  # nothing there: no path to resolve, nothing to read
            return None
        path = inside(self.directory, file_name)
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
        for key, value in device.extra:  # ansible_become_password and other secrets allowed in clear
            if looks_secret(str(key)) and not str(key).endswith(("_env", "_file")) and isinstance(value, str):
                masker.add(value)
        for variable in (device.password_env, dict(device.extra).get("enable_secret_env")):
            if variable:
                masker.add(os.environ.get(str(variable)))
    return masker


@gcpause.paused
def make_plan(site: Site, compilation: Compilation, running: RunningSource, registry: Registry | None = None) -> Plan:
    """Diff every device's desired config against its saved running state."""
    masker = masker_for(site)
    texts = _running_texts(running, {name: config.platform for name, config in compilation.configs.items()})
    keep_link_modes(site, compilation, texts)
    plan_device = _DevicePlanner(site, compilation, texts, masker, running)

    def plan_named(name: str) -> Outcome:  # changes nothing: computed in another process on a big site
        return plan_device(compilation.configs[name])

    def platform_of(name: str) -> str:  # what _device_plan compiles once per kind of device
        return compilation.configs[name].platform

    names = sorted(compilation.configs)
    return _assembled(site, compilation, texts, running, registry,
                      zip(names, parallel.ordered_map(plan_named, names, first_of=platform_of), strict=True))


# One device's plan, or its problems; and its config when the device's kernel re-rendered it.
Outcome = tuple[DeviceConfig | None, DevicePlan | None, list[tuple[Location, str]]]


def _running_texts(running: RunningSource, platforms: dict[str, str]) -> dict[str, str | None]:
    """Device -> its saved running state (None: none saved), read in the order of the devices' names."""
    return {name: running.read(name, platforms[name]) for name in sorted(platforms)}


class _DevicePlanner:
    """``make_plan``'s step for one device: its config planned against its running state. Changes
    nothing, so it can run in another process (``engine.parallel``)."""

    def __init__(self, site: Site, compilation: Compilation, texts: dict[str, str | None], masker: SecretMasker,
                 running: RunningSource) -> None:
        self.site, self.compilation, self.texts, self.masker, self.running = site, compilation, texts, masker, running
        self.vlans = segments(site.intents)  # the VLANs, whatever kind made them

    def __call__(self, config: DeviceConfig) -> Outcome:
        name, compilation, masker, running = config.device, self.compilation, self.masker, self.running
        text = self.texts[name]
        kernel = _kernel_of(text) if config.document is not None else None
        rendered = None
        if kernel and name in compilation.models:
            # What the device's kernel has decides how some intents render (qos_share: DRR or HTB): the
            # config applied is the one planned here.
            config = rendered = render(compilation.models[name], kernel)
        try:
            planned = _device_plan(config, text, masker, running.directory, self.site.devices[name].driver,
                                   compilation.notes.get(name, ()),
                                   _takeover_policy(self.site, compilation, name, self.vlans))
        except TakeoverRefused as exc:
            where = _running_file(running, name, config.platform)
            return rendered, None, [(Location(where, line, 1), masker(message)) for line, message in exc.refusals]
        except ValueError as exc:  # a ConfigLineError knows the line
            return rendered, None, [(Location(_running_file(running, name, config.platform), getattr(exc, "line", 1), 1),
                                     masker(str(exc)))]
        return rendered, planned, []


def _assembled(site: Site, compilation: Compilation, texts: dict[str, str | None], running: RunningSource,
               registry: Registry | None, outcomes: Iterable[tuple[str, Outcome]]) -> Plan:
    """The plan of the devices' ``outcomes`` (in the order of their names); a config a kernel re-rendered
    replaces the compiled one in ``compilation``. Raises ValidationError with every device's problems."""
    devices: dict[str, DevicePlan] = {}
    problems: list[tuple[Location, str]] = []
    for name, (rendered, planned, refused) in outcomes:
        if rendered is not None:
            compilation.configs[name] = rendered
        if planned is not None:
            devices[name] = planned
        problems += refused
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
        summary = kind.describe(intent, compilation)
        summaries.append(IntentSummary(intent.name, intent.kind, summary, touched,
                                       tuple(d for d in touched if devices[d].changed)))
    hashes = {name: hashlib.sha256(text.encode()).hexdigest() if text is not None else None
              for name, text in texts.items()}
    return Plan(site.name, devices, compilation.reservations, tuple(summaries), source=str(running.directory),
                running_sha256=hashes)


@gcpause.paused
def compile_and_plan(site: Site, running: RunningSource, registry: Registry | None = None,
                     compiled: Callable[[], None] | None = None) -> tuple[Compilation, Plan]:
    """``make_plan(site, compile_site(site, registry), running, registry)``, and the compilation as that
    leaves it (with the configs of the link modes kept and of the kernels read), each device frozen,
    rendered and planned in one step. On a big site the forked workers (``engine.parallel``) start on
    the devices while this process freezes every model and checks their tokens at once (what the plan
    reads of them: compile_site's models and its order of errors); a worker freezes the models of its own
    devices and checks each one's tokens as ``render`` does, and sends back each config and plan
    together, where compiling and then planning fork twice and pickle each config back from the first.
    Raises what those two raise, in the same order; ``compiled()`` is called between them, once the
    site has compiled (where the CLI warns of an interrupted apply)."""
    build = compiler.build_site(site, registry)
    build.check()  # TopologyError, AdmissionError: before anything is frozen or rendered, as compile_site
    vlans_per_link = {k: set(v) for k, v in build.l2_links.items()}
    names = list(build.devices)
    # The build, while models are still to be frozen from it: here until every one is, in a worker to
    # its end. Dropped here then, as compile_site drops it, so that planning reuses its memory (11 MB).
    builds = [build]
    frozen: dict[str, DeviceModel] = {}  # device -> its model, frozen where (and when) it is needed
    planned: dict[str, DeviceModel] = {}  # ... with the link modes it keeps: what its plan reads
    notes: dict[str, tuple[str, ...]] = {}  # ... and its notes, with those freezing it made (routes' summaries)
    kept: dict[str, DeviceModel] = {}

    def model_of(name: str) -> DeviceModel:
        model = frozen.get(name)
        if model is None:
            model = frozen[name] = builds[0].freeze(name)
            planned[name] = kept.get(name, model)
            if builds[0].notes.get(name):
                notes[name] = tuple(sorted(builds[0].notes[name]))
        return model

    try:
        masker = masker_for(site)
        texts = _running_texts(running, {name: site.devices[name].platform for name in names})
        ends = {end.device for index, carried in vlans_per_link.items() if len(carried) == 1 and index < len(site.links)
                for end in (site.links[index].a, site.links[index].b) if end.device in build.devices}
        kept.update(_kept_link_modes(site, {name: model_of(name) for name in sorted(ends)}, vlans_per_link, texts))
    except Exception:  # noqa: BLE001 - raised again as compile_site then make_plan raise it
        return _apart(site, compiler.compilation_of(build, build.finish(), {}), running, registry, compiled, True)
    del build
    planned.update(kept)
    working = Compilation(planned, {}, (), vlans_per_link, notes)  # what planning a device reads of it
    plan_device = _DevicePlanner(site, working, texts, masker, running)
    checked: list[Callable[[DeviceModel], DeviceConfig]] = []  # here, once every model is: renderer(models)
    compilations: list[Compilation] = []

    def freeze_all() -> None:
        """compile_site's models, in its order (and its error, if freezing one raises), its token check
        of them all, and its compilation; a worker forked before this runs freezes its own."""
        # finish()'s loop, less the models frozen already (the first of each platform, the ends of links
        # whose modes are kept): a failure is the first in its order (freezing a model again gives an equal one)
        build = builds.pop()
        models = {name: frozen.get(name) or build.freeze(name) for name in names}
        checked.append(renderer(models.values()))
        compilations.append(compiler.compilation_of(build, models, {}))
        frozen.clear()
        frozen.update(models)
        planned.clear()
        planned.update((name, kept.get(name, model)) for name, model in models.items())  # as keep_link_modes leaves them
        notes.clear()
        notes.update(compilations[0].notes)

    def step(name: str) -> tuple[DeviceConfig, DeviceConfig | None, Outcome | None]:
        """The device's config as compile_site renders it; as keep_link_modes renders it again (None: not
        again); and its plan's outcome: None when planning it raised (make_plan then plans every device
        again, and raises that in its own order)."""
        render_compiled = checked[0] if checked else render  # render: each model's tokens checked alone
        config = render_compiled(model_of(name))  # a RenderError: compile_site's, the first in the order of models
        try:
            relinked = render(kept[name]) if name in kept else None
            return config, relinked, plan_device(relinked or config)
        except Exception:  # noqa: BLE001 - raised again by make_plan, in its order
            return config, None, None

    def platform_of(name: str) -> str:  # what a device's render and plan compile once per kind of device
        return site.devices[name].platform

    steps = dict(zip(names, parallel.ordered_map(step, names, first_of=platform_of, meanwhile=freeze_all),
                     strict=True))
    compilation = compilations[0]
    configs = {name: config for name, (config, _, _) in steps.items()}
    outcomes = {name: outcome for name, (_, _, outcome) in sorted(steps.items()) if outcome is not None}
    if len(outcomes) < len(steps):
        return _apart(site, replace(compilation, configs=configs), running, registry, compiled)
    if compiled is not None:
        compiled()
    compilation = replace(compilation, models=planned, configs={name: relinked or config
                                                                for name, (config, relinked, _) in steps.items()})
    return compilation, _assembled(site, compilation, texts, running, registry, outcomes.items())


def _apart(site: Site, compilation: Compilation, running: RunningSource, registry: Registry | None,
           compiled: Callable[[], None] | None, render_first: bool = False) -> tuple[Compilation, Plan]:
    """``compile_and_plan`` of a site that has compiled to ``compilation`` (``render_first``: to its models,
    rendered here), by ``make_plan``: what raises there raises in its order."""
    if render_first:
        models = compilation.models
        compilation = replace(compilation, configs=compiler.render_all(models, renderer(models.values())))
    if compiled is not None:
        compiled()
    return compilation, make_plan(site, compilation, running, registry)


def keep_link_modes(site: Site, compilation: Compilation, texts: dict[str, str | None]) -> None:
    """A link port keeps the mode its switch runs it in, for a link that carries one VLAN (one with
    several is a trunk anyway): a port the running config of one end already runs as a trunk
    (``running_mode.trunk`` of its platform.yaml: the engine's own, from when the link carried more
    VLANs, or somebody else's) makes both ends trunks of that VLAN; else an access port at one end makes
    both ends carry it untagged (what an earlier apply made it); a fresh port keeps the compiled form
    (``engine.build``: a trunk between switches, untagged facing Linux). So removing a VLAN intent never
    flips a port's mode (which would take the link's other VLANs down, and over a trunk the engine does
    not own is a takeover): the engine only adds and removes its VLANs on it. Models and configs of the
    ends that change are replaced in ``compilation``."""
    for device, model in _kept_link_modes(site, compilation.models, compilation.vlans_per_link, texts).items():
        compilation.models[device] = model
        compilation.configs[device] = render(model)


def _kept_link_modes(site: Site, models: dict[str, DeviceModel], vlans_per_link: dict[int, set[int]],
                     texts: dict[str, str | None]) -> dict[str, DeviceModel]:
    """The models ``keep_link_modes`` changes, with the modes their ports keep."""
    modes: dict[str, dict[str, PortMode]] = {}  # device -> port -> the mode it keeps
    read: dict[str, dict[str, PortMode]] = {}  # device -> port -> the mode its running config has
    for index, carried in vlans_per_link.items():
        if len(carried) != 1 or index >= len(site.links):
            continue
        link = site.links[index]
        ends = [(end.device, end.interface) for end in (link.a, link.b) if end.device in models]
        ports = [_port(models[device], interface) for device, interface in ends]
        if not ports or any(port is None or port.mode is PortMode.ROUTED for port in ports):
            continue
        running = set()
        for device, interface in ends:
            if device not in read:  # each device's running config parsed once, only if a link asks
                read[device] = _running_modes(models[device].platform, texts.get(device))
            running.add(read[device].get(interface))
        keep = PortMode.TRUNK if PortMode.TRUNK in running else PortMode.ACCESS if PortMode.ACCESS in running else None
        for (device, interface), port in zip(ends, ports, strict=True):
            if keep is not None and port is not None and port.mode is not keep:
                modes.setdefault(device, {})[interface] = keep
    return {device: replace(models[device], ports=tuple(replace(port, mode=kept[port.name]) if port.name in kept
                                                          else port for port in models[device].ports))
            for device, kept in modes.items()}


def _port(model: DeviceModel, interface: str) -> Port | None:
    return next((port for port in model.ports if port.name == interface), None)


def _running_modes(platform: str, text: str | None) -> dict[str, PortMode]:
    """Port -> the mode the running config ``text`` of a CLI device runs it in (trunk or access; a
    port with no mode line is not listed), by the ``running_mode`` lines of its platform.yaml."""
    spec = platform_spec(platform)
    rules, port_rule = spec.raw.get("running_mode"), (spec.raw.get("takeover") or {}).get("port")
    if not text or spec.syntax is None or not rules or not port_rule:
        return {}
    section = re.compile(port_rule)
    patterns = [(PortMode.TRUNK, re.compile(rules["trunk"])), (PortMode.ACCESS, re.compile(rules["access"]))]
    try:
        nodes = cliconfig.parse(text, spec.syntax)
    except ValueError:
        return {}  # reported where the device is planned
    found: dict[str, PortMode] = {}
    for node in nodes:
        match = section.match(node.text) if node.text else None
        if match:
            mode = next((m for m, p in patterns if any(p.search(child.text) for child in node.children)), None)
            if mode is not None:
                found[match.group("port")] = mode
    return found


def _running_file(running: RunningSource, device: str, platform: str) -> str:
    """Where a device's saved running state is, for a message about it (worked out only for one)."""
    return str(Path(str(running.directory)) / f"{device}{platform_spec(platform).running_file}")


class TakeoverRefused(ValueError):
    """Conflicts no intent takes over: (line in the running config, message) each."""

    def __init__(self, refusals: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(message for _, message in refusals))
        self.refusals = refusals


Policy = Any  # (Conflict) -> (taken over?, the intents responsible)


def _takeover_policy(site: Site, compilation: Compilation, device: str, vlans: list[Any] | None = None) -> Policy:
    """Which intents answer for a conflict on ``device``, and whether one of them says ``takeover: true``.
    ``vlans``: the site's VLAN intents, when the caller has them (once per plan, not per device)."""
    if vlans is None:
        vlans = segments(site.intents)  # the VLANs, whatever kind made them
    model = compilation.models.get(device)

    def decide(conflict: takeover.Conflict) -> tuple[bool, list[str]]:
        if conflict.vlan is not None:
            responsible = [i for i in vlans if getattr(i, "id", None) == conflict.vlan]
        else:  # the device's ports by name, looked at only for a conflict (most devices have none)
            ports = {port.name: port for port in model.ports} if model is not None else {}
            port = ports.get(conflict.port or "")
            carried = set(port.vlans) if port is not None else set()
            responsible = [i for i in vlans if getattr(i, "id", None) in carried]
            if not responsible:  # a routed port: the VLANs routed here, else every VLAN on the device
                responsible = [i for i in vlans if getattr(i, "gateway", None) == device] or \
                    [i for i in vlans if model is not None and i.name in model.intents]
        return any(getattr(i, "takeover", False) for i in responsible), [i.name for i in responsible]

    return decide


def _kernel_of(text: str | None) -> dict[str, Any] | None:
    """The kernel features a Linux running document says its device has (the driver probes them)."""
    try:
        document = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None  # reported by _device_plan
    kernel = document.get("kernel") if isinstance(document, dict) else None
    return kernel if isinstance(kernel, dict) else None




def _device_plan(config: DeviceConfig, running_text: str | None, masker: SecretMasker, directory: object,
                 driver: str = "", compiled_notes: tuple[str, ...] = (), policy: Policy | None = None) -> DevicePlan:
    fresh = running_text is None
    notes = [f"no saved running state in {directory}: planned as a fresh device"] if fresh else []
    notes += compiled_notes
    # How --confirm-timeout works with this driver where it is not the device's own commit-confirm:
    # ``commit_confirm:`` of templates/<platform>/platform.yaml, by driver family.
    revert_note = (platform_spec(config.platform).raw.get("commit_confirm") or {}).get(driver)
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
            runningstate.check_linux(running_text, running_doc)  # the driver's shape, or refused at the line
        # once (render listed them already): scope, warnings and the diff all need them
        desired_objects = config.objects if config.objects is not None else linux.objects(config.document)
        before: list[str] = []  # nothing running (a fresh device): nothing in scope, nothing replaced
        if running_doc:
            desired_keys = {key for key, _ in desired_objects}
            notes += linux.foreign_replaced(running_doc, config.document, desired_keys)
            before = linux.lines(linux.in_scope(running_doc, config.document, desired_keys))
        notes += linux.backend_notes(config.document, "kernel" in running_doc)
        after = [line for _, line in desired_objects]
        diff = unified(before, after, config.device)
        shown, plain_lines = _shown_config(masker, config.text)
        return DevicePlan(config.device, config.platform, bool(diff), _shown_diff(masker, diff, before, after,
                                                                                   config.device, plain_lines),
                          shown, fresh, notes=tuple(notes))
    spec = platform_spec(config.platform)
    syntax = spec.syntax
    assert syntax is not None
    inheritance = takeover.Inheritance.of(running_text or "", syntax)  # Junos groups: plan the effective config
    repeats: list[str] = []  # sections and lines the running config holds twice: read once, as the device does
    running_nodes = inheritance.effective(cliconfig.parse(running_text or "", syntax, repeats), syntax)
    if repeats:
        notes.append(masker(repeated_note(repeats)))
    desired_nodes = cliconfig.parse(config.text, syntax)
    # a conflict is a running line in the intents' way: a device with none has none (nor a VLAN list)
    if running_nodes:
        running_nodes = takeover.listed_vlans(running_nodes, desired_nodes, spec.raw)  # `vlan 4-5,10`: VLAN 10 is there
    conflicts = takeover.find(config.device, running_nodes, desired_nodes, syntax, spec.raw, running_text or "",
                              inheritance.lines) if running_nodes else []
    refusals: list[tuple[int, str]] = []
    taken: list[takeover.Conflict] = []
    for conflict in conflicts:
        allowed, intents = policy(conflict) if policy is not None else (False, [])
        if allowed:
            taken.append(conflict)
        else:
            refusals.append((conflict.line, masker(conflict.refusal(intents))))
    if running_nodes:
        refusals += takeover.shared_vlan_ids(config.device, running_nodes, desired_nodes, spec.raw, running_text or "")
    if refusals:
        raise TakeoverRefused(refusals)
    base, removed = cliconfig.take_over(running_nodes, frozenset().union(*(c.removals for c in taken)),
                                        dict(r for c in taken for r in c.renames))
    merged = cliconfig.merge(base, desired_nodes, syntax)
    # the lines a takeover removes may hold secrets; a trunk made an access port loses its list too
    notes += [masker(takeover.with_trunk_list(conflict, running_nodes, merged, syntax).note()) for conflict in taken]
    before_lines = cliconfig.render(running_nodes, syntax).splitlines()
    after_lines = cliconfig.render(merged, syntax).splitlines()
    diff = unified(before_lines, after_lines, config.device)
    change = remediate.remediate(config.platform, running_nodes, merged, removed) if diff else remediate.Remediation((), ())
    commands, rollback, refused = inheritance.settle(config.device, change.commands, change.rollback, running_text or "")
    change = remediate.Remediation(commands, rollback)
    if refused := refused + takeover.protected(config.device, running_text or "", syntax, change.commands):
        raise TakeoverRefused(refused)
    notes += [note for note in [inheritance.note()] if note]
    shown, plain_lines = _shown_config(masker, config.text)
    commands = change.commands if plain_lines and masker.unchanged(change.commands, plain_lines) else \
        _mask_lines(masker, change.commands)
    hidden: tuple[HiddenLine, ...] = ()
    if commands != change.commands:  # a command holds a secret: stored masked, restored from the device at apply
        running_sha256 = hashlib.sha256(running_text.encode()).hexdigest() if running_text is not None else None
        hidden = sendable.hide(config.device, running_sha256, change.commands, commands,
                               sendable.sources(config.platform, running_text or "", config.text), plan_key())
        notes += sendable.unrestorable_note(hidden, commands)
    return DevicePlan(
        config.device, config.platform, bool(diff),
        _shown_diff(masker, diff, before_lines, after_lines, config.device, plain_lines), shown, fresh,
        commands, _shown_rollback(masker, change.rollback, plain_lines), _mask_lines(masker, tuple(notes)), hidden,
    )


def _shown_config(masker: SecretMasker, text: str) -> tuple[str, frozenset[str]]:
    """A device's config as the plan shows it, and its lines when it holds nothing to mask (else none):
    the diff and the commands are mostly its lines, and are then not scanned again (``_shown_diff``)."""
    if masker.plain(text):
        return text, frozenset(text.split("\n"))
    return masker(text), frozenset()


def _shown_rollback(masker: SecretMasker, rollback: tuple[str, ...], plain_lines: frozenset[str]) -> tuple[str, ...]:
    """``_mask_lines(masker, rollback)``, told without scanning where the rollback is lines of the config
    (``plain_lines``: it holds nothing to mask) negated: ``no `` and the line, or Junos ``delete `` and what
    follows a line's ``set `` (the end of a line with nothing to mask has nothing either). Such a line masks
    as it is when nothing to mask can start in its prefix (``SecretMasker.unchanged_after``)."""
    if plain_lines and all(line.startswith("no ") and line[3:] in plain_lines or
                           line.startswith("delete ") and "set " + line[7:] in plain_lines for line in rollback) and \
            masker.unchanged_after("no ") and masker.unchanged_after("delete "):
        return rollback
    return _mask_lines(masker, rollback)


def _shown_diff(masker: SecretMasker, diff: str, before: list[str], after: list[str], device: str,
                plain_lines: frozenset[str]) -> str:
    """``masker(diff)`` of ``unified(before, after, device)``: a diff from nothing whose header holds nothing
    to mask is its "+" lines, which mask as the lines of ``after`` do (``SecretMasker.unchanged``)."""
    if plain_lines and not before and after and masker.plain(_fresh_header(device, len(after))) and \
            masker.unchanged(after, plain_lines, "+"):
        return diff
    return masker(diff)


def repeated_note(repeats: list[str], shown: int = 5) -> str:
    """The plan's note on what the running config holds twice (``cliconfig.parse``'s ``repeats``)."""
    more = f"; and {len(repeats) - shown} more" if len(repeats) > shown else ""
    return ("the running config enters these more than once, read as one each as the device does (config mode "
            f"merges a section entered again): {'; '.join(repeats[:shown])}{more}")


def _mask_lines(masker: SecretMasker, lines: tuple[str, ...]) -> tuple[str, ...]:
    """Mask single-line commands in one pass over their joined text (no pattern spans a newline)."""
    if not lines:
        return ()
    masked = masker("\n".join(lines)).split("\n")
    return tuple(masked) if len(masked) == len(lines) else tuple(masker(line) for line in lines)


def cli_device_plan(config: DeviceConfig, running_text: str) -> DevicePlan:
    """One CLI device planned against ``running_text`` (no intent takes anything over): what a driver
    computes when it is used without a plan, the same computation ``make_plan`` makes."""
    return _device_plan(config, running_text, SecretMasker(), "the device")


def unified(before: list[str], after: list[str], device: str) -> str:
    """The unified diff every plan, stage and verification shows: running -> intent."""
    if not before:  # all new (a fresh device): the one hunk difflib finds, without indexing the lines
        if not after:
            return ""
        return _fresh_header(device, len(after)) + "+" + "\n+".join(after) + "\n"
    lines = difflib.unified_diff(before, after, f"{device} (running)", f"{device} (intent)", lineterm="", n=3)
    text = "\n".join(lines)
    return text + "\n" if text else ""


def _fresh_header(device: str, count: int) -> str:
    """The lines before the "+" lines of a diff from nothing to ``count`` lines."""
    span = "1" if count == 1 else f"1,{count}"
    return f"--- {device} (running)\n+++ {device} (intent)\n@@ -0,0 +{span} @@\n"


def linux_diff(device: str, running: dict[str, Any], desired: dict[str, Any], after: list[str] | None = None) -> str:
    """What changes on a Linux device: the part of ``running`` intent may touch, against ``desired``.
    ``after``: the desired lines, when the caller has them already."""
    return unified(linux.lines(linux.in_scope(running, desired)),
                   after if after is not None else linux.lines(desired), device)
