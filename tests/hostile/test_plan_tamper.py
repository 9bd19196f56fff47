"""Plan files are tamper-evident: every part of a plan file is edited in turn, and every edit is refused
before any device is contacted (a hook stands in for every driver and records each device opened).
With INTENT_PLAN_KEY, an unsigned, re-hashed or wrongly signed file is refused as well."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.plan import PLAN_FORMAT, _canonical_parts, read_plan_file
from tests.hostile.common import Devices, run, write_site

KEY = "ci-secret-plan-key-0123456789"
ENV = {"HOSTILE_PW": "x", "INTENT_PLAN_KEY": ""}


@pytest.fixture
def planned(tmp_path: Path) -> tuple[Path, Path]:
    site = write_site(tmp_path / "site")
    out = tmp_path / "plan.json"
    result = run("plan", str(site), "--running", str(tmp_path / "site" / "running"), "--out", str(out), env=ENV)
    assert result.code == 0, result.text
    return site, out


def edits(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, replacement) for every node of a JSON document: each leaf changed, each list grown and
    shortened, each object given a new key and each key removed."""
    if isinstance(value, dict):
        yield path, {**value, "injected": "x"}
        for key in value:
            yield (*path, ("del", key)), None
            yield from edits(value[key], (*path, key))
    elif isinstance(value, list):
        yield path, [*value, "x"]
        if value:
            yield path, value[:-1]
        for index, item in enumerate(value):
            yield from edits(item, (*path, index))
    elif isinstance(value, bool):
        yield path, not value
    elif isinstance(value, int):
        yield path, value + 1
    elif isinstance(value, str):
        yield path, value + "\nusername evil privilege 15 secret 0 x"
        if value:
            yield path, value[:-1] + ("0" if value[-1] != "0" else "1")
    elif value is None:
        yield path, "x"


def applied(document: dict[str, Any], path: tuple[Any, ...], replacement: Any) -> dict[str, Any]:
    edited = copy.deepcopy(document)
    if not path:
        return replacement  # type: ignore[no-any-return]
    target = edited
    for step in path[:-1]:
        target = target[step]
    last = path[-1]
    if isinstance(last, tuple) and last[0] == "del":
        del target[last[1]]
    else:
        target[last] = replacement
    return edited


def test_every_edit_of_every_part_is_refused_before_connecting(planned: tuple[Path, Path], devices: Devices,
                                                                  tmp_path: Path) -> None:
    _, plan = planned
    original = json.loads(plan.read_text())
    parts = {"format", "plan_hash", "site", "site_file", "site_sha256", "inventory_sha256", "running_sha256",
             "desired", "devices", "reservations", "intents", "changes", "errors"}
    assert parts <= set(original) and original["format"] == PLAN_FORMAT
    assert original["desired"]["core1"]["document"] and original["devices"]["acc1"]["commands"]
    assert original["devices"]["acc1"]["rollback"] and original["running_sha256"]["acc1"]

    # the unmodified file passes every check and reaches the devices: the hook is what would connect
    control = run("apply", str(plan), "--yes", "--state-dir", str(tmp_path / "state"), env=ENV)
    assert control.code == 1 and "test hook: a device would have been contacted here" in control.text
    assert devices.opened
    devices.opened.clear()

    tried = 0
    touched: set[str] = set()
    for path, replacement in edits(original):
        edited = applied(original, path, replacement)
        if edited == original:
            continue
        target = tmp_path / "edited.json"
        target.write_text(json.dumps(edited, indent=2))
        result = run("apply", str(target), "--yes", "--state-dir", str(tmp_path / "state"), env=ENV)
        where = ".".join(str(p[1] if isinstance(p, tuple) else p) for p in path) or "(whole file)"
        assert result.code == 1 and not result.crashed, (where, result.text, result.crashed)
        assert devices.opened == [], f"edit of {where} reached a device"
        assert ("was modified after `intent plan --out`" in result.stderr or
                "not a plan file this version applies" in result.stderr), (where, result.stderr)
        assert "Traceback" not in result.text and "internal error" not in result.text
        tried += 1
        touched.add(str(path[0][1] if isinstance(path[0], tuple) else path[0]) if path else "")
    assert tried > 300 and parts <= touched, (tried, parts - touched)


def test_a_textual_edit_of_one_command_is_refused(planned: tuple[Path, Path], devices: Devices) -> None:
    _, plan = planned
    text = plan.read_text()
    assert "vlan 10" in text
    plan.write_text(text.replace("vlan 10", "vlan 11", 1))
    result = run("apply", str(plan), "--yes", env=ENV)
    assert result.code == 1 and "was modified after `intent plan --out`" in result.stderr
    assert devices.opened == []


def rehashed(document: dict[str, Any]) -> dict[str, Any]:
    """What someone who edits a file and knows the hash function writes: a matching plan_hash."""
    return {**document, "plan_hash": hashlib.sha256(b"".join(_canonical_parts(document))).hexdigest()}


def test_with_a_key_plans_are_signed_and_apply_refuses_unsigned_forged_or_foreign_ones(
        tmp_path: Path, devices: Devices) -> None:
    site = write_site(tmp_path / "site")
    running = str(tmp_path / "site" / "running")
    signed, unsigned = tmp_path / "signed.json", tmp_path / "unsigned.json"
    assert run("plan", str(site), "--running", running, "--out", str(signed),
               env={**ENV, "INTENT_PLAN_KEY": KEY}).code == 0
    assert run("plan", str(site), "--running", running, "--out", str(unsigned), env=ENV).code == 0
    document = json.loads(signed.read_text())
    assert document["signature"].startswith("hmac-sha256:") and "signature" not in json.loads(unsigned.read_text())
    assert KEY not in signed.read_text()
    read_plan_file(signed, KEY)  # the genuine file verifies

    forged = rehashed({k: v for k, v in document.items() if k != "signature"} | {"site": "elsewhere"})
    forged["signature"] = document["signature"]
    stripped = rehashed({k: v for k, v in document.items() if k != "signature"})
    cases = {
        "unsigned": (unsigned, KEY, "is not signed, and INTENT_PLAN_KEY is set"),
        "stripped": (stripped, KEY, "is not signed, and INTENT_PLAN_KEY is set"),
        "forged": (forged, KEY, "the signature does not match INTENT_PLAN_KEY"),
        "other key": (signed, KEY + "-other", "the signature does not match INTENT_PLAN_KEY"),
    }
    for name, (source, key, message) in cases.items():
        target = tmp_path / f"{name}.json"
        target.write_text(source.read_text() if isinstance(source, Path) else json.dumps(source))
        result = run("apply", str(target), "--yes", env={**ENV, "INTENT_PLAN_KEY": key})
        assert result.code == 1 and message in result.stderr, (name, result.text)
        assert devices.opened == [], name
    genuine = run("apply", str(signed), "--yes", "--state-dir", str(tmp_path / "state"),
                  env={**ENV, "INTENT_PLAN_KEY": KEY})
    assert "test hook: a device would have been contacted here" in genuine.text and devices.opened


def test_an_inventory_change_since_planning_is_refused_before_connecting(planned: tuple[Path, Path],
                                                                          devices: Devices) -> None:
    site, plan = planned
    inventory = site.parent / "inventory.yaml"
    inventory.write_text(inventory.read_text().replace("192.0.2.21", "198.51.100.66"))
    result = run("apply", str(plan), "--yes", env=ENV)
    assert result.code == 1 and "is stale: the inventory entries of acc1 changed since it was planned" in result.stderr
    assert devices.opened == []


def test_plan_out_is_written_atomically(planned: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    site, plan = planned
    before = plan.read_bytes()
    import engine.archive

    def crash(handle_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine.archive.os, "fsync", crash)
    result = run("plan", str(site), "--running", str(site.parent / "running"), "--out", str(plan), env=ENV)
    assert result.code == 1 and f"{plan}: cannot write the plan file: No space left on device" in result.stderr
    assert plan.read_bytes() == before  # the old file is whole, never half-written
    assert sorted(p.name for p in plan.parent.iterdir()) == ["plan.json", "site"]  # and no temporary is left
