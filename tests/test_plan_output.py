"""The output end of ``intent plan``: what its fast paths give is what the straightforward code gives.

Intent summaries count reservations from one index per compilation (``Compilation.reservations_per_intent``)
rather than each guarantee scanning every reservation. ``seal`` writes the plan file's canonical text in
runs of keys around where the hash and the signature go, and hashes those runs: the bytes must be those of
the text written with the two, as ``json.dumps`` writes it, and the hash that of the text without them. The plan file is written while the command makes
its output, and nothing is printed when it cannot be written. ``read_plan_file`` hashes the canonical text in pieces
(``jsontext.compact_parts``): joined, they must be that text. ``device_hash`` writes its fields in sorted
order rather than sorting them: the hash must be that of ``json.dumps(..., sort_keys=True)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import jsontext
from engine import plan as planning
from engine.build import Reservation
from engine.compilation import Compilation
from engine.compiler import compile_site
from engine.errors import IntentError
from engine.loader import load_site
from engine.model import Device
from engine.plan import RunningState, device_hash, make_plan, read_plan_file, seal, write_plan_file
from tests.bench import fabric
from tests.hostile.common import run, write_site

GOLDEN = Path(__file__).parent / "golden"


def _counted(compilation: Compilation, name: str) -> int:
    """How many reservations name ``name``: what a guarantee's summary counted before the index."""
    return sum(1 for r in compilation.reservations if name in r.intents)


def test_reservations_per_intent_counts_what_scanning_them_counts(tmp_path: Path) -> None:
    sites = sorted(GOLDEN.glob("*/*/site.yaml")) + [fabric.generate(tmp_path / "fabric", 60, guarantees=12)]
    checked = 0
    for path in sites:
        site = load_site(path)
        compilation = compile_site(site)
        for intent in site.intents:
            assert compilation.reservations_per_intent.get(intent.name, 0) == _counted(compilation, intent.name)
            checked += _counted(compilation, intent.name) > 0
    assert checked > 10
    # an intent listed twice on one reservation counts it once, as ``name in r.intents`` does
    doubled = Compilation({}, {}, (Reservation("d", "eth0", 100, 90, 20, ("a", "a", "b")),
                                   Reservation("d", "eth1", 100, 90, 10, ("b",))))
    assert doubled.reservations_per_intent == {"a": 1, "b": 2} == {n: _counted(doubled, n) for n in "ab"}


def reference_seal(document: dict[str, Any], key: str | None = None) -> bytes:
    """A plan file as the contract states it, with the standard library only: the SHA-256 (and HMAC) of the
    canonical JSON of every field but the two, then the whole in the same canonical form, and a newline."""
    body = {k: v for k, v in document.items() if k not in ("plan_hash", "signature")}
    content = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    sealed = {**body, "plan_hash": hashlib.sha256(content).hexdigest()}
    if key:
        sealed["signature"] = "hmac-sha256:" + hmac.new(key.encode(), content, hashlib.sha256).hexdigest()
    return json.dumps(sealed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"


# strings that look like the text of the sealing entries, or hold what JSON escapes
TRICKY = ['"plan_hash":"', '"signature":"hmac-sha256:', "0" * 64, ',"plan_hash":"' + "0" * 64 + '"', "é", "\u2028",
          "\x7f", "\x00", '\\"', "\n", "}", "{", ","]
leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.sampled_from(TRICKY),
                   st.text(max_size=12), st.lists(st.sampled_from(TRICKY)).map("".join))
# keys on either side of the sealing entries' (plan_hash, signature) and between them, and equal to them
keys = st.one_of(st.sampled_from(["plan_hash", "signature", "plan_hasi", "plan_hash ", "p", "s", "sig", "signaturf",
                                  "site", "desired", "zz", ""] + TRICKY), st.text(max_size=6))
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(document=st.dictionaries(keys, values, max_size=8), key=st.sampled_from([None, "", "k", "clé-\u00e9"]))
def test_the_seal_is_the_one_written_with_the_values(document: dict[str, Any], key: str | None) -> None:
    assert seal(document, key) == reference_seal(document, key)


def test_plan_files_of_the_golden_sites_are_sealed_as_the_standard_library_seals_them(tmp_path: Path) -> None:
    for path in sorted(GOLDEN.glob("*/*/site.yaml"))[:12]:
        site = load_site(path)
        compilation = compile_site(site)
        try:
            plan = make_plan(site, compilation, RunningState(tmp_path))
        except IntentError:
            continue
        for key in (None, "plan-key"):
            data = plan.plan_file(str(path), compilation.configs, site, key)
            assert data == reference_seal(json.loads(data), key)
            parts = plan.plan_file_parts(str(path), compilation.configs, site, key)
            assert b"".join(parts) == data and data.count(b"\n") == 1  # one line: canonical JSON
            write_plan_file(tmp_path / "plan.json", parts)  # the pieces, written in order, are the file
            assert (tmp_path / "plan.json").read_bytes() == data
            assert read_plan_file(tmp_path / "plan.json", key)["plan_hash"] == json.loads(data)["plan_hash"]
            # as earlier versions wrote it (indented): the same content, the same hash, still read
            (tmp_path / "indented.json").write_text(json.dumps(json.loads(data), indent=2, sort_keys=True) + "\n")
            assert read_plan_file(tmp_path / "indented.json", key) == json.loads(data)


def test_a_float_in_a_desired_document_is_sealed_as_the_standard_library_seals_it(tmp_path: Path) -> None:
    """render tells whether a Linux document holds a float (DeviceConfig.floats), so that the plan file is
    not walked for one again; a config that does not say (read from a plan file) is looked at; either way a
    float takes the plan file to json.dumps' text (orjson writes some floats differently)."""
    from dataclasses import replace

    path = GOLDEN / "linux" / "fresh" / "site.yaml"
    site = load_site(path)
    compilation = compile_site(site)
    plan = make_plan(site, compilation, RunningState(tmp_path))
    linux = sorted(name for name, config in compilation.configs.items() if config.document is not None)
    assert linux and all(compilation.configs[name].floats is False for name in linux)
    assert all(jsontext.has_float(compilation.configs[name].document) is False for name in linux)
    for told in (True, None):
        configs = dict(compilation.configs)
        document = {**configs[linux[0]].document, "zz": [1e16, 0.1 + 0.2, 1e-7]}  # orjson: 1e16, json.dumps: 1e+16
        configs[linux[0]] = replace(configs[linux[0]], document=document, floats=told)
        for key in (None, "k"):
            data = b"".join(plan.plan_file_parts(str(path), configs, site, key))
            assert data == reference_seal(json.loads(data), key) and b"1e+16" in data


def _compact(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


# a plan's split objects (``desired``, ``devices``) with runs of entries longer than one piece
big = st.dictionaries(keys, values, max_size=3 * jsontext._RUN)
odd_keys = st.dictionaries(st.integers(-3, 30), values, min_size=2, max_size=4)  # sorted as numbers


@settings(max_examples=400, deadline=None)
@given(document=st.dictionaries(keys, values, max_size=6), desired=st.one_of(big, odd_keys, values),
       devices=st.one_of(big, odd_keys), key=st.sampled_from([None, "", "k", "clé-\u00e9"]))
def test_the_canonical_pieces_are_the_canonical_text(document: dict[str, Any], desired: Any, devices: Any,
                                                      key: str | None) -> None:
    """read_plan_file hashes the canonical text piece by piece: the pieces joined are json.dumps' text, with its
    fallbacks (non-ASCII, DEL, floats, keys not strings) agreeing, and the digests are those of the whole."""
    document = {**document, "desired": desired, "devices": devices}
    whole = _compact({k: v for k, v in document.items() if k not in ("plan_hash", "signature")})
    for floats in (None, jsontext.has_float(document)):
        assert b"".join(planning._canonical_parts(document, floats)) == whole
    expected = "hmac-sha256:" + hmac.new(key.encode(), whole, hashlib.sha256).hexdigest() if key else None
    assert planning._digests(document, key) == (hashlib.sha256(whole).hexdigest(), expected)
    assert b"".join(jsontext.compact_parts(desired, split=("x",))) == _compact(desired)


def test_the_canonical_pieces_of_golden_plan_files_are_their_canonical_text(tmp_path: Path) -> None:
    for path in sorted(GOLDEN.glob("*/*/site.yaml")) + [fabric.generate(tmp_path / "fabric", 30)]:
        site = load_site(path)
        compilation = compile_site(site)
        try:
            plan = make_plan(site, compilation, RunningState(tmp_path))
        except IntentError:
            continue
        document = json.loads(plan.plan_file(str(path), compilation.configs, site, "k"))
        whole = _compact({k: v for k, v in document.items() if k not in ("plan_hash", "signature")})
        assert b"".join(planning._canonical_parts(document)) == whole
        assert planning._digests(document, "k") == (document["plan_hash"], document["signature"])


def test_an_error_in_the_thread_is_raised_by_the_waiter() -> None:
    def fails() -> str:
        raise ValueError("from the thread")

    waiter = planning._in_thread(fails)
    with pytest.raises(ValueError, match="from the thread"):
        waiter()
    assert planning._in_thread(lambda: "done")() == "done"


@pytest.mark.parametrize("output_format", ["json", "text", "markdown"])
def test_a_plan_file_that_cannot_be_written_fails_the_command_before_it_prints(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output_format: str) -> None:
    site = write_site(tmp_path / "site")
    env = {"HOSTILE_PW": "x", "INTENT_PLAN_KEY": ""}
    out = tmp_path / "plan.json"
    args = ["plan", str(site), "--running", str(tmp_path / "site" / "running"), "--format", output_format]
    written = run(*args, "--out", str(out), env=env)
    shown = run(*args, env=env)
    assert written.code == shown.code == 0 and written.stdout == shown.stdout != ""
    assert read_plan_file(out)
    import engine.archive

    def full(handle_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine.archive.os, "fsync", full)
    failed = run(*args, "--out", str(tmp_path / "other.json"), env=env)
    assert failed.code == 1 and "cannot write the plan file: No space left on device" in failed.stderr
    assert failed.stdout == "" and not (tmp_path / "other.json").exists()
    assert not list(tmp_path.glob(".other.json.*"))  # the temporary file (made before the thread) went too
    monkeypatch.undo()
    blocked = tmp_path / "blocker"
    blocked.write_text("a file, not a directory")
    refused = run(*args, "--out", str(blocked / "plan.json"), env=env)  # fails creating the temporary file
    assert refused.code == 1 and "cannot write the plan file" in refused.stderr and refused.stdout == ""
    assert blocked.read_text() == "a file, not a directory"


class Shown(str):
    """A str whose str() is not itself (device_hash writes str(v) of what is not a number or None)."""

    def __str__(self) -> str:
        return "shown:" + self


class Port(int):
    pass


field_values = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=8),
                         st.text(max_size=4).map(Shown), st.integers(0, 65535).map(Port), st.floats(allow_nan=False),
                         st.tuples(st.tuples(st.text(max_size=3), st.integers())))
REACHED_BY = ("name", "platform", "driver", "host", "port", "netns", "username", "password_env", "key_file", "become",
              "napalm_driver", "napalm_args")


@settings(max_examples=300, deadline=None)
@given(values=st.fixed_dictionaries({name: field_values for name in REACHED_BY}))
def test_device_hash_is_that_of_the_sorted_json_of_how_a_device_is_reached(values: dict[str, Any]) -> None:
    device = Device(**{name: value for name, value in values.items() if name in ("name", "platform", "driver")})
    for name, value in values.items():
        object.__setattr__(device, name, value)  # any type an inventory could have put there
    expected = json.dumps({name: str(getattr(device, name)) if not isinstance(getattr(device, name), (int, bool, type(None)))
                           else getattr(device, name) for name in REACHED_BY}, sort_keys=True)
    assert device_hash(device) == hashlib.sha256(expected.encode()).hexdigest()
